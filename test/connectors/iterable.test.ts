/**
 * The iterable connector against `startIterableFake` (test/fakes/iterable-fake.ts), which
 * validates every request against Iterable's published Swagger spec. The conformance suite
 * runs for both objects; the rest covers failedUpdates mapped to rows, the 4 MB cut, channel
 * unsubscribes for withdrawn consent, forgotten users, auth hints, the bulkUpdate rate limit —
 * and three runs of a 5,000-person audience through the real sync engine with 429s and 5xx.
 */
import iterable, { chunkBySize, discoverIterableFields, discoverIterableLists } from '../../connectors/iterable';
import { ConnectorError, createConnectorContext, type BatchOp, type OutboundRow, type RowOutcome } from '../../connectors/kit';
import { rejectedRows } from '../../src/sync';
import { startIterableFake, type IterableFake } from '../fakes/iterable-fake';
import { describeConnectorConformance, type ConnectorFake } from './conformance';
import { openEngine, type EngineFixture } from './engine-harness';

const roomy = { count: 1000, perMs: 1000 };

function rows(count: number, variant = 0, offset = 0): OutboundRow[] {
  return Array.from({ length: count }, (_, i) => ({ key: `person${i + offset}@example.com`, fields: { firstName: `First${i + offset}`, plan: `plan-v${variant}` } }));
}

async function conformanceFake(object: 'users' | 'list_members'): Promise<ConnectorFake<typeof iterable.config>> {
  const fake = await startIterableFake({ bulkRate: roomy });
  const listId = fake.createList('conformance');
  return {
    config: { apiKey: fake.apiKey, baseUrl: fake.url },
    badCredentialsConfig: { apiKey: 'wrong', baseUrl: fake.url },
    object,
    options: object === 'list_members' ? { listId } : {},
    rows: (count, variant = 0) => rows(count, variant),
    invalidRow: () => ({ key: 'a..b@example.com', fields: { firstName: 'Bad' } }),
    records: async () => {
      const members = object === 'list_members' ? new Set(fake.listMembers(listId)) : undefined;
      return new Map(fake.users().filter((u) => !members || members.has(u.email)).map((u) => [u.email, u.dataFields]));
    },
    failNext: (count, status) => fake.failNext(count, status, status === 429 ? 1 : undefined),
    close: async () => {
      expect(fake.validationFailures()).toEqual([]);
      await fake.close();
    },
  };
}

describe('users', () => describeConnectorConformance(iterable, () => conformanceFake('users')));
describe('list_members', () => describeConnectorConformance(iterable, () => conformanceFake('list_members')));

