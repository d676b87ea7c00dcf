/**
 * The customerio connector against `startCustomerioFake` (test/fakes/customerio-fake.ts): the
 * conformance suite for people and manual segments, then what is special to Customer.io —
 * region check, 207 errors by batch_index → rows, packing by size (500 KB a request, 32 KB a
 * person), 1,000-id segment requests, 429 with Retry-After, consent (never re-subscribed),
 * and three runs of a 5,000-person audience through the real sync engine (`runSync`) with
 * 429s and 5xx injected. Every test asserts the fake's state.
 */
import customerio, { customerioConsent } from '../../connectors/customerio';
import { ConnectorError, createConnectorContext, type Batch, type OutboundRow } from '../../connectors/kit';
import { rejectedRows } from '../../src/sync';
import { startCustomerioFake, type CustomerioFake } from '../fakes/customerio-fake';
import { describeConnectorConformance, type ConnectorFake } from './conformance';
import { openEngine, TIERED_COLUMNS, type EngineFixture, type TieredPerson as Person } from './engine-harness';

const personRows = (count: number, variant = 0): OutboundRow[] =>
  Array.from({ length: count }, (_, i) => ({ key: `person-${i}`, fields: { email: `p${i}@example.com`, first_name: `First${i}`, plan: `plan${variant}`, score: i + variant } }));

function context(fake: CustomerioFake, config: Record<string, string> = {}) {
  return createConnectorContext('customerio', customerio.config.parse({ siteId: fake.siteId, apiKey: fake.apiKey, baseUrl: fake.url, ...config }), { timeoutMs: 5000 });
}
const write = (fake: CustomerioFake, batch: Omit<Batch, 'options'> & { options?: Record<string, string> }) => customerio.write(context(fake), { options: {}, ...batch });

async function conformanceFake(object: 'people' | 'segment_members'): Promise<ConnectorFake<typeof customerio.config>> {
  const fake = await startCustomerioFake();
  const segmentId = fake.createSegment();
  // Manual segments take only people Customer.io has: the whole key space exists already.
  if (object === 'segment_members') await write(fake, { object: 'people', op: 'upsert', rows: personRows(1000) });
  return {
    config: { siteId: fake.siteId, apiKey: fake.apiKey, baseUrl: fake.url },
    badCredentialsConfig: { siteId: fake.siteId, apiKey: 'wrong', baseUrl: fake.url },
    object,
    options: object === 'segment_members' ? { segmentId: String(segmentId) } : {},
    rows: object === 'people' ? personRows : (count) => personRows(count).map((r) => ({ key: r.key, fields: {} })),
    invalidRow: object === 'people' ? () => ({ key: 'person-bad', fields: { email: 'not-an-email' } }) : undefined,
    records: async () =>
      object === 'people' ? new Map([...fake.people].map(([id, p]) => [id, p.attributes])) : new Map([...fake.segments.get(segmentId)!].map((id) => [id, {}])),
    failNext: (count, status) => fake.server.failNext(count, status),
    close: () => fake.close(),
  };
}

describe('people', () => describeConnectorConformance(customerio, () => conformanceFake('people'), { storedValue: (v) => v }));
describe('segment_members', () => describeConnectorConformance(customerio, () => conformanceFake('segment_members'), { storedValue: (v) => v }));

