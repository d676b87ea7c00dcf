/**
 * The braze connector against `startBrazeFake` (test/fakes/braze-fake.ts): the conformance
 * suite for users and segment flags, then what is special to Braze — 75-object chunks,
 * non-fatal errors[] by index → rows, fatal 400s, /users/delete (50 ids, one identifier
 * type), the 3,000-per-3-s window (429 with Retry-After), check messages, consent (never
 * re-subscribed), and three runs of a 5,000-person audience through the real sync engine
 * (`runSync`) with 429s and 5xx injected. Every test asserts the fake's state.
 */
import braze, { brazeConsent } from '../../connectors/braze';
import { ConnectorError, createConnectorContext, type Batch, type OutboundRow } from '../../connectors/kit';
import { rejectedRows } from '../../src/sync';
import { startBrazeFake, type BrazeFake } from '../fakes/braze-fake';
import { describeConnectorConformance, type ConnectorFake } from './conformance';
import { openEngine, TIERED_COLUMNS, type EngineFixture, type TieredPerson as Person } from './engine-harness';

const userRows = (count: number, variant = 0): OutboundRow[] =>
  Array.from({ length: count }, (_, i) => ({ key: `user-${i}`, fields: { first_name: `First${i}`, tier: `tier${variant}`, score: i + variant, vip: i % 2 === 0 } }));

function context(fake: BrazeFake, config: { apiKey?: string; baseUrl?: string } = {}) {
  return createConnectorContext('braze', braze.config.parse({ apiKey: fake.apiKey, baseUrl: fake.url, ...config }), { timeoutMs: 5000 });
}
const write = (fake: BrazeFake, batch: Omit<Batch, 'options'> & { options?: Record<string, string> }) => braze.write(context(fake), { options: {}, ...batch });

async function conformanceFake(object: 'users' | 'segment_members'): Promise<ConnectorFake<typeof braze.config>> {
  const fake = await startBrazeFake();
  return {
    config: { apiKey: fake.apiKey, baseUrl: fake.url },
    badCredentialsConfig: { apiKey: 'wrong', baseUrl: fake.url },
    object,
    options: object === 'segment_members' ? { attribute: 'in_vip' } : {},
    rows: object === 'users' ? userRows : (count) => userRows(count).map((r) => ({ key: r.key, fields: {} })),
    invalidRow: object === 'users' ? () => ({ key: 'user-bad', fields: { email: 'not-an-email' } }) : undefined,
    records: async () =>
      object === 'users'
        ? new Map([...fake.users].map(([id, u]) => [id, u.attributes]))
        : new Map([...fake.users].filter(([, u]) => u.attributes.in_vip === true).map(([id]) => [id, {}])),
    failNext: (count, status) => fake.server.failNext(count, status),
    close: () => fake.close(),
  };
}

describe('users', () => describeConnectorConformance(braze, () => conformanceFake('users'), { storedValue: (v) => v }));
describe('segment_members', () => describeConnectorConformance(braze, () => conformanceFake('segment_members'), { storedValue: (v) => v }));