describe('iterable connector against the spec-validating fake', () => {
  let fake: IterableFake;
  let listId: string;
  const ctx = (config: Record<string, unknown> = {}) => createConnectorContext('iterable', iterable.config.parse({ apiKey: fake.apiKey, baseUrl: fake.url, ...config }), { timeoutMs: 5_000 });
  const write = (object: string, op: BatchOp, batchRows: OutboundRow[], options: Record<string, string> = { listId }) => iterable.write(ctx(), { object, op, rows: batchRows, options });
  const statuses = (outcomes: RowOutcome[]) => outcomes.map((o) => o.status);

  beforeEach(async () => {
    fake = await startIterableFake({ bulkRate: roomy });
    listId = fake.createList('newsletter');
  });
  afterEach(async () => {
    expect(fake.validationFailures()).toEqual([]);
    expect(fake.responseValidationFailures().map((r) => `${r.method} ${r.path}: ${r.responseErrors.join('; ')}`)).toEqual([]);
    await fake.close();
  });

  test('failedUpdates reject exactly the rows they name, with the kind of failure', async () => {
    fake.forget('person2@example.com');
    fake.setInvalidData((email) => email === 'person4@example.com');
    const outcomes = await write('list_members', 'add', [...rows(5), { key: 'x..y@example.com', fields: {} }]);
    expect(statuses(outcomes)).toEqual(['ok', 'ok', 'rejected', 'ok', 'rejected', 'rejected']);
    expect(outcomes[2]).toEqual({ status: 'rejected', reason: 'Iterable: the user was forgotten (GDPR) and may not be re-created' });
    expect(outcomes[4]).toEqual({ status: 'rejected', reason: 'Iterable: a data field has a value of the wrong type for the project’s schema' });
    expect(outcomes[5]).toEqual({ status: 'rejected', reason: 'Iterable: invalid email address' });
    expect(fake.listMembers(listId)).toEqual(['person0@example.com', 'person1@example.com', 'person3@example.com']);
    expect(fake.user('person2@example.com')).toBeUndefined();
  });

  test('remove unsubscribes from the list only; unknown people are ok; the users stay subscribed to the channel', async () => {
    await write('list_members', 'add', rows(4));
    const outcomes = await write('list_members', 'remove', [...rows(2), { key: 'never@example.com', fields: {} }]);
    expect(statuses(outcomes)).toEqual(['ok', 'ok', 'ok']);
    expect(fake.listMembers(listId)).toEqual(['person2@example.com', 'person3@example.com']);
    expect(fake.user('person0@example.com')!.emailUnsubscribed).toBe(false);
  });

  test('consent: a withdrawn row gets its attributes, leaves the list with a channel unsubscribe, and is never subscribed again', async () => {
    await write('list_members', 'upsert', rows(3));
    const withdrawn = { key: 'person1@example.com', fields: { firstName: 'First1', plan: 'changed', email_consent: false } };
    expect(statuses(await write('list_members', 'upsert', [withdrawn]))).toEqual(['ok']);
    expect(fake.user('person1@example.com')).toMatchObject({ emailUnsubscribed: true, dataFields: { plan: 'changed' } });
    expect(fake.listMembers(listId)).toEqual(['person0@example.com', 'person2@example.com']);
    await write('list_members', 'upsert', [{ ...withdrawn, fields: { ...withdrawn.fields, plan: 'again', email_consent: 'denied' } }]);
    expect(fake.listMembers(listId)).toEqual(['person0@example.com', 'person2@example.com']);
    expect(fake.user('person1@example.com')!.dataFields).toEqual({ firstName: 'First1', plan: 'again' });
    const subscribes = fake.requests.filter((r) => r.path === '/api/lists/subscribe');
    expect(subscribes.slice(1).some((r) => JSON.stringify(r.body).includes('person1@'))).toBe(false);
  });

  test('requests are cut at 4 MB', async () => {
    expect(chunkBySize(Array.from({ length: 3 }, () => ({ bytes: 2 * 1024 * 1024 }))).map((c) => c.length)).toEqual([1, 1, 1]);
    const heavy = Array.from({ length: 30 }, (_, i) => ({ key: `h${i}@example.com`, fields: { notes: 'x'.repeat(300_000) } }));
    const outcomes = await write('users', 'upsert', heavy, {});
    expect(outcomes.every((o) => o.status === 'ok')).toBe(true);
    expect(fake.requests.filter((r) => r.path === '/api/users/bulkUpdate' && r.status === 200)).toHaveLength(3);
    expect(fake.users()).toHaveLength(30);
  });

  test('field and list discovery', async () => {
    await write('users', 'upsert', [{ key: 'a@example.com', fields: { ltv: 3, vip: true } }], {});
    expect(await discoverIterableFields(ctx())).toEqual(expect.arrayContaining([{ name: 'ltv', type: 'double' }, { name: 'vip', type: 'boolean' }]));
    expect(await discoverIterableLists(ctx())).toEqual([{ id: listId, name: 'newsletter' }]);
  });

  test('auth, rate limit, 5xx and an unknown list each fail the right way', async () => {
    const bad = await iterable.check(ctx({ apiKey: 'nope' })).catch((e: unknown) => e);
    expect(bad).toMatchObject({ failure: 'auth', httpStatus: 401 });
    expect((bad as ConnectorError).hint).toMatch(/server-side.*EU project/);
    fake.setBulkRate({ count: 1, perMs: 60_000 });
    await write('users', 'upsert', rows(1), {});
    await expect(write('users', 'upsert', rows(1), {})).rejects.toMatchObject({ failure: 'rate_limited', retryAfterMs: 1000 });
    fake.failNext(1, 502);
    await expect(write('list_members', 'add', rows(1))).rejects.toMatchObject({ failure: 'transient' });
    await expect(write('list_members', 'add', rows(1), { listId: '9' })).rejects.toMatchObject({ failure: 'config' });
  });

  test('the fake is a real gate: a request the spec forbids gets 400 and changes nothing', async () => {
    const response = await fetch(`${fake.url}/api/lists/subscribe`, {
      method: 'POST',
      headers: { 'api-key': fake.apiKey, 'content-type': 'application/json' },
      body: JSON.stringify({ listId: String(listId), subscribers: [{ email: 'x@example.com', fields: {} }] }),
    });
    expect(response.status).toBe(400);
    const reasons = fake.validationFailures().map((r) => r.validationErrors.join('; '));
    expect(reasons[0]).toMatch(/body.listId: expected integer[\s\S]*body.subscribers\[0\].fields: unknown property/);
    expect(fake.users()).toEqual([]);
    fake.requests.length = 0; // refused on purpose
  });
});