describe('customerio specifics', () => {
  let fake: CustomerioFake;
  beforeEach(async () => {
    fake = await startCustomerioFake();
  });
  afterEach(async () => fake.close());

  test('check: wrong credentials name the Track API pair; a workspace in another region says which', async () => {
    await expect(customerio.check(context(fake))).resolves.toBeUndefined();
    const wrong = (await customerio.check(context(fake, { siteId: 'other' })).catch((e: unknown) => e)) as ConnectorError;
    expect(wrong).toMatchObject({ failure: 'auth', httpStatus: 401 });
    expect(wrong.hint).toMatch(/siteId and apiKey must be a pair .*Track API keys/);
    const region = (await customerio.check(context(fake, { region: 'eu' })).catch((e: unknown) => e)) as ConnectorError;
    expect(region).toMatchObject({ failure: 'config', hint: 'set region: us in destinations.yml' });
  });

  test('a 207 rejects exactly the rows its batch_index names, with the reason; the others are stored', async () => {
    const rows = personRows(5).map((r, i) => (i === 3 ? { ...r, fields: { ...r.fields, email: 'broken@' } } : r));
    const outcomes = await write(fake, { object: 'people', op: 'upsert', rows });
    expect(outcomes.map((o) => o.status)).toEqual(['ok', 'ok', 'ok', 'rejected', 'ok']);
    expect(outcomes[3]).toEqual({ status: 'rejected', reason: "email: 'broken@' is not a valid email address" });
    expect([...fake.people.keys()].sort()).toEqual(['person-0', 'person-1', 'person-2', 'person-4']);
  });

  test('requests are packed under 500 KB; a person over 32 KB is rejected here, never sent', async () => {
    const big = 'x'.repeat(10_000);
    const rows = personRows(120).map((r, i) => ({ ...r, fields: { ...r.fields, bio: i === 7 ? 'y'.repeat(40_000) : big } }));
    const outcomes = await write(fake, { object: 'people', op: 'upsert', rows });
    expect(outcomes[7]).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/at most 32 KB per person/) });
    expect(outcomes.filter((o) => o.status === 'ok')).toHaveLength(119);
    expect(fake.people.size).toBe(119);
    expect(fake.server.stats.accepted).toBe(3); // 119 × ~10 KB in requests of at most 500 KB
    expect(fake.server.refusals).toEqual([]);
  });

  test('segment adds go 1,000 ids a request, by id or by email; removal and mirror delete work', async () => {
    const segmentId = String(fake.createSegment());
    await write(fake, { object: 'people', op: 'upsert', rows: personRows(2500) });
    const before = fake.server.stats.accepted;
    await write(fake, { object: 'segment_members', op: 'add', rows: personRows(2500), options: { segmentId } });
    expect(fake.server.stats.accepted - before).toBe(3);
    expect(fake.segments.get(Number(segmentId))!.size).toBe(2500);
    await write(fake, { object: 'segment_members', op: 'remove', rows: [{ key: 'P1@example.com', fields: {} }], options: { segmentId, idType: 'email' } });
    expect(fake.segments.get(Number(segmentId))!.has('person-1')).toBe(false);
    await write(fake, { object: 'people', op: 'delete', rows: personRows(2) });
    expect(fake.people.has('person-0')).toBe(false);
    expect(fake.segments.get(Number(segmentId))!.size).toBe(2498);
    await expect(write(fake, { object: 'segment_members', op: 'add', rows: personRows(1), options: { segmentId: '999' } })).rejects.toMatchObject({ failure: 'config' });
  });

  test('over 100 requests a second → 429 with Retry-After → rate_limited with the wait', async () => {
    await fake.close();
    fake = await startCustomerioFake({ rateLimit: { count: 2, perMs: 2000 } });
    await write(fake, { object: 'people', op: 'upsert', rows: personRows(1) });
    await write(fake, { object: 'people', op: 'upsert', rows: personRows(1) });
    const error = (await write(fake, { object: 'people', op: 'upsert', rows: personRows(1) }).catch((e: unknown) => e)) as ConnectorError;
    expect(error).toMatchObject({ failure: 'rate_limited', httpStatus: 429, retryAfterMs: 2000 });
  });

  test('consent: withdrawal unsubscribes; nobody is re-subscribed, also after unsubscribing in Customer.io', async () => {
    const row = (id: string, consent: string | boolean, plan: string): OutboundRow => ({ key: id, fields: { plan, email_consent: consent } });
    await write(fake, { object: 'people', op: 'upsert', rows: [row('a', true, '1'), row('b', 'granted', '1')] });
    await write(fake, { object: 'people', op: 'upsert', rows: [row('a', 'withdrawn', '2')] });
    fake.unsubscribeInCustomerio('b');
    await write(fake, { object: 'people', op: 'upsert', rows: [row('a', 'granted', '3'), row('b', true, '3')] });
    for (const id of ['a', 'b']) {
      const person = fake.people.get(id)!;
      expect([id, person.attributes.unsubscribed, person.attributes.plan, person.unsubscribedHistory]).toEqual([id, true, '3', [true]]);
    }
    const refused = await write(fake, { object: 'people', op: 'upsert', rows: [{ key: 'a', fields: { unsubscribed: false } }] });
    expect(refused[0]).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/never re-subscribes/) });
    expect(fake.people.get('a')!.attributes.unsubscribed).toBe(true);
    expect(customerioConsent({ email_consent: 'perhaps' })).toEqual({ error: expect.stringMatching(/neither a yes nor a no/) });
  });

  test('the fake is a real gate: unknown actions, 1,001 ids, an oversized body are refused and change nothing', async () => {
    const auth = `Basic ${Buffer.from(`${fake.siteId}:${fake.apiKey}`).toString('base64')}`;
    const post = (path: string, body: unknown) => fetch(`${fake.url}${path}`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const unknownAction = await post('/api/v2/batch', { batch: [{ type: 'person', identifiers: { id: 'a' }, action: 'merge' }] });
    expect(unknownAction.status).toBe(207);
    expect(await unknownAction.json()).toMatchObject({ errors: [{ batch_index: 0, reason: 'invalid' }] });
    const wrapper = await post('/api/v2/batch', { people: [] });
    expect(wrapper.status).toBe(400);
    const segmentId = fake.createSegment();
    const tooMany = await post(`/api/v1/segments/${segmentId}/add_customers?id_type=id`, { ids: Array.from({ length: 1001 }, (_, i) => `x${i}`) });
    expect(tooMany.status).toBe(400);
    expect(await tooMany.json()).toMatchObject({ meta: { error: expect.stringMatching(/at most 1000 ids/) } });
    const huge = await post('/api/v2/batch', { batch: Array.from({ length: 30 }, (_, i) => ({ type: 'person', identifiers: { id: `h${i}` }, action: 'identify', attributes: { bio: 'z'.repeat(20_000) } })) });
    expect(huge.status).toBe(413);
    expect(fake.people.size).toBe(0);
  });
});