describe('braze specifics', () => {
  let fake: BrazeFake;
  beforeEach(async () => {
    fake = await startBrazeFake();
  });
  afterEach(async () => fake.close());

  test('check: a wrong key names the REST API key and the instance; a key without users.track names the permission', async () => {
    await expect(braze.check(context(fake))).resolves.toBeUndefined();
    const wrong = (await braze.check(context(fake, { apiKey: 'nope' })).catch((e: unknown) => e)) as ConnectorError;
    expect(wrong).toMatchObject({ failure: 'auth', httpStatus: 401 });
    expect(wrong.hint).toMatch(/REST API key .* instance/);
    await fake.close();
    fake = await startBrazeFake({ permissions: ['users.delete'] });
    const denied = (await braze.check(context(fake)).catch((e: unknown) => e)) as ConnectorError;
    expect(denied).toMatchObject({ failure: 'auth', httpStatus: 403 });
    expect(denied.message).toMatch(/users\.track permission/);
    expect(fake.users.size).toBe(0);
  });

  test('200 rows go as 75-object requests; non-fatal errors[] reject exactly the rows their index names', async () => {
    const rows = userRows(200).map((r, i) => (i === 80 ? { ...r, fields: { ...r.fields, email: 'broken' } } : i === 150 ? { ...r, fields: { ...r.fields, $bad: 1 } } : r));
    const outcomes = await write(fake, { object: 'users', op: 'upsert', rows });
    expect(outcomes.filter((o) => o.status === 'ok')).toHaveLength(198);
    expect(outcomes[80]).toEqual({ status: 'rejected', reason: "Invalid 'email' field: broken" });
    expect(outcomes[150]).toEqual({ status: 'rejected', reason: "Custom attribute names cannot start with '$': $bad" });
    expect(fake.users.size).toBe(198);
    expect(fake.users.has('user-80')).toBe(false);
    expect(fake.server.stats.accepted).toBe(3);
    expect(fake.server.refusals).toEqual([]);
  });

  test('null removes an attribute; update mode never creates users', async () => {
    await write(fake, { object: 'users', op: 'upsert', rows: userRows(2) });
    await write(fake, { object: 'users', op: 'update', rows: [{ key: 'user-0', fields: { tier: null } }, { key: 'user-9', fields: { tier: 'x' } }] });
    expect(fake.users.get('user-0')?.attributes).toEqual({ first_name: 'First0', score: 0, vip: true });
    expect(fake.users.has('user-9')).toBe(false);
  });

  test('removals delete users 50 ids a request, external ids only; a remove from a flag never creates a user', async () => {
    await write(fake, { object: 'users', op: 'upsert', rows: userRows(120) });
    const outcomes = await write(fake, { object: 'users', op: 'delete', rows: userRows(120).slice(0, 110) });
    expect(outcomes.every((o) => o.status === 'ok')).toBe(true);
    expect(fake.users.size).toBe(10);
    expect(fake.server.stats.accepted).toBe(2 + 3);
    await write(fake, { object: 'segment_members', op: 'remove', rows: [{ key: 'ghost', fields: {} }], options: { attribute: 'in_vip' } });
    expect(fake.users.has('ghost')).toBe(false);
  });

  test('subscription-group membership follows add and remove', async () => {
    await write(fake, { object: 'segment_members', op: 'add', rows: userRows(3), options: { subscriptionGroupId: 'sg-1' } });
    await write(fake, { object: 'segment_members', op: 'remove', rows: userRows(1), options: { subscriptionGroupId: 'sg-1' } });
    expect([...fake.users.values()].map((u) => [u.external_id, u.subscriptionGroups.get('sg-1')])).toEqual([
      ['user-0', 'unsubscribed'],
      ['user-1', 'subscribed'],
      ['user-2', 'subscribed'],
    ]);
    await expect(write(fake, { object: 'segment_members', op: 'add', rows: userRows(1), options: {} })).rejects.toMatchObject({ failure: 'config' });
  });

  test('the 3,000-per-3-s window: over it, 429 with the wait; the connector says rate_limited with retryAfterMs', async () => {
    await fake.close();
    fake = await startBrazeFake({ trackLimit: { count: 3, perMs: 400 } });
    for (let i = 0; i < 3; i++) await write(fake, { object: 'users', op: 'upsert', rows: userRows(1) });
    const error = (await write(fake, { object: 'users', op: 'upsert', rows: userRows(1) }).catch((e: unknown) => e)) as ConnectorError;
    expect(error).toMatchObject({ failure: 'rate_limited', httpStatus: 429 });
    expect(error.retryAfterMs).toBeGreaterThan(0);
    expect(error.retryAfterMs).toBeLessThanOrEqual(400);
  });

  test('consent: withdrawal unsubscribes; nobody is re-subscribed, also after unsubscribing inside Braze', async () => {
    const row = (consent: string | boolean, tier: string): OutboundRow => ({ key: 'c1', fields: { tier, email_consent: consent } });
    await write(fake, { object: 'users', op: 'upsert', rows: [row(true, 'a'), { key: 'c2', fields: { tier: 'a', email_consent: 'granted' } }] });
    expect(fake.users.get('c1')?.email_subscribe).toBeUndefined(); // Braze's default for new users
    await write(fake, { object: 'users', op: 'upsert', rows: [row('withdrawn', 'b')] });
    fake.unsubscribeInBraze('c2');
    await write(fake, { object: 'users', op: 'upsert', rows: [row('granted', 'c'), { key: 'c2', fields: { tier: 'c', email_consent: true } }] });
    for (const id of ['c1', 'c2']) {
      const user = fake.users.get(id)!;
      expect([id, user.email_subscribe, user.attributes.tier, user.emailSubscribeHistory]).toEqual([id, 'unsubscribed', 'c', ['unsubscribed']]);
    }
    const refused = await write(fake, { object: 'users', op: 'upsert', rows: [{ key: 'c1', fields: { email_subscribe: 'opted_in' } }] });
    expect(refused[0]).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/never subscribes people/) });
    expect(brazeConsent({ email_consent: 'perhaps' })).toEqual({ error: expect.stringMatching(/neither a yes nor a no/) });
  });

  test('the fake is a real gate: too many objects, two identifier types in a delete, unknown keys are refused', async () => {
    const post = (path: string, body: unknown) => fetch(`${fake.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${fake.apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const tooMany = await post('/users/track', { attributes: Array.from({ length: 76 }, (_, i) => ({ external_id: `x${i}` })) });
    expect(tooMany.status).toBe(400);
    expect(await tooMany.json()).toMatchObject({ message: expect.stringMatching(/at most 75 attributes/) });
    const twoTypes = await post('/users/delete', { external_ids: ['a'], braze_ids: ['b'] });
    expect(twoTypes.status).toBe(400);
    expect(await twoTypes.json()).toMatchObject({ message: expect.stringMatching(/exactly one identifier type/) });
    const fiftyOne = await post('/users/delete', { external_ids: Array.from({ length: 51 }, (_, i) => `x${i}`) });
    expect(fiftyOne.status).toBe(400);
    const unknownKey = await post('/users/track', { attributes: [{ external_id: 'a' }], segments: [] });
    expect(unknownKey.status).toBe(400);
    expect(fake.users.size).toBe(0);
  });
});

// ============================================================================ three runs through the engine

describe('three runs of a 5,000-person audience through the sync engine, with 429s and 5xx', () => {
  let fake: BrazeFake;
  let fx: EngineFixture<Person>;
  afterEach(async () => {
    await fx?.cleanup();
    await fake?.close();
  });

  test('users (attributes, consent) and a segment flag end equal to the audience; rejected rows carry Braze reasons', async () => {
    fake = await startBrazeFake({ seed: 5, tooManyRate: 0.05, serverErrorRate: 0.05, retryAfterSeconds: 0, rejectUser: (id) => (id.endsWith('7@example.com') && id.startsWith('u12') ? 'User is blocklisted' : undefined) });
    fx = await openEngine<Person>(
      {
        'destinations.yml': 'bz:\n  type: braze\n  config: { apiKey: "${BZ_KEY}", baseUrl: "${BZ_URL}" }\n',
        'syncs/users.yml': [
          'source: { table: $SCHEMA.audience }',
          'destination: bz',
          'object: users',
          'mode: mirror',
          'key: email',
          'mapping: { email: email, first_name: first_name, tier: "{{lower tier}}", score: score, email_consent: consent }',
          'options: { max_attempts: 8, timeout_ms: 5000, max_deletion_share: 1, nulls: clear }',
        ].join('\n'),
        'syncs/vips.yml': [
          'source: { table: $SCHEMA.vips }',
          'destination: bz',
          'object: segment_members',
          'mode: add_remove',
          'key: email',
          'mapping: { email: email }',
          'object_options: { attribute: in_vip }',
          'options: { max_attempts: 8, timeout_ms: 5000, max_deletion_share: 1 }',
        ].join('\n'),
      },
      { BZ_KEY: fake.apiKey, BZ_URL: fake.url },
      { columns: TIERED_COLUMNS },
    );
    const person = (i: number, version: number): Person => ({
      email: `u${i}@example.com`,
      first_name: `Name${i}${version && i % 5 === 0 ? `-v${version}` : ''}`,
      tier: (i + version) % 4 === 0 ? 'VIP' : 'Basic',
      score: String(i % 100),
      consent: version >= 2 && i % 50 === 1 ? 'withdrawn' : 'granted',
    });
    const runs = [
      Array.from({ length: 5000 }, (_, i) => person(i, 0)),
      Array.from({ length: 5000 }, (_, i) => person(i < 400 ? i + 5000 : i, 1)),
      Array.from({ length: 5000 }, (_, i) => person(i < 200 ? i + 5200 : i, 2)),
    ];
    for (const audience of runs) {
      await fx.setAudience(audience);
      if (audience === runs[0]) await fx.wh.warehouse.execute(`CREATE VIEW ${fx.wh.schema}.vips AS SELECT * FROM ${fx.wh.schema}.audience WHERE tier = 'VIP'`);
      expect((await fx.run('users')).status).toBe('success');
      expect((await fx.run('vips')).status).toBe('success');
    }
    const final = runs[2]!;
    const blocked = (email: string) => /^u12\d*7@example\.com$/.test(email);
    expect(new Set(fake.users.keys())).toEqual(new Set(final.map((p) => p.email).filter((e) => !blocked(e))));
    for (const p of final) {
      if (blocked(p.email)) continue;
      const user = fake.users.get(p.email)!;
      expect({ id: p.email, ...user.attributes, email_subscribe: user.email_subscribe }).toEqual({
        id: p.email,
        email: p.email,
        first_name: p.first_name,
        tier: p.tier.toLowerCase(),
        score: p.score,
        ...(p.tier === 'VIP' ? { in_vip: true } : {}),
        email_subscribe: p.consent === 'granted' ? undefined : 'unsubscribed',
      });
    }
    const rejected = await rejectedRows(fx.wh.warehouse, fx.targets.get('users')!.tables);
    // Every blocked person of the audience is listed; the list may still hold one who left since.
    const rejectedKeys = new Set(rejected.rows.map((r) => r.key));
    for (const email of final.map((p) => p.email).filter(blocked)) expect(rejectedKeys.has(email)).toBe(true);
    for (const key of rejectedKeys) expect(blocked(key)).toBe(true);
    for (const row of rejected.rows) expect(row.reason).toBe('User is blocklisted');
    expect(fake.server.stats.tooMany + fake.server.stats.serverErrors).toBeGreaterThan(5);
    expect(fake.server.refusals).toEqual([]);
  }, 60_000);
});
