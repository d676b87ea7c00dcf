/**
 * Rule segments written through the API (the web UI's rule builder) on a real DuckDB
 * warehouse and SQLite control DB: create, read, update, delete with the CLI's rule errors as
 * 400 field paths, 403 for read tokens and for raw SQL without admin, 409 for names a file or
 * another segment holds and for segments still in use — and the API segment then behaves like
 * a file: the segments loader (what `cdp segments run` and `cdp run` call) materialises it,
 * the scheduler's segments job builds it, and a sync reading `{ segment: … }` plans from it.
 * The list's size trend over builds (one history query for all segments) and the rule
 * builder's catalog are read from the same warehouse. One broken API segment (its trait
 * column dropped) takes nothing else down — it is listed with its error, readable, deletable,
 * and the segments job builds the rest; concurrent writes cannot close a cycle; names that
 * differ only in case are one table; a file's environment values never appear in responses.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadProject } from '../../src/project';
import { insertApiSegment, loadSegmentsPlan, runSegments } from '../../src/segments';
import { HOOK_SECRET } from './server-fixture';
import { openServerFixture, type ServerFixture } from './server-fixture';

interface Answer {
  status: number;
  body: string;
  json<T = Record<string, unknown>>(): T;
}
interface SegmentView {
  name: string;
  origin: 'file' | 'api';
  file: string | null;
  over: string;
  kind: string;
  definition: Record<string, unknown>;
  sql: string | null;
  error: string | null;
  materialized_members: number | null;
  created_by: string | null;
}
interface Issues {
  error: string;
  message: string;
  issues: { path: string; message: string }[];
}

describe('segments through the API', () => {
  let fx: ServerFixture;
  const call = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, token?: string, payload?: unknown): Promise<Answer> => {
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    if (payload !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${fx.serve.url}${url}`, { method, headers, body: payload === undefined ? undefined : JSON.stringify(payload) });
    const body = await response.text();
    return { status: response.status, body, json: <T,>() => JSON.parse(body) as T };
  };
  // Name3, Name30 … Name39 of the fixture's 40 people: 11.
  const startsWith3 = { description: 'First names starting with Name3', rules: { all: [{ trait: 'first_name', op: 'starts_with', value: 'Name3' }] } };

  beforeAll(async () => {
    fx = await openServerFixture({ people: 40, listen: true });
  });
  afterAll(async () => {
    await fx?.close();
  });

  test('create: 201 with the view; the list and the one-segment read show it with its definition and SQL', async () => {
    const created = await call('POST', '/segments', fx.tokens.write, { name: 'name_three', ...startsWith3 });
    expect(created.status).toBe(201);
    const view = created.json<SegmentView>();
    expect(view).toMatchObject({ name: 'name_three', origin: 'api', file: null, over: 'profiles', kind: 'rules', materialized_members: null, created_by: expect.stringMatching(/^writer \(/) });
    expect(view.definition).toMatchObject({ rules: startsWith3.rules, over: 'profiles' });
    expect(view.sql).toMatch(/^-- segment name_three/);
    expect(view.sql).toMatch(/first_name/);

    const list = (await call('GET', '/segments', fx.tokens.read)).json<{ segments: SegmentView[] }>().segments;
    expect(list.map((s) => [s.name, s.origin])).toEqual([
      ['name_one', 'file'],
      ['name_three', 'api'],
      ['name_two', 'file'],
    ]);
    const fileSegment = list.find((s) => s.name === 'name_one')!;
    expect(fileSegment.file).toBe('segments/name_one.yml');
    expect(fileSegment.definition).toEqual({ rules: { all: [{ trait: 'first_name', op: 'starts_with', value: 'Name1' }] }, preview: ['first_name'] });

    const one = await call('GET', '/segments/name_three', fx.tokens.read);
    expect(one.status).toBe(200);
    expect(one.json<SegmentView>().definition).toMatchObject(startsWith3);
    expect((await call('GET', '/segments/name_three/size', fx.tokens.read)).json<{ size: number }>().size).toBe(11);
    expect((await call('GET', '/segments/nothing_here', fx.tokens.read)).status).toBe(404);
  });

  test('invalid definitions are 400 at the field, with the CLI wording', async () => {
    const unknownTrait = await call('POST', '/segments', fx.tokens.write, { name: 'bad_one', rules: { all: [{ trait: 'first_name', op: 'eq', value: 'x' }, { trait: 'shoe_size', op: 'eq', value: 42 }] } });
    expect(unknownTrait.status).toBe(400);
    const body = unknownTrait.json<Issues>();
    expect(body.issues).toEqual([{ path: 'rules.all.1.trait', message: expect.stringMatching(/^rules\.all\.1\.trait: unknown trait 'shoe_size' of profiles — known: .*first_name/) }]);

    const badOp = await call('POST', '/segments', fx.tokens.write, { name: 'bad_two', rules: { all: [{ trait: 'first_name', op: 'gt', value: 3 }] } });
    expect(badOp.status).toBe(400);
    expect(badOp.json<Issues>().issues.map((i) => i.path)).toEqual(['rules.all.0.op']);

    const badName = await call('POST', '/segments', fx.tokens.write, { name: 'not a name', ...startsWith3 });
    expect(badName.status).toBe(400);
    expect(badName.json<Issues>().issues.map((i) => i.path)).toEqual(['name']);

    const reserved = await call('POST', '/segments', fx.tokens.write, { name: '__draft', ...startsWith3 });
    expect(reserved.status).toBe(400);
    expect(reserved.json<Issues>().issues).toEqual([{ path: 'name', message: '__draft is reserved for unsaved drafts — choose another name' }]);

    const both = await call('POST', '/segments', fx.tokens.write, { name: 'bad_three' });
    expect(both.status).toBe(400);
    expect(both.json<Issues>().issues[0]!.message).toMatch(/either sql: or rules:/);

    // A request body never reads the server's environment.
    const env = await call('POST', '/segments', fx.tokens.write, { name: 'bad_four', rules: { trait: 'first_name', op: 'eq', value: '${HOOK_SECRET}' } });
    expect(env.status).toBe(400);
    expect(env.json<Issues>().issues.map((i) => i.path)).toEqual(['rules.value']);

    // Nothing of it was saved.
    const names = (await call('GET', '/segments', fx.tokens.read)).json<{ segments: SegmentView[] }>().segments.map((s) => s.name);
    expect(names.filter((n) => n.startsWith('bad_'))).toEqual([]);
  });

  test('scopes: read tokens cannot write; raw SQL needs admin', async () => {
    expect((await call('POST', '/segments', fx.tokens.read, { name: 'by_reader', ...startsWith3 })).status).toBe(403);
    expect((await call('POST', '/segments', undefined, { name: 'by_nobody', ...startsWith3 })).status).toBe(401);
    expect((await call('PUT', '/segments/name_three', fx.tokens.read, startsWith3)).status).toBe(403);
    expect((await call('DELETE', '/segments/name_three', fx.tokens.read)).status).toBe(403);
    const sql = { name: 'by_sql', rules: { all: [{ sql: "p.first_name = 'Name5'" }] } };
    expect((await call('POST', '/segments', fx.tokens.write, sql)).status).toBe(403);
    // Replacing an API segment's rules with SQL needs admin too, top-level sql: or a condition.
    expect((await call('PUT', '/segments/name_three', fx.tokens.write, { sql: 'SELECT profile_id FROM profiles' })).status).toBe(403);
    expect((await call('PUT', '/segments/name_three', fx.tokens.write, { rules: sql.rules })).status).toBe(403);
    const byAdmin = await call('POST', '/segments', fx.tokens.admin, sql);
    expect(byAdmin.status).toBe(201);
    expect((await call('GET', '/segments/by_sql/size', fx.tokens.read)).json<{ size: number }>().size).toBe(1);
    expect((await call('DELETE', '/segments/by_sql', fx.tokens.write)).status).toBe(200);
  });

  test('conflicts: a taken name is 409; a file segment cannot be replaced, changed or deleted through the API', async () => {
    const duplicate = await call('POST', '/segments', fx.tokens.write, { name: 'name_three', ...startsWith3 });
    expect(duplicate.status).toBe(409);
    expect(duplicate.json<Issues>().message).toMatch(/already exists — update it with PUT \/segments\/name_three/);

    const overFile = await call('POST', '/segments', fx.tokens.write, { name: 'name_one', ...startsWith3 });
    expect(overFile.status).toBe(409);
    const update = await call('PUT', '/segments/name_one', fx.tokens.write, startsWith3);
    expect(update.status).toBe(409);
    expect(update.json<Issues>().message).toMatch(/segments\/name_one\.yml: segment name_one is defined by a file; the API does not change it — edit segments\/name_one\.yml/);
    expect((await call('DELETE', '/segments/name_one', fx.tokens.write)).status).toBe(409);
    expect((await call('PUT', '/segments/never_made', fx.tokens.write, startsWith3)).status).toBe(404);
    expect((await call('DELETE', '/segments/never_made', fx.tokens.write)).status).toBe(404);
    // The file is untouched.
    expect((await call('GET', '/segments/name_one/size', fx.tokens.read)).json<{ size: number }>().size).toBe(11);
  });

  test('update replaces the definition; a cycle is refused as cdp run would', async () => {
    const updated = await call('PUT', '/segments/name_three', fx.tokens.write, { rules: { any: [{ trait: 'first_name', op: 'starts_with', value: 'Name3' }, { trait: 'first_name', op: 'eq', value: 'Name4' }] } });
    expect(updated.status).toBe(200);
    expect(updated.json<SegmentView>().definition).toMatchObject({ rules: { any: expect.any(Array) } });
    expect((await call('GET', '/segments/name_three/size', fx.tokens.read)).json<{ size: number }>().size).toBe(12);

    expect((await call('POST', '/segments', fx.tokens.write, { name: 'three_and_one', rules: { all: [{ in_segment: 'name_three' }, { not: { in_segment: 'name_one' } }] } })).status).toBe(201);
    const cycle = await call('PUT', '/segments/name_three', fx.tokens.write, { rules: { in_segment: 'three_and_one' } });
    expect(cycle.status).toBe(400);
    expect(cycle.json<Issues>().message).toMatch(/cycle: .*name_three.*three_and_one.* — remove one of these in_segment references/);
  });

  test('the loader cdp uses materialises API segments; the segments job builds them; a sync plans from one', async () => {
    const env = { HOOK_URL: fx.receiver.url, HOOK_SECRET: 'x' };
    // A project object of its own (as `cdp segments run` loads it): API segments come from cdp.yml's control DB.
    const plan = await loadSegmentsPlan(loadProject(fx.project.dir, env), fx.serve.runtime.warehouse, env);
    expect(plan.segments.map((s) => s.name).sort()).toEqual(['name_one', 'name_three', 'name_two', 'three_and_one']);
    const result = await runSegments(fx.serve.runtime.warehouse, plan);
    expect(result.ok).toBe(true);
    expect(Object.fromEntries(result.results.map((r) => [r.segment, r.size]))).toEqual({ name_one: 11, name_two: 12, name_three: 12, three_and_one: 12 });
    const [row] = await fx.serve.runtime.warehouse.query('SELECT COUNT(*) AS n FROM analytics.seg_name_three');
    expect(Number(row!.n)).toBe(12);

    // Through the scheduler: a segments job (the same loader, on the server's control DB)
    // builds a segment created after the run above.
    expect((await call('POST', '/segments', fx.tokens.write, { name: 'name_four', rules: { trait: 'first_name', op: 'eq', value: 'Name4' } })).status).toBe(201);
    expect((await call('GET', '/segments/name_four', fx.tokens.read)).json<SegmentView>().materialized_members).toBeNull();
    const job = await call('POST', '/segments/run', fx.tokens.write);
    expect(job.status).toBe(202);
    const jobId = job.json<{ id: string }>().id;
    let status = 'queued';
    for (let i = 0; i < 200 && (status === 'queued' || status === 'running'); i++) {
      await new Promise((r) => setTimeout(r, 50));
      status = (await call('GET', `/jobs/${jobId}`, fx.tokens.read)).json<{ status: string }>().status;
    }
    expect(status).toBe('success');
    expect((await call('GET', '/segments/name_four', fx.tokens.read)).json<SegmentView>().materialized_members).toBe(1);
    expect((await call('DELETE', '/segments/name_four', fx.tokens.write)).status).toBe(200);

    const sync = await call('PUT', '/syncs/three_to_hook', fx.tokens.write, { source: { segment: 'name_three' }, destination: 'hook', object: 'records', mode: 'upsert', key: 'profile_id', mapping: { id: 'profile_id', name: 'first_name' }, schedule: 'manual' });
    expect(sync.status).toBe(200);
    const planned = await call('POST', '/syncs/three_to_hook/plan', fx.tokens.write, { samples: 0 });
    expect(planned.status).toBe(200);
    expect(planned.json<{ counts: Record<string, number> }>().counts.added).toBe(12);
  });

  test("a profile lookup answers traits, identifiers and the profile's current segments (API ones too) in one query", async () => {
    const lookup = async () => (await call('GET', '/profiles/lookup?type=email&value=Person31@Example.com', fx.tokens.read)).json<{ traits: Record<string, unknown>; identifiers: unknown[]; segments: string[] }>();
    await lookup(); // the first one also learns that the membership history exists
    const query = jest.spyOn(fx.serve.runtime.warehouse, 'query');
    try {
      const profile = await lookup();
      expect(query).toHaveBeenCalledTimes(1);
      expect(profile.traits).toMatchObject({ first_name: 'Name31' });
      expect(profile.identifiers).toEqual([
        { type: 'email', value: 'person31@example.com' },
        { type: 'user_id', value: 'u31' },
      ]);
      expect(profile.segments).toEqual(['name_three', 'three_and_one']);
      // The merge path is a second query, only when asked.
      query.mockClear();
      const withPath = (await call('GET', '/profiles/lookup?type=email&value=Person31@Example.com&merge_path=true', fx.tokens.read)).json<{ merge_path: { steps: unknown[] } }>();
      expect(query).toHaveBeenCalledTimes(2);
      expect(withPath.merge_path.steps).toHaveLength(1);
    } finally {
      query.mockRestore();
    }
  });

  test('delete: refused while a segment or a sync uses it; then gone, and audited throughout', async () => {
    const used = await call('DELETE', '/segments/name_three', fx.tokens.write);
    expect(used.status).toBe(409);
    expect(used.json<Issues>().message).toMatch(/used by segment\(s\) three_and_one/);
    expect((await call('DELETE', '/segments/three_and_one', fx.tokens.write)).status).toBe(200);
    const bySync = await call('DELETE', '/segments/name_three', fx.tokens.write);
    expect(bySync.status).toBe(409);
    expect(bySync.json<Issues>().message).toMatch(/source of sync\(s\) three_to_hook/);
    expect((await call('DELETE', '/syncs/three_to_hook', fx.tokens.write)).status).toBe(200);
    expect((await call('DELETE', '/segments/name_three', fx.tokens.write)).status).toBe(200);
    expect((await call('GET', '/segments/name_three', fx.tokens.read)).status).toBe(404);

    const audit = (await call('GET', '/audit?limit=200', fx.tokens.admin)).json<{ action: string; target_type: string; target: string; before: unknown; after: unknown }[]>();
    const ofThree = audit.filter((a) => a.target_type === 'segment' && a.target === 'name_three').reverse();
    expect(ofThree.map((a) => a.action)).toEqual(['create', 'update', 'delete']);
    expect(ofThree[0]!.after).toMatchObject({ rules: startsWith3.rules });
    expect(ofThree[1]!.before).toMatchObject({ rules: startsWith3.rules });
    expect(ofThree[1]!.after).toMatchObject({ rules: { any: expect.any(Array) } });
    expect(ofThree[2]!.after).toBeNull();
  });

  test('catalog: what a rule may name — traits with kinds, other segments, operators by kind; no accounts is 404', async () => {
    const answer = await call('GET', '/segments/catalog?over=profiles', fx.tokens.read);
    expect(answer.status).toBe(200);
    const catalog = answer.json<{ over: string; traits: { name: string; kind: string }[]; account_traits: unknown; events: unknown[]; segments: string[]; operators: Record<string, string[]> }>();
    expect(catalog.over).toBe('profiles');
    expect(catalog.traits).toEqual(expect.arrayContaining([{ name: 'first_name', kind: 'string' }, { name: 'first_seen', kind: 'time' }, { name: 'identifier_count', kind: 'number' }]));
    expect(catalog.traits.map((t) => t.name)).toEqual([...catalog.traits.map((t) => t.name)].sort());
    expect(catalog).toMatchObject({ account_traits: null, events: [] });
    expect(catalog.segments).toEqual(['name_one', 'name_two']); // the API ones were deleted above
    expect(catalog.operators.string).toContain('starts_with');
    expect(catalog.operators.number).not.toContain('starts_with');
    expect(catalog.operators.time).toContain('within_last');
    // The default subject is profiles; the fixture has no B2B accounts.
    expect((await call('GET', '/segments/catalog', fx.tokens.read)).json<{ over: string }>().over).toBe('profiles');
    expect((await call('GET', '/segments/catalog?over=accounts', fx.tokens.read)).status).toBe(404);
    expect((await call('GET', '/segments/catalog?over=people', fx.tokens.read)).status).toBe(400);
    expect((await call('GET', '/segments/catalog')).status).toBe(401);
    // A segment cannot take the name of a route under /segments/.
    expect((await call('POST', '/segments', fx.tokens.write, { name: 'catalog', ...startsWith3 })).json<Issues>().issues.map((i) => i.path)).toEqual(['name']);
  });

  test('the OpenAPI document describes the new routes', async () => {
    const doc = (await call('GET', '/openapi.json')).json<{ paths: Record<string, Record<string, unknown>> }>();
    expect(Object.keys(doc.paths['/segments']!).sort()).toEqual(['get', 'post']);
    expect(Object.keys(doc.paths['/segments/{name}']!).sort()).toEqual(['delete', 'get', 'put']);
    expect(doc.paths['/segments/run']).toBeDefined();
  });

  test('the list gives each segment its size over the last builds, oldest first, from the membership history', async () => {
    type Listed = SegmentView & { trend: { at: string; members: number }[] };
    const env = { HOOK_URL: fx.receiver.url, HOOK_SECRET: 'x' };
    const build = async (at: Date) => {
      const plan = await loadSegmentsPlan(loadProject(fx.project.dir, env), fx.serve.runtime.warehouse, env);
      expect((await runSegments(fx.serve.runtime.warehouse, plan, { at })).ok).toBe(true);
    };
    const list = async () => (await call('GET', '/segments', fx.tokens.read)).json<{ segments: Listed[] }>().segments;
    // Instants after every build of the tests above, a minute apart.
    const first = new Date(Math.ceil(Date.now() / 60_000) * 60_000 + 3_600_000);
    const second = new Date(first.getTime() + 60_000);

    expect((await call('POST', '/segments', fx.tokens.write, { name: 'trending', ...startsWith3 })).status).toBe(201);
    expect((await list()).find((s) => s.name === 'trending')!.trend).toEqual([]);
    await build(first);
    expect((await list()).find((s) => s.name === 'trending')!.trend).toEqual([{ at: first.toISOString(), members: 11 }]);

    // Between the builds the rule changes: Name3 … Name39 (11) becomes Name3 … Name39 and Name4, Name5 (13).
    expect((await call('PUT', '/segments/trending', fx.tokens.write, { rules: { any: [startsWith3.rules.all[0], { trait: 'first_name', op: 'in', value: ['Name4', 'Name5'] }] } })).status).toBe(200);
    await build(second);
    const listed = await list();
    const trending = listed.find((s) => s.name === 'trending')!;
    expect(trending.trend).toEqual([
      { at: first.toISOString(), members: 11 },
      { at: second.toISOString(), members: 13 },
    ]);
    expect(trending.materialized_members).toBe(13);
    // Every built segment's last point is its current size; a build that changed nobody adds no point.
    for (const s of listed) expect(s.trend[s.trend.length - 1]?.members).toBe(s.materialized_members!);
    expect(listed.find((s) => s.name === 'name_one')!.trend.map((p) => p.at)).not.toContain(second.toISOString());

    // One history query answers the trends of every segment.
    const query = jest.spyOn(fx.serve.runtime.warehouse, 'query');
    try {
      await list();
      expect(query.mock.calls.filter(([sql]) => /segment_membership_history/.test(String(sql)) && /SUM\(/.test(String(sql)))).toHaveLength(1);
    } finally {
      query.mockRestore();
    }
    expect((await call('DELETE', '/segments/trending', fx.tokens.write)).status).toBe(200);
  });

  const runSegmentsJob = async (): Promise<{ status: string; message: string | null }> => {
    const job = await call('POST', '/segments/run', fx.tokens.write);
    expect(job.status).toBe(202);
    const id = job.json<{ id: string }>().id;
    let answer = { status: 'queued', message: null as string | null };
    for (let i = 0; i < 400 && (answer.status === 'queued' || answer.status === 'running'); i++) {
      await new Promise((r) => setTimeout(r, 50));
      answer = (await call('GET', `/jobs/${id}`, fx.tokens.read)).json();
    }
    return answer;
  };
  const listed = async () => (await call('GET', '/segments', fx.tokens.read)).json<{ segments: SegmentView[] }>().segments;

  test('a broken API segment takes nothing else down: listed with its error, readable, deletable; the job builds the rest and reports it', async () => {
    const env = { HOOK_URL: fx.receiver.url, HOOK_SECRET: 'x' };
    const warehouse = fx.serve.runtime.warehouse;
    const profiles = warehouse.dialect.qualify((await loadSegmentsPlan(loadProject(fx.project.dir, env), warehouse, env)).tables.profiles);
    await warehouse.execute(`ALTER TABLE ${profiles} ADD COLUMN shoe_size INTEGER`);
    await warehouse.execute(`UPDATE ${profiles} SET shoe_size = 44 WHERE first_name IN ('Name5', 'Name6')`);
    try {
      expect((await call('POST', '/segments', fx.tokens.write, { name: 'big_feet', rules: { trait: 'shoe_size', op: 'gte', value: 44 } })).status).toBe(201);
      expect((await call('POST', '/segments', fx.tokens.write, { name: 'big_feet_one', rules: { all: [{ in_segment: 'big_feet' }, { trait: 'first_name', op: 'eq', value: 'Name5' }] } })).status).toBe(201);
      expect(await runSegmentsJob()).toMatchObject({ status: 'success' });

      // The column goes away (identity rebuilt profiles without it).
      await warehouse.execute(`ALTER TABLE ${profiles} DROP COLUMN shoe_size`);
      expect((await call('POST', '/segments', fx.tokens.write, { name: 'healthy_api', rules: { trait: 'first_name', op: 'eq', value: 'Name7' } })).status).toBe(201);

      const list = await call('GET', '/segments', fx.tokens.read);
      expect(list.status).toBe(200);
      const byName = Object.fromEntries(list.json<{ segments: SegmentView[] }>().segments.map((v) => [v.name, v]));
      expect(Object.keys(byName)).toEqual(['big_feet', 'big_feet_one', 'healthy_api', 'name_one', 'name_two']);
      for (const healthy of ['healthy_api', 'name_one', 'name_two']) expect(byName[healthy]).toMatchObject({ error: null, sql: expect.stringMatching(/^-- segment /) });
      expect(byName.big_feet).toMatchObject({ origin: 'api', sql: null, materialized_members: 2, definition: { rules: { trait: 'shoe_size', op: 'gte', value: 44 } } });
      expect(byName.big_feet!.error).toMatch(/^api:segments\/big_feet:1: rules.trait: unknown trait 'shoe_size' of profiles/);
      expect(byName.big_feet_one!.error).toMatch(/segment big_feet_one refers to segment big_feet \(in_segment\), which is broken/);

      // Everything else keeps working.
      expect((await call('GET', '/segments/name_one/size', fx.tokens.read)).json<{ size: number }>().size).toBe(11);
      expect((await call('GET', '/segments/healthy_api/size', fx.tokens.read)).json<{ size: number }>().size).toBe(1);
      // The rule builder no longer offers it, and a draft referring to it says why.
      expect((await call('GET', '/segments/catalog', fx.tokens.read)).json<{ segments: string[] }>().segments).toEqual(['healthy_api', 'name_one', 'name_two']);
      const draft = await call('POST', '/segments/size', fx.tokens.read, { rules: { in_segment: 'big_feet' } });
      expect(draft.status).toBe(400);
      expect(draft.json<Issues>().issues).toEqual([{ path: 'rules', message: expect.stringMatching(/^segment big_feet \(in_segment\) cannot be planned: .*unknown trait 'shoe_size'/) }]);
      expect((await call('GET', '/segments/overlap?names=name_one,healthy_api', fx.tokens.read)).status).toBe(200);
      const one = await call('GET', '/segments/big_feet', fx.tokens.read);
      expect(one.status).toBe(200);
      expect(one.json<SegmentView>().error).toBe(byName.big_feet!.error);
      const size = await call('GET', '/segments/big_feet/size', fx.tokens.read);
      expect(size.status).toBe(400);
      expect(size.json<Issues>().message).toMatch(/unknown trait 'shoe_size'/);

      // The job builds the healthy ones, reports the broken ones, and leaves their last build alone.
      const job = await runSegmentsJob();
      expect(job.status).toBe('failed');
      expect(job.message).toMatch(/^3 segment\(s\) built, 2 not built: /);
      expect(job.message).toMatch(/big_feet \(api:segments\/big_feet:1: rules.trait: unknown trait 'shoe_size'/);
      expect(job.message).toMatch(/big_feet_one \(.*which is broken/);
      expect((await call('GET', '/segments/healthy_api', fx.tokens.read)).json<SegmentView>().materialized_members).toBe(1);
      const [open] = await warehouse.query(`SELECT COUNT(*) AS n FROM ${warehouse.dialect.qualify((await loadSegmentsPlan(loadProject(fx.project.dir, env), warehouse, env, { keepGoing: true })).tables.history)} WHERE segment = 'big_feet' AND exited_at IS NULL`);
      expect(Number(open!.n)).toBe(2);

      // Deleting needs no plan: the dependant first (409 names it), then the broken one.
      const used = await call('DELETE', '/segments/big_feet', fx.tokens.write);
      expect(used.status).toBe(409);
      expect(used.json<Issues>().message).toMatch(/used by segment\(s\) big_feet_one/);
      expect((await call('DELETE', '/segments/big_feet_one', fx.tokens.write)).status).toBe(200);
      expect((await call('DELETE', '/segments/big_feet', fx.tokens.write)).status).toBe(200);
      expect((await listed()).filter((v) => v.error !== null)).toEqual([]);
      expect(await runSegmentsJob()).toMatchObject({ status: 'success' });
      expect((await call('DELETE', '/segments/healthy_api', fx.tokens.write)).status).toBe(200);
    } finally {
      await warehouse.execute(`ALTER TABLE ${profiles} DROP COLUMN IF EXISTS shoe_size`);
    }
  });

  test('when nothing can be planned (segments.yml broken), an API segment is still readable and deletable', async () => {
    expect((await call('POST', '/segments', fx.tokens.write, { name: 'kept_api', rules: { trait: 'first_name', op: 'eq', value: 'Name8' } })).status).toBe(201);
    const config = join(fx.project.dir, 'segments.yml');
    writeFileSync(config, 'holdout: { percent: many }\n');
    try {
      expect((await call('GET', '/segments', fx.tokens.read)).status).toBe(400);
      const one = await call('GET', '/segments/kept_api', fx.tokens.read);
      expect(one.status).toBe(200);
      expect(one.json<SegmentView>()).toMatchObject({ name: 'kept_api', origin: 'api', sql: null, definition: { rules: { trait: 'first_name', op: 'eq', value: 'Name8' } }, error: expect.stringMatching(/^segments.yml:1: holdout.percent/) });
      expect((await call('GET', '/segments/name_one', fx.tokens.read)).json<SegmentView>()).toMatchObject({ origin: 'file', file: 'segments/name_one.yml', error: expect.stringMatching(/segments.yml/) });
      expect((await call('GET', '/segments/nothing_here', fx.tokens.read)).status).toBe(404);
      expect((await call('DELETE', '/segments/kept_api', fx.tokens.write)).status).toBe(200);
      expect((await call('GET', '/segments/kept_api', fx.tokens.read)).status).toBe(404);
    } finally {
      rmSync(config);
    }
    expect((await call('GET', '/segments', fx.tokens.read)).status).toBe(200);
  });

  test('two concurrent PUTs that together would form a cycle: one is saved, the other refused', async () => {
    for (const name of ['ring_a', 'ring_b']) expect((await call('POST', '/segments', fx.tokens.write, { name, ...startsWith3 })).status).toBe(201);
    const answers = await Promise.all([
      call('PUT', '/segments/ring_a', fx.tokens.write, { rules: { all: [{ in_segment: 'ring_b' }] } }),
      call('PUT', '/segments/ring_b', fx.tokens.write, { rules: { all: [{ in_segment: 'ring_a' }] } }),
    ]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 400]);
    expect(answers.find((a) => a.status === 400)!.json<Issues>().message).toMatch(/cycle: .*ring_.*ring_.* — remove one of these in_segment references/);
    expect((await listed()).filter((v) => v.error !== null)).toEqual([]);
    const loser = answers[0]!.status === 400 ? 'ring_a' : 'ring_b';
    const winner = loser === 'ring_a' ? 'ring_b' : 'ring_a';
    expect((await call('DELETE', `/segments/${winner}`, fx.tokens.write)).status).toBe(200);
    expect((await call('DELETE', `/segments/${loser}`, fx.tokens.write)).status).toBe(200);
  });

  test('names that differ only in case are one table: 409 in the API; the loader lets a file win', async () => {
    const overFile = await call('POST', '/segments', fx.tokens.write, { name: 'NAME_ONE', ...startsWith3 });
    expect(overFile.status).toBe(409);
    expect(overFile.json<Issues>().message).toBe('segment NAME_ONE: segment NAME_ONE would build the same table as segment name_one (segments/name_one.yml): warehouse names ignore case — choose another name');
    expect((await call('POST', '/segments', fx.tokens.write, { name: 'vip', ...startsWith3 })).status).toBe(201);
    const overApi = await call('POST', '/segments', fx.tokens.write, { name: 'VIP', ...startsWith3 });
    expect(overApi.status).toBe(409);
    expect(overApi.json<Issues>().message).toMatch(/segment VIP would build the same table as segment vip \(created through the API\)/);
    expect((await call('DELETE', '/segments/vip', fx.tokens.write)).status).toBe(200);

    // A row stored before names were compared this way: the file wins, and the API shows why and can delete it.
    await insertApiSegment(fx.serve.runtime.control, { project: fx.serve.runtime.name, name: 'Name_Two', definition: JSON.stringify(startsWith3), createdBy: 'test' });
    const env = { HOOK_URL: fx.receiver.url, HOOK_SECRET: 'x' };
    const plan = await loadSegmentsPlan(loadProject(fx.project.dir, env), fx.serve.runtime.warehouse, env);
    expect(plan.segments.map((s) => s.name).sort()).toEqual(['name_one', 'name_two']);
    const hidden = (await listed()).find((v) => v.name === 'Name_Two')!;
    expect(hidden).toMatchObject({ origin: 'api', sql: null, error: expect.stringMatching(/hidden by segments\/name_two.yml/) });
    expect((await call('DELETE', '/segments/Name_Two', fx.tokens.write)).status).toBe(200);
  });

  test("a file's environment values never leave the server: sql and size labels show ${NAME}", async () => {
    const file = join(fx.project.dir, 'segments', 'from_env.yml');
    writeFileSync(file, 'rules:\n  any:\n    - { trait: first_name, op: eq, value: "${HOOK_SECRET}" }\n    - { trait: first_name, op: eq, value: Name9 }\n');
    try {
      const one = await call('GET', '/segments/from_env', fx.tokens.read);
      expect(one.status).toBe(200);
      expect(one.body).not.toContain(HOOK_SECRET);
      const view = one.json<SegmentView>();
      expect(view.sql).toContain("'${HOOK_SECRET}'");
      expect(view.definition).toEqual({ rules: { any: [{ trait: 'first_name', op: 'eq', value: '${HOOK_SECRET}' }, { trait: 'first_name', op: 'eq', value: 'Name9' }] } });
      const size = await call('GET', '/segments/from_env/size', fx.tokens.read);
      expect(size.json<{ size: number }>().size).toBe(1);
      expect(size.body).not.toContain(HOOK_SECRET);
      expect(size.body).toContain('${HOOK_SECRET}');
      const list = await call('GET', '/segments', fx.tokens.read);
      expect(list.body).not.toContain(HOOK_SECRET);
    } finally {
      rmSync(file);
    }
  });
});