// ---------------------------------------------------------------------------------------
// Three runs through the real engine

interface Person {
  email: string;
  first_name: string;
  plan: string;
  consent: string;
}

describe('iterable through the sync engine', () => {
  let fake: IterableFake;
  let fx: EngineFixture<Person>;
  let listId: string;

  beforeAll(async () => {
    fake = await startIterableFake({ bulkRate: { count: 5, perMs: 1000 } });
    listId = fake.createList('vip');
    const config = { apiKey: fake.apiKey, baseUrl: fake.url };
    fx = await openEngine<Person>(
      {
        'destinations.yml': `it:\n  type: iterable\n  config: ${JSON.stringify(config)}\n  limits: { batch_rows: 500, concurrency: 2, requests_per_second: 20 }\n`,
        'consent.yml': 'purposes:\n  email_marketing: { column: consent, granted: [granted] }\n',
        'syncs/vip.yml': [
          'source: { table: $SCHEMA.audience }',
          'destination: it',
          'object: list_members',
          'mode: mirror',
          'key: email',
          'mapping: { email: email, firstName: first_name, plan: plan }',
          'purpose: email_marketing',
          `object_options: { listId: "${listId}" }`,
          'options: { max_attempts: 8, timeout_ms: 5000, max_deletion_share: 0.9 }',
        ].join('\n'),
      },
      {},
      // The breaker stays armed and a run is retried at most 4 times, as before the harness.
      { columns: ['email', 'first_name', 'plan', 'consent'], reruns: 4, allowDeletions: false },
    );
  });
  afterAll(async () => {
    await fx?.cleanup();
    await fake?.close();
  });

  function expectFakeEqualsAudience(people: Person[], rejectedKeys: Set<string>): void {
    const expected = new Map(people.filter((p) => p.consent === 'granted' && !rejectedKeys.has(p.email)).map((p) => [p.email, { firstName: p.first_name, plan: p.plan }]));
    expect(fake.listMembers(listId)).toEqual([...expected.keys()].sort());
    const members = new Set(fake.listMembers(listId));
    expect(new Map(fake.users().filter((u) => members.has(u.email)).map((u) => [u.email, u.dataFields]))).toEqual(expected);
  }
  const person = (i: number, over: Partial<Person> = {}): Person => ({ email: `p${i}@example.com`, first_name: `Name${i}`, plan: i % 4 === 0 ? 'pro' : 'free', consent: i % 10 === 0 ? 'denied' : 'granted', ...over });

  test('5,000 people over three runs with 429s and 5xx: list members and dataFields equal the audience; rejected rows carry Iterable’s reason', async () => {
    fake.forget('p77@example.com');
    let audience = Array.from({ length: 5000 }, (_, i) => person(i));
    await fx.setAudience(audience);
    fake.failNext(2, 503);
    let result = await fx.run('vip');
    expect(result.status).toBe('success');
    expectFakeEqualsAudience(audience, new Set(['p77@example.com']));
    const rejected = await rejectedRows(fx.wh.warehouse, fx.targets.get('vip')!.tables);
    expect(rejected.rows.map((r) => [r.key, r.reason])).toEqual([['p77@example.com', 'Iterable: the user was forgotten (GDPR) and may not be re-created']]);

    audience = Array.from({ length: 5400 }, (_, i) => person(i, { plan: i % 6 === 0 ? 'enterprise' : i % 4 === 0 ? 'pro' : 'free', consent: i % 10 === 0 || i % 13 === 2 ? 'denied' : 'granted' })).filter((_, i) => i % 7 !== 1);
    await fx.setAudience(audience);
    fake.failNext(3, 429, 1);
    fake.failNext(1, 500);
    result = await fx.run('vip');
    expect(result.status).toBe('success');
    expectFakeEqualsAudience(audience, new Set(['p77@example.com']));

    audience = Array.from({ length: 5400 }, (_, i) => person(i, { first_name: i % 3 === 0 ? `Renamed${i}` : `Name${i}`, consent: i % 10 === 0 || i % 13 === 2 ? 'denied' : 'granted' })).filter((_, i) => i % 11 !== 4);
    await fx.setAudience(audience);
    fake.failNext(1, 502);
    result = await fx.run('vip');
    expect(result.status).toBe('success');
    expectFakeEqualsAudience(audience, new Set(['p77@example.com']));
    expect(fake.requests.filter((r) => r.status === 429).length).toBeGreaterThan(0);
    expect(fake.validationFailures()).toEqual([]);
  });
});
