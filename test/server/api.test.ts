/**
 * The REST API on a real DuckDB warehouse and SQLite control DB (in-process queue): auth by
 * scope (401/403), 400 with field paths, the OpenAPI document validated by swagger-parser,
 * destinations with write-only encrypted secrets, sync trigger through the job queue to a
 * webhook receiver, profile lookup (and its merge path), schedules paused and resumed (a file
 * sync's too), models, metrics, audit — and no secret in any response or log line.
 */
import SwaggerParser from '@apidevtools/swagger-parser';
import { HOOK_SECRET, openServerFixture, SECRET_KEY, type ServerFixture } from './server-fixture';

const API_SECRET = 'hubspot-token-NEVER-SHOWN-abcdef0123456789';
const HEADER_SECRET = 'Bearer webhook-header-NEVER-SHOWN-9876543210';

describe('REST API', () => {
  let fx: ServerFixture;
  const bodies: string[] = [];
  interface Answer {
    statusCode: number;
    body: string;
    headers: Record<string, string>;
    json(): unknown;
  }
  const call = async (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, token?: string, payload?: unknown): Promise<Answer> => {
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    if (payload !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${fx.serve.url}${url}`, { method, headers, body: payload === undefined ? undefined : JSON.stringify(payload) });
    const body = await response.text();
    bodies.push(body);
    return { statusCode: response.status, body, headers: Object.fromEntries(response.headers.entries()), json: () => JSON.parse(body) as unknown };
  };

  beforeAll(async () => {
    fx = await openServerFixture({ people: 40, listen: true });
  });
  afterAll(async () => {
    await fx?.close();
  });

  test('missing, malformed, unknown or too weak tokens are refused', async () => {
    expect((await call('GET', '/models')).statusCode).toBe(401);
    expect((await call('GET', '/models', 'nonsense')).statusCode).toBe(401);
    expect((await call('GET', '/models', `cdp_${'0'.repeat(32)}_${'x'.repeat(43)}`)).statusCode).toBe(401);
    expect((await call('GET', '/models', fx.tokens.read)).statusCode).toBe(200);
    const forbidden = await call('POST', '/models/run', fx.tokens.read, {});
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json()).toMatchObject({ error: 'forbidden' });
    expect((await call('GET', '/audit', fx.tokens.write)).statusCode).toBe(403);
    expect((await call('GET', '/health')).statusCode).toBe(200);
  });

  test('invalid bodies are 400 with field paths', async () => {
    const bad = await call('PUT', '/destinations/crm', fx.tokens.write, { type: 'hubspot', config: { baseUrl: 'not a url' }, limits: { concurrency: -1 } });
    expect(bad.statusCode).toBe(400);
    const paths = (bad.json() as { issues: { path: string }[] }).issues.map((i) => i.path);
    expect(paths).toContain('limits.concurrency');
    const badConfig = await call('PUT', '/destinations/crm', fx.tokens.write, { type: 'hubspot', config: { baseUrl: 'not a url' } });
    expect(badConfig.statusCode).toBe(400);
    expect((badConfig.json() as { issues: { path: string }[] }).issues.map((i) => i.path).sort()).toEqual(['config.accessToken', 'config.baseUrl']);
    const badSync = await call('PUT', '/syncs/new_sync', fx.tokens.write, { source: { model: 'contacts_clean' }, destination: 'hook', object: 'records', mode: 'sideways', key: 'email', mapping: {} });
    expect(badSync.statusCode).toBe(400);
    expect((badSync.json() as { issues: { path: string }[] }).issues.map((i) => i.path)).toEqual(expect.arrayContaining(['mode', 'mapping']));
    const badQuery = await call('GET', '/jobs?limit=0', fx.tokens.read);
    expect(badQuery.statusCode).toBe(400);
    expect((badQuery.json() as { issues: { path: string }[] }).issues[0]!.path).toBe('query.limit');
  });

  test('the OpenAPI document passes swagger-parser', async () => {
    const doc = (await call('GET', '/openapi.json')).json() as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/health', '/metrics', '/models', '/profiles/lookup', '/destinations/{name}', '/syncs/{name}/trigger']));
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeTruthy();
    const operation = (path: string, method: string) => (doc.paths[path] as Record<string, { responses: Record<string, { headers?: Record<string, unknown> }> }>)[method]!;
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/segments/catalog', '/schedules/{key}']));
    expect(Object.keys(doc.paths['/schedules/{key}'] as object).sort()).toEqual(['delete', 'patch', 'put']);
    // 409 where a route can conflict; 429 (with Retry-After) wherever the rate limit applies — everywhere but /health.
    expect(Object.keys(operation('/segments', 'post').responses)).toEqual(expect.arrayContaining(['201', '409', '429']));
    expect(Object.keys(operation('/schedules/{key}', 'put').responses)).toContain('409');
    expect(Object.keys(operation('/segments', 'get').responses)).not.toContain('409');
    expect(operation('/models', 'get').responses['429']!.headers).toHaveProperty('Retry-After');
    expect(Object.keys(operation('/health', 'get').responses)).not.toContain('429');
  });

  test('destination types expose a config schema with secrets writeOnly', async () => {
    const types = (await call('GET', '/destination-types', fx.tokens.read)).json() as { type: string; config_schema: { properties: Record<string, { writeOnly?: boolean }> } }[];
    const hubspot = types.find((t) => t.type === 'hubspot')!;
    expect(hubspot.config_schema.properties.accessToken!.writeOnly).toBe(true);
    expect(hubspot.config_schema.properties.baseUrl!.writeOnly).toBeUndefined();
  });

  test('a destination secret is write-only, encrypted at rest, kept on update, and audited redacted', async () => {
    const created = await call('PUT', '/destinations/crm', fx.tokens.write, { type: 'hubspot', config: { accessToken: API_SECRET, baseUrl: 'http://127.0.0.1:9/hubspot' } });
    expect(created.statusCode).toBe(200);
    expect(created.json()).toMatchObject({ name: 'crm', origin: 'api', secrets: { accessToken: 'set' }, config: { baseUrl: 'http://127.0.0.1:9/hubspot' } });
    const stored = (await fx.serve.runtime.control.knex('cdp_destinations').where({ name: 'crm' }).first()) as { config: string; secrets: string };
    expect(stored.config).not.toContain(API_SECRET);
    expect(stored.secrets).toMatch(/^v1\./);
    expect(stored.secrets).not.toContain(API_SECRET);
    // Update without the secret keeps it; the connector still gets it.
    const updated = await call('PUT', '/destinations/crm', fx.tokens.write, { type: 'hubspot', config: { baseUrl: 'http://127.0.0.1:9/v2' } });
    expect(updated.json()).toMatchObject({ secrets: { accessToken: 'set' } });
    const loaded = (await fx.serve.runtime.destinations.loadAll()).get('crm')!;
    expect((loaded.config as { accessToken: string }).accessToken).toBe(API_SECRET);
    const tested = await call('POST', '/destinations/crm/test', fx.tokens.write, {});
    expect(tested.json()).toMatchObject({ ok: false });
    const listed = (await call('GET', '/destinations', fx.tokens.read)).json() as { name: string; origin: string; secrets: Record<string, string> }[];
    expect(listed.map((d) => [d.name, d.origin])).toEqual([['crm', 'api'], ['hook', 'file']]);
    expect(listed.find((d) => d.name === 'hook')!.secrets).toEqual({ signing_secret: 'set', headers: 'unset' });
    const audit = (await call('GET', '/audit', fx.tokens.admin)).json() as { action: string; target: string; actor: string; before: unknown; after: unknown }[];
    const entries = audit.filter((a) => a.target === 'crm');
    expect(entries.map((a) => a.action)).toEqual(['update', 'create']);
    expect(entries[0]!.actor).toMatch(/^writer/);
    expect(entries[0]!.before).toMatchObject({ config: { baseUrl: 'http://127.0.0.1:9/hubspot' } });
    expect(JSON.stringify(audit)).not.toContain(API_SECRET);
  });

  test("a webhook's headers are a secret: sealed at rest, shown as set, kept on update, given to the connector", async () => {
    const created = await call('PUT', '/destinations/hook_auth', fx.tokens.write, { type: 'webhook', config: { url: `${fx.receiver.url}/in`, headers: { authorization: HEADER_SECRET } } });
    expect(created.statusCode).toBe(200);
    expect(created.json()).toMatchObject({ secrets: { headers: 'set', signing_secret: 'unset' }, config: { url: `${fx.receiver.url}/in` } });
    expect((created.json() as { config: Record<string, unknown> }).config.headers).toBeUndefined();
    const stored = (await fx.serve.runtime.control.knex('cdp_destinations').where({ name: 'hook_auth' }).first()) as { config: string; secrets: string };
    expect(stored.config).not.toContain('authorization');
    expect(stored.secrets).not.toContain(HEADER_SECRET);
    const updated = await call('PUT', '/destinations/hook_auth', fx.tokens.write, { type: 'webhook', config: { url: `${fx.receiver.url}/in2` } });
    expect(updated.json()).toMatchObject({ secrets: { headers: 'set' } });
    const loaded = (await fx.serve.runtime.destinations.loadAll()).get('hook_auth')!;
    expect((loaded.config as { headers: Record<string, string> }).headers).toEqual({ authorization: HEADER_SECRET });
    const schema = ((await call('GET', '/destination-types', fx.tokens.read)).json() as { type: string; config_schema: { properties: Record<string, { writeOnly?: boolean }> } }[]).find((t) => t.type === 'webhook')!;
    expect(schema.config_schema.properties.headers!.writeOnly).toBe(true);
    expect((await call('DELETE', '/destinations/hook_auth', fx.tokens.write)).statusCode).toBe(200);
  });

  test('a triggered sync runs as a job and delivers every row; runs are listed', async () => {
    const job = await call('POST', '/syncs/people/trigger', fx.tokens.write, {});
    expect(job.statusCode).toBe(202);
    const id = (job.json() as { id: string }).id;
    let status = 'queued';
    while (status === 'queued' || status === 'running') {
      await new Promise((r) => setTimeout(r, 50));
      status = ((await call('GET', `/jobs/${id}`, fx.tokens.read)).json() as { status: string }).status;
    }
    expect(status).toBe('success');
    expect(fx.receiver.records.size).toBe(fx.people);
    const runs = (await call('GET', '/syncs/people/runs', fx.tokens.read)).json() as { status: string; counts: { succeeded: number } }[];
    expect(runs[0]).toMatchObject({ status: 'success', counts: { succeeded: fx.people } });
    const plan = (await call('POST', '/syncs/people/plan', fx.tokens.write, {})).json() as { counts: { planned: number } };
    expect(plan.counts.planned).toBe(0);
    expect((await call('GET', '/syncs/people/rejected', fx.tokens.read)).json()).toEqual({ total: 0, rows: [] });
    expect((await call('GET', '/syncs/nope', fx.tokens.read)).statusCode).toBe(404);
  });

  test('profiles are found by any identifier, normalised', async () => {
    const byEmail = await call('GET', '/profiles/lookup?type=email&value=%20Person7@EXAMPLE.com', fx.tokens.read);
    expect(byEmail.statusCode).toBe(200);
    const profile = byEmail.json() as { profile_id: string; traits: Record<string, unknown>; identifiers: { type: string; value: string }[] };
    expect(profile.traits.first_name).toBe('Name7');
    expect(profile.identifiers).toEqual(expect.arrayContaining([{ type: 'email', value: 'person7@example.com' }, { type: 'user_id', value: 'u7' }]));
    const byUid = (await call('GET', '/profiles/lookup?type=user_id&value=u7', fx.tokens.read)).json() as { profile_id: string };
    expect(byUid.profile_id).toBe(profile.profile_id);
    expect((await call('GET', '/profiles/lookup?type=email&value=nobody@example.com', fx.tokens.read)).statusCode).toBe(404);
    expect(byEmail.json()).not.toHaveProperty('merge_path');
  });

  test('a lookup with merge_path=true says how the identifiers were joined', async () => {
    const answer = await call('GET', '/profiles/lookup?type=email&value=person7@example.com&merge_path=true', fx.tokens.read);
    expect(answer.statusCode).toBe(200);
    const { merge_path: path } = answer.json() as { merge_path: { edges: { source: string }[]; steps: unknown[]; rejected: unknown[]; history: unknown[]; truncated: boolean } };
    // One contacts row holds u7 and person7@example.com: one edge, one step from the email to the user id.
    expect(path.edges).toEqual([{ a_type: 'email', a_value: 'person7@example.com', b_type: 'user_id', b_value: 'u7', source: 'contacts', first_seen: expect.any(String), last_seen: expect.any(String) }]);
    expect(path.steps).toEqual([
      { identifier: { type: 'user_id', value: 'u7' }, joined_via: { type: 'email', value: 'person7@example.com' }, source: 'contacts', rule: 'email and user_id were in one row of source contacts', first_seen: expect.any(String) },
    ]);
    expect(path).toMatchObject({ rejected: [], history: [], truncated: false });
    const fromUid = (await call('GET', '/profiles/lookup?type=user_id&value=u7&merge_path=true', fx.tokens.read)).json() as { merge_path: { steps: { identifier: unknown; joined_via: unknown }[] } };
    expect(fromUid.merge_path.steps.map((s) => [s.identifier, s.joined_via])).toEqual([[{ type: 'email', value: 'person7@example.com' }, { type: 'user_id', value: 'u7' }]]);
    expect((await call('GET', '/profiles/lookup?type=email&value=person7@example.com&merge_path=yes', fx.tokens.read)).statusCode).toBe(400);
  });

  test('segments: list, live size per condition, masked preview, overlap', async () => {
    const list = (await call('GET', '/segments', fx.tokens.read)).json() as { segments: { name: string; over: string; kind: string }[] };
    expect(list.segments.map((s) => [s.name, s.over, s.kind])).toEqual([
      ['name_one', 'profiles', 'rules'],
      ['name_two', 'profiles', 'rules'],
    ]);
    // Name1, Name10 … Name19 of the fixture's 50 people.
    const size = (await call('GET', '/segments/name_one/size', fx.tokens.read)).json() as { size: number; steps: { count: number }[] };
    expect(size.size).toBe(11);
    expect(size.steps[0]!.count).toBe(fx.people);
    const preview = (await call('GET', '/segments/name_one/preview?limit=3', fx.tokens.read)).json() as { rows: Record<string, unknown>[] };
    expect(preview.rows).toHaveLength(3);
    // first_name is personal data: masked to its first letter, never sent raw by the API.
    expect(preview.rows.map((r) => r.first_name)).toEqual(['N***', 'N***', 'N***']);
    expect(JSON.stringify(preview.rows)).not.toMatch(/Name1/);
    // Name2, Name20 … Name29 and Name10: overlap with name_one is Name10 only.
    const overlap = (await call('GET', '/segments/overlap?names=name_one,name_two', fx.tokens.read)).json() as { sizes: Record<string, number>; pairs: { both: number }[] };
    expect(overlap.sizes).toEqual({ name_one: 11, name_two: 12 });
    expect(overlap.pairs).toEqual([{ a: 'name_one', b: 'name_two', both: 1 }]);
    // An unknown segment is 404 on every segment route (as GET /segments/nope).
    expect((await call('GET', '/segments/nope/size', fx.tokens.read)).statusCode).toBe(404);
    expect((await call('GET', '/segments/name_one/size', undefined)).statusCode).toBe(401);
  });

  test('segments: a draft rule tree is sized live without being saved', async () => {
    const draft = { rules: { all: [{ trait: 'first_name', op: 'starts_with', value: 'Name1' }] } };
    const sized = await call('POST', '/segments/size', fx.tokens.read, draft);
    expect(sized.statusCode).toBe(200);
    const size = sized.json() as { size: number; steps: { label: string; count: number }[] };
    // Name1, Name10 … Name19: the same as name_one, whose file holds the same rule.
    expect(size.size).toBe(11);
    expect(size.steps[0]).toEqual({ label: 'all profiles', count: fx.people });
    expect(size.steps[size.steps.length - 1]!.count).toBe(11);
    expect(size.steps.every((s) => typeof s.label === 'string' && s.label.length > 0)).toBe(true);
    // Nothing was saved: the listing is unchanged.
    const list = (await call('GET', '/segments', fx.tokens.read)).json() as { segments: { name: string }[] };
    expect(list.segments.map((s) => s.name)).toEqual(['name_one', 'name_two']);

    // A rule error: 400 at the rule's path, with the CLI's message.
    const unknown = await call('POST', '/segments/size', fx.tokens.read, { rules: { all: [{ trait: 'first_name', op: 'eq', value: 'x' }, { trait: 'shoe_size', op: 'eq', value: 42 }] } });
    expect(unknown.statusCode).toBe(400);
    const unknownBody = unknown.json() as { error: string; issues: { path: string; message: string }[] };
    expect(unknownBody.error).toBe('invalid_request');
    expect(unknownBody.issues).toHaveLength(1);
    expect(unknownBody.issues[0]!.path).toBe('rules.all.1.trait');
    expect(unknownBody.issues[0]!.message).toMatch(/^rules\.all\.1\.trait: unknown trait 'shoe_size' of profiles — known: .*first_name/);

    // A malformed body: 400 with the field's path (zod, before any planning).
    const malformed = await call('POST', '/segments/size', fx.tokens.read, { over: 'people', rules: { all: [] } });
    expect(malformed.statusCode).toBe(400);
    expect((malformed.json() as { issues: { path: string }[] }).issues.map((i) => i.path)).toContain('over');

    expect((await call('POST', '/segments/size', undefined, draft)).statusCode).toBe(401);
    // Raw SQL in a draft needs the admin scope: in a request it is not reviewed code.
    const sqlDraft = { rules: { all: [{ sql: "first_name = 'Name1'" }] } };
    expect((await call('POST', '/segments/size', fx.tokens.read, sqlDraft)).statusCode).toBe(403);
    expect((await call('POST', '/segments/size', fx.tokens.write, { sql: 'SELECT profile_id FROM analytics.profiles' })).statusCode).toBe(403);
  });

  test('models are listed and a build is a job; metrics speak Prometheus', async () => {
    const job = (await call('POST', '/models/run', fx.tokens.write, {})).json() as { id: string };
    let model: { last_run: { status: string } | null } = { last_run: null };
    for (let i = 0; i < 200 && !model.last_run; i++) {
      await new Promise((r) => setTimeout(r, 50));
      model = (await call('GET', '/models/contacts_clean', fx.tokens.read)).json() as typeof model;
    }
    expect(model.last_run).toMatchObject({ status: 'success' });
    expect(job.id).toBeTruthy();
    const metrics = await call('GET', '/metrics', fx.tokens.read);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(metrics.body).toMatch(/cdp_http_requests_total\{method="GET",route="\/models",status="200"\} \d+/);
    expect(metrics.body).toMatch(/cdp_jobs\{kind="sync",status="success"\} 1/);
  });

  test("schedules: a file sync's schedule is paused and resumed through the API; its definition is not changed; a manual trigger still runs", async () => {
    type Schedule = { key: string; paused: boolean; next_fire_at: string | null; origin: string };
    const scheduleOf = async (key: string) => ((await call('GET', '/schedules', fx.tokens.read)).json() as Schedule[]).find((s) => s.key === key);
    expect(await scheduleOf('sync:people')).toMatchObject({ paused: false, origin: 'sync' });

    const paused = await call('PATCH', '/schedules/sync:people', fx.tokens.write, { paused: true });
    expect(paused.statusCode).toBe(200);
    expect(paused.json()).toMatchObject({ key: 'sync:people', kind: 'sync', target: 'people', paused: true, next_fire_at: null });
    expect(await scheduleOf('sync:people')).toMatchObject({ paused: true });
    // The definition is the file's, untouched.
    expect((await call('GET', '/syncs/people', fx.tokens.read)).json()).toMatchObject({ origin: 'file', enabled: true });

    // "Run now" is a person's decision, not a schedule's: it runs while paused.
    const job = (await call('POST', '/syncs/people/trigger', fx.tokens.write, {})).json() as { id: string };
    let status = 'queued';
    for (let i = 0; i < 200 && (status === 'queued' || status === 'running'); i++) {
      await new Promise((r) => setTimeout(r, 50));
      status = ((await call('GET', `/jobs/${job.id}`, fx.tokens.read)).json() as { status: string }).status;
    }
    expect(status).toBe('success');

    // A sync's schedule itself lives in its definition: PUT and DELETE are 409 with the way out.
    const put = await call('PUT', '/schedules/sync:people', fx.tokens.write, { kind: 'manual' });
    expect(put.statusCode).toBe(409);
    expect(put.json()).toMatchObject({ error: 'conflict', hint: expect.stringContaining('PATCH /schedules/sync:people') });
    expect((await call('DELETE', '/schedules/sync:people', fx.tokens.write)).statusCode).toBe(409);
    expect((await call('PATCH', '/schedules/sync:nope', fx.tokens.write, { paused: true })).statusCode).toBe(404);
    expect((await call('PATCH', '/schedules/models', fx.tokens.write, { paused: true })).statusCode).toBe(404);
    expect((await call('PATCH', '/schedules/sync:people', fx.tokens.read, { paused: false })).statusCode).toBe(403);
    const badKey = await call('PATCH', '/schedules/everything', fx.tokens.write, { paused: false });
    expect(badKey.statusCode).toBe(400);
    expect((badKey.json() as { issues: { path: string }[] }).issues.map((i) => i.path)).toEqual(['params.key']);
    expect((await call('PATCH', '/schedules/sync:people', fx.tokens.write, { paused: 'no' })).statusCode).toBe(400);

    // models / segments schedules pause the same way, and keep their pause when their spec is replaced.
    expect((await call('PUT', '/schedules/segments', fx.tokens.write, { kind: 'interval', every_seconds: 3600 })).statusCode).toBe(200);
    expect((await call('PATCH', '/schedules/segments', fx.tokens.write, { paused: true })).json()).toMatchObject({ paused: true, next_fire_at: null });
    expect((await call('PUT', '/schedules/segments', fx.tokens.write, { kind: 'interval', every_seconds: 7200 })).json()).toMatchObject({ paused: true, next_fire_at: null, description: 'every 7200s' });
    expect((await call('DELETE', '/schedules/segments', fx.tokens.write)).json()).toEqual({ deleted: true });

    const resumed = await call('PATCH', '/schedules/sync:people', fx.tokens.write, { paused: false });
    expect(resumed.json()).toMatchObject({ paused: false });
    const audit = (await call('GET', '/audit?limit=50', fx.tokens.admin)).json() as { action: string; target_type: string; target: string }[];
    expect(audit.filter((a) => a.target === 'sync:people').map((a) => a.action)).toEqual(['resume', 'pause']);
  });

  test('no secret appears in any response or log line', () => {
    const everything = [...bodies, ...fx.logLines].join('\n');
    for (const secret of [API_SECRET, HOOK_SECRET, SECRET_KEY, HEADER_SECRET]) expect(everything).not.toContain(secret);
    expect(fx.logLines.length).toBeGreaterThan(10);
  });
});