// ============================================================================ three runs through the engine

describe('three runs of a 5,000-person audience through the sync engine, with 429s and 5xx', () => {
  let fake: CustomerioFake;
  let fx: EngineFixture<Person>;
  afterEach(async () => {
    await fx?.cleanup();
    await fake?.close();
  });

  test('people (attributes, consent) and a manual segment end equal to the audience; rejected rows carry Customer.io reasons', async () => {
    fake = await startCustomerioFake({ seed: 3, tooManyRate: 0.15, serverErrorRate: 0.15, retryAfterSeconds: 0, rateLimit: { count: 100_000, perMs: 1000 }, rejectPerson: (id) => (id.endsWith('13@example.com') ? 'identifier is suppressed' : undefined) });
    const segmentId = fake.createSegment();
    fx = await openEngine<Person>(
      {
        'destinations.yml': 'cio:\n  type: customerio\n  config: { siteId: "${CIO_SITE}", apiKey: "${CIO_KEY}", baseUrl: "${CIO_URL}" }\n',
        'syncs/people.yml': [
          'source: { table: $SCHEMA.audience }',
          'destination: cio',
          'object: people',
          'mode: mirror',
          'key: email',
          'mapping: { email: email, first_name: first_name, tier: "{{lower tier}}", score: score, email_consent: consent }',
          'options: { max_attempts: 8, timeout_ms: 5000, max_deletion_share: 1 }',
        ].join('\n'),
        'syncs/vips.yml': [
          'source: { table: $SCHEMA.vips }',
          'destination: cio',
          'object: segment_members',
          'mode: add_remove',
          'key: email',
          'mapping: { email: email }',
          `object_options: { segmentId: ${segmentId} }`,
          'options: { max_attempts: 8, timeout_ms: 5000, max_deletion_share: 1 }',
        ].join('\n'),
      },
      { CIO_SITE: fake.siteId, CIO_KEY: fake.apiKey, CIO_URL: fake.url },
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
      expect((await fx.run('people')).status).toBe('success');
      expect((await fx.run('vips')).status).toBe('success');
    }
    const final = runs[2]!;
    const blocked = (email: string) => email.endsWith('13@example.com');
    expect(new Set(fake.people.keys())).toEqual(new Set(final.map((p) => p.email).filter((e) => !blocked(e))));
    for (const p of final) {
      if (blocked(p.email)) continue;
      expect({ id: p.email, ...fake.people.get(p.email)!.attributes }).toEqual({
        id: p.email,
        email: p.email,
        first_name: p.first_name,
        tier: p.tier.toLowerCase(),
        score: p.score,
        ...(p.consent === 'granted' ? {} : { unsubscribed: true }),
      });
    }
    expect(fake.segments.get(segmentId)).toEqual(new Set(final.filter((p) => p.tier === 'VIP' && !blocked(p.email)).map((p) => p.email)));
    const rejected = await rejectedRows(fx.wh.warehouse, fx.targets.get('people')!.tables);
    const rejectedKeys = new Set(rejected.rows.map((r) => r.key));
    for (const email of final.map((p) => p.email).filter(blocked)) expect(rejectedKeys.has(email)).toBe(true);
    for (const row of rejected.rows) expect([blocked(row.key), row.reason]).toEqual([true, 'identifier is suppressed']);
    expect(fake.server.stats.tooMany + fake.server.stats.serverErrors).toBeGreaterThan(5);
    expect(fake.server.refusals).toEqual([]);
  }, 60_000);
});
