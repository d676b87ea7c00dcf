/**
 * The klaviyo connector against `startKlaviyoFake` (test/fakes/klaviyo-fake.ts), which
 * validates every request — body, JSON:API content type and `revision` header — against
 * Klaviyo's published OpenAPI spec. The conformance suite runs for both objects; the rest
 * covers bulk import jobs and import-errors, 5 MB / 10,000 cuts, list removal, email
 * consent (unsubscribe, never re-subscribe), auth hints, 429 Retry-After — and three runs
 * of a 5,000-person audience through the real sync engine with 429s and 5xx injected.
 */
import klaviyo, { attributeErrors, chunkProfiles, discoverKlaviyoLists, klaviyoFields } from '../../connectors/klaviyo';
import { ConnectorError, createConnectorContext, type BatchOp, type OutboundRow, type RowOutcome } from '../../connectors/kit';
import { rejectedRows } from '../../src/sync';
import { KLAVIYO_REVISION, startKlaviyoFake, type KlaviyoFake } from '../fakes/klaviyo-fake';
import { describeConnectorConformance, type ConnectorFake } from './conformance';
import { openEngine, type EngineFixture } from './engine-harness';

const fast = { jobPollMs: 15, jobTimeoutMs: 5_000 };
const roomy = { burst: { count: 1000, perMs: 1000 }, steady: { count: 100_000, perMs: 60_000 } };

function rows(count: number, variant = 0, offset = 0): OutboundRow[] {
  return Array.from({ length: count }, (_, i) => ({ key: `person${i + offset}@example.com`, fields: { first_name: `First${i + offset}`, plan: `plan-v${variant}` } }));
}

async function conformanceFake(object: 'profiles' | 'list_members'): Promise<ConnectorFake<typeof klaviyo.config>> {
  const fake = await startKlaviyoFake({ jobDelayMs: 5, ...roomy });
  const listId = fake.createList('conformance');
  return {
    config: { privateKey: fake.privateKey, baseUrl: fake.url, ...fast },
    badCredentialsConfig: { privateKey: 'pk_wrong', baseUrl: fake.url, ...fast },
    object,
    options: object === 'list_members' ? { listId } : {},
    rows: (count, variant = 0) => rows(count, variant),
    invalidRow: () => ({ key: 'not-an-email', fields: { first_name: 'Bad' } }),
    records: async () => {
      const members = object === 'list_members' ? new Set(fake.listMembers(listId)) : undefined;
      return new Map(fake.profiles().filter((p) => !members || members.has(p.email)).map((p) => [p.email, { ...p.attributes, ...p.location, ...p.properties }]));
    },
    failNext: (count, status) => fake.failNext(count, status, status === 429 ? 1 : undefined),
    close: async () => {
      expect(fake.validationFailures()).toEqual([]);
      await fake.close();
    },
  };
}

describe('profiles', () => describeConnectorConformance(klaviyo, () => conformanceFake('profiles')));
describe('list_members', () => describeConnectorConformance(klaviyo, () => conformanceFake('list_members')));

describe('klaviyo connector against the spec-validating fake', () => {
  let fake: KlaviyoFake;
  let listId: string;
  const ctx = (config: Record<string, unknown> = {}) => createConnectorContext('klaviyo', klaviyo.config.parse({ privateKey: fake.privateKey, baseUrl: fake.url, ...fast, ...config }), { timeoutMs: 5_000 });
  const write = (object: string, op: BatchOp, batchRows: OutboundRow[], options: Record<string, string> = { listId }) => klaviyo.write(ctx(), { object, op, rows: batchRows, options });
  const statuses = (outcomes: RowOutcome[]) => outcomes.map((o) => o.status);

  beforeEach(async () => {
    fake = await startKlaviyoFake({ jobDelayMs: 20, ...roomy });
    listId = fake.createList('newsletter');
  });
  afterEach(async () => {
    expect(fake.validationFailures()).toEqual([]);
    expect(fake.responseValidationFailures().map((r) => `${r.method} ${r.path}: ${r.responseErrors.join('; ')}`)).toEqual([]);
    await fake.close();
  });

  test('list add is one import job with the list; rows are ok only after the job completed', async () => {
    fake.setJobDelay(80);
    const outcomes = await write('list_members', 'add', rows(30));
    expect(statuses(outcomes)).toEqual(Array(30).fill('ok'));
    expect(fake.listMembers(listId)).toHaveLength(30);
    expect(fake.requests.filter((r) => r.operation === '/api/profile-bulk-import-jobs/{job_id}').length).toBeGreaterThan(1);
    const post = fake.requests.find((r) => r.method === 'POST')!;
    expect(post.body).toMatchObject({ data: { type: 'profile-bulk-import-job', relationships: { lists: { data: [{ type: 'list', id: listId }] } } } });
  });

  test('a job still running at the timeout leaves its rows to retry', async () => {
    fake.setJobDelay(10_000);
    const outcomes = await klaviyo.write(ctx({ jobTimeoutMs: 60 }), { object: 'profiles', op: 'upsert', rows: rows(2), options: {} });
    expect(statuses(outcomes)).toEqual(['retry', 'retry']);
  });

  test('import-errors reject exactly the rows they point at, with Klaviyo’s detail (paged past 100)', async () => {
    fake.setRecordFault((email) => (/^person1\d\d@/.test(email) || email === 'person7@example.com' ? 'Profile is suppressed for spam complaints' : undefined));
    const outcomes = await write('list_members', 'add', rows(250));
    const rejectedAt = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [i] : []));
    expect(rejectedAt).toEqual([7, ...Array.from({ length: 100 }, (_, i) => 100 + i)]);
    expect(outcomes[7]).toEqual({ status: 'rejected', reason: 'Klaviyo: Profile is suppressed for spam complaints (email)' });
    expect(fake.listMembers(listId)).toHaveLength(149);
    expect(fake.requests.filter((r) => r.operation === '/api/profile-bulk-import-jobs/{id}/import-errors')).toHaveLength(2);
  });

  test('import errors are matched by pointer, else by the original payload’s email', () => {
    const chunk = [{ index: 4, email: 'a@x.com' }, { index: 9, email: 'b@x.com' }];
    const reasons = attributeErrors(
      [
        { code: 'invalid', title: 'Invalid', detail: 'bad phone', source: { pointer: '/data/attributes/profiles/data/1/attributes/phone_number' } },
        { code: 'invalid', title: 'Invalid', detail: 'other', source: { pointer: null }, original_payload: { email: 'A@x.com' } },
      ],
      chunk,
    );
    expect(reasons).toEqual(new Map([[9, 'bad phone (phone_number)'], [4, 'other']]));
  });

  test('standard, location and custom fields; null unsets a custom property; phones must be E.164', async () => {
    await write('profiles', 'upsert', [{ key: 'a@example.com', fields: { first_name: 'Ann', city: 'Oslo', tier: 'gold', ltv: 12.5, phone_number: '+47 912 34 567' } }], {});
    expect(fake.profile('a@example.com')).toMatchObject({ attributes: { first_name: 'Ann', phone_number: '+4791234567' }, location: { city: 'Oslo' }, properties: { tier: 'gold', ltv: 12.5 } });
    const outcomes = await write('profiles', 'upsert', [{ key: 'a@example.com', fields: { tier: null } }, { key: 'b@example.com', fields: { phone_number: '912' } }], {});
    expect(outcomes[1]).toEqual({ status: 'rejected', reason: 'phone_number "912" is not an E.164 number (+ and country code)' });
    expect(fake.profile('a@example.com')!.properties).toEqual({ ltv: 12.5 });
    expect(klaviyoFields().map((f) => f.name)).toContain('first_name');
    expect(await discoverKlaviyoLists(ctx())).toEqual([{ id: listId, name: 'newsletter' }]);
  });

  test('requests are cut at 5 MB and 10,000 profiles; a profile over 100 KB is rejected before sending', async () => {
    expect(chunkProfiles(Array.from({ length: 4 }, () => ({ bytes: 2 * 1024 * 1024 }))).map((c) => c.length)).toEqual([2, 2]);
    expect(chunkProfiles(Array.from({ length: 10_001 }, () => ({ bytes: 1 }))).map((c) => c.length)).toEqual([10_000, 1]);
    const heavy = Array.from({ length: 60 }, (_, i) => ({ key: `h${i}@example.com`, fields: { notes: 'x'.repeat(90_000) } }));
    const outcomes = await write('profiles', 'upsert', [...heavy, { key: 'huge@example.com', fields: { notes: 'x'.repeat(110_000) } }], {});
    expect(outcomes.slice(0, 60).every((o) => o.status === 'ok')).toBe(true);
    expect(outcomes[60]).toEqual({ status: 'rejected', reason: 'the profile is 108 KB; Klaviyo accepts at most 100 KB per profile' });
    expect(fake.requests.filter((r) => r.method === 'POST' && r.status === 202)).toHaveLength(2);
  });

  test('remove takes profiles off the list by email lookup; the profiles and their consent stay', async () => {
    await write('list_members', 'add', rows(5), { listId, subscribe: 'true' });
    fake.flushJobs();
    const outcomes = await write('list_members', 'remove', [...rows(2), { key: 'never@example.com', fields: {} }]);
    expect(statuses(outcomes)).toEqual(['ok', 'ok', 'ok']);
    fake.flushJobs();
    expect(fake.listMembers(listId)).toEqual(['person2@example.com', 'person3@example.com', 'person4@example.com']);
    expect(fake.profile('person0@example.com')!.emailMarketing).toBe('SUBSCRIBED');
    const del = fake.requests.find((r) => r.method === 'DELETE')!;
    expect(del.body).toEqual({ data: [expect.objectContaining({ type: 'profile' }), expect.objectContaining({ type: 'profile' })] });
  });

  test('consent: a withdrawn profile is unsubscribed and taken off the list, and later writes never subscribe it again', async () => {
    await write('list_members', 'upsert', rows(3), { listId, subscribe: 'true' });
    fake.flushJobs();
    expect(fake.profile('person1@example.com')!.emailMarketing).toBe('SUBSCRIBED');
    const withdrawn = { key: 'person1@example.com', fields: { first_name: 'First1', plan: 'x', email_consent: 'withdrawn' } };
    expect(statuses(await write('list_members', 'upsert', [withdrawn], { listId, subscribe: 'true' }))).toEqual(['ok']);
    fake.flushJobs();
    expect(fake.profile('person1@example.com')!.emailMarketing).toBe('UNSUBSCRIBED');
    expect(fake.listMembers(listId)).toEqual(['person0@example.com', 'person2@example.com']);
    // Attributes change later, consent still withdrawn: attributes reach Klaviyo, the subscription does not come back.
    await write('profiles', 'upsert', [{ ...withdrawn, fields: { ...withdrawn.fields, plan: 'y', email_consent: false } }], { subscribe: 'true' });
    await write('list_members', 'upsert', [{ ...withdrawn, fields: { ...withdrawn.fields, plan: 'z', email_consent: false } }], { listId, subscribe: 'true' });
    fake.flushJobs();
    const person = fake.profile('person1@example.com')!;
    expect(person.emailMarketing).toBe('UNSUBSCRIBED');
    expect(person.properties).toEqual({ plan: 'z' });
    expect(fake.listMembers(listId)).toEqual(['person0@example.com', 'person2@example.com']);
    const subscribes = fake.requests.filter((r) => r.path === '/api/profile-subscription-bulk-create-jobs');
    expect(subscribes.some((r) => JSON.stringify(r.body).includes('person1@'))).toBe(true); // only the first write, before withdrawal
    expect(subscribes.slice(1).some((r) => JSON.stringify(r.body).includes('person1@'))).toBe(false);
  });

  test('unsubscribeOnRemove: a removal unsubscribes (Klaviyo’s delete job also leaves the list)', async () => {
    await write('list_members', 'add', rows(2), { listId, subscribe: 'true' });
    fake.flushJobs();
    await write('list_members', 'remove', rows(1), { listId, unsubscribeOnRemove: 'true' });
    fake.flushJobs();
    expect(fake.profile('person0@example.com')!.emailMarketing).toBe('UNSUBSCRIBED');
    expect(fake.listMembers(listId)).toEqual(['person1@example.com']);
  });

  test('auth: an invalid key and a key without scopes each get a clear hint', async () => {
    const bad = await klaviyo.check(ctx({ privateKey: 'pk_nope' })).catch((e: unknown) => e);
    expect(bad).toMatchObject({ failure: 'auth', httpStatus: 401 });
    expect((bad as ConnectorError).message).toMatch(/The API key specified is invalid/);
    const scopeless = await klaviyo.check(ctx({ privateKey: fake.scopelessKey })).catch((e: unknown) => e);
    expect(scopeless).toMatchObject({ failure: 'auth', httpStatus: 403 });
    expect((scopeless as ConnectorError).message).toMatch(/missing required scopes/);
    expect((scopeless as ConnectorError).hint).toMatch(/profiles:write/);
  });

  test('429 from the burst window carries Klaviyo’s Retry-After; 5xx is transient; an unknown list is config', async () => {
    fake.setLimits({ count: 1, perMs: 1000 }, { count: 100, perMs: 60_000 });
    await klaviyo.check(ctx());
    const limited = await klaviyo.check(ctx()).catch((e: unknown) => e);
    expect(limited).toMatchObject({ failure: 'rate_limited', retryAfterMs: 1000 });
    fake.setLimits(roomy.burst, roomy.steady);
    fake.failNext(1, 503);
    await expect(write('profiles', 'upsert', rows(1), {})).rejects.toMatchObject({ failure: 'transient' });
    await expect(write('list_members', 'add', rows(1), { listId: 'nolist' })).rejects.toMatchObject({ failure: 'config' });
  });

  test('the fake is a real gate: without the revision header, or as plain JSON, the spec refuses', async () => {
    const body = JSON.stringify({ data: { type: 'profile-bulk-import-job', attributes: { profiles: { data: [{ type: 'profile', attributes: { email: 'x@example.com' } }] } } } });
    const auth = `Klaviyo-API-Key ${fake.privateKey}`;
    const noRevision = await fetch(`${fake.url}/api/profile-bulk-import-jobs`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/vnd.api+json' }, body });
    const plainJson = await fetch(`${fake.url}/api/profile-bulk-import-jobs`, { method: 'POST', headers: { authorization: auth, revision: KLAVIYO_REVISION, 'content-type': 'application/json' }, body });
    const wrongType = await fetch(`${fake.url}/api/profile-bulk-import-jobs`, { method: 'POST', headers: { authorization: auth, revision: KLAVIYO_REVISION, 'content-type': 'application/vnd.api+json' }, body: body.replace('"profile-bulk-import-job"', '"profile-import"') });
    expect([noRevision.status, plainJson.status, wrongType.status]).toEqual([400, 400, 400]);
    const reasons = fake.validationFailures().map((r) => r.validationErrors.join('; '));
    expect(reasons[0]).toMatch(/header revision is required/);
    expect(reasons[1]).toMatch(/content-type must be application\/vnd.api\+json/);
    expect(reasons[2]).toMatch(/body.data.type: "profile-import" is not one of/);
    expect(fake.profiles()).toEqual([]);
    fake.requests.length = 0; // refused on purpose
  });
});

// ---------------------------------------------------------------------------------------
// Three runs through the real engine

interface Person {
  email: string;
  first_name: string;
  city: string;
  plan: string;
  consent: string;
}

describe('klaviyo through the sync engine', () => {
  let fake: KlaviyoFake;
  let fx: EngineFixture<Person>;
  let listId: string;

  beforeAll(async () => {
    // Klaviyo's real burst window (10/s) and a steady window of the L tier (700/min); the
    // engine's budget matches the burst (jitter between the two windows still yields some 429s).
    fake = await startKlaviyoFake({ jobDelayMs: 15, burst: { count: 10, perMs: 1000 }, steady: { count: 700, perMs: 60_000 } });
    listId = fake.createList('vip');
    const config = { privateKey: fake.privateKey, baseUrl: fake.url, jobPollMs: 30, jobTimeoutMs: 20_000 };
    fx = await openEngine<Person>(
      {
        'destinations.yml': `kl:\n  type: klaviyo\n  config: ${JSON.stringify(config)}\n  limits: { batch_rows: 1000, concurrency: 3, requests_per_second: 10 }\n`,
        'consent.yml': 'purposes:\n  email_marketing: { column: consent, granted: [granted] }\n',
        'syncs/vip.yml': [
          'source: { table: $SCHEMA.audience }',
          'destination: kl',
          'object: list_members',
          'mode: mirror',
          'key: email',
          'mapping: { email: email, first_name: first_name, city: city, plan: plan }',
          'purpose: email_marketing',
          `object_options: { listId: "${listId}" }`,
          'options: { max_attempts: 8, timeout_ms: 10000, max_deletion_share: 0.9 }',
        ].join('\n'),
      },
      {},
      // The breaker stays armed and a run is retried at most 4 times, as before the harness.
      { columns: ['email', 'first_name', 'city', 'plan', 'consent'], reruns: 4, allowDeletions: false },
    );
  });
  afterAll(async () => {
    await fx?.cleanup();
    await fake?.close();
  });

  function expectFakeEqualsAudience(people: Person[], rejectedKeys: Set<string>): void {
    const expected = new Map(people.filter((p) => p.consent === 'granted' && !rejectedKeys.has(p.email)).map((p) => [p.email, { first_name: p.first_name, city: p.city, plan: p.plan }]));
    expect(fake.listMembers(listId)).toEqual([...expected.keys()].sort());
    const members = new Set(fake.listMembers(listId));
    const actual = new Map(fake.profiles().filter((p) => members.has(p.email)).map((p) => [p.email, { first_name: p.attributes.first_name, city: p.location.city, plan: p.properties.plan }]));
    expect(actual).toEqual(expected);
  }
  const person = (i: number, over: Partial<Person> = {}): Person => ({ email: `p${i}@example.com`, first_name: `Name${i}`, city: `City${i % 40}`, plan: i % 4 === 0 ? 'pro' : 'free', consent: i % 10 === 0 ? 'denied' : 'granted', ...over });

  test('5,000 people over three runs with 429s and 5xx: list members and attributes equal the audience; rejected rows carry Klaviyo’s reason', async () => {
    fake.setRecordFault((email) => (email === 'p77@example.com' ? 'Profile is suppressed (hard bounce)' : undefined));
    let audience = Array.from({ length: 5000 }, (_, i) => person(i));
    await fx.setAudience(audience);
    fake.failNext(2, 503);
    let result = await fx.run('vip');
    expect(result.status).toBe('success');
    expectFakeEqualsAudience(audience, new Set(['p77@example.com']));
    const rejected = await rejectedRows(fx.wh.warehouse, fx.targets.get('vip')!.tables);
    expect(rejected.rows.map((r) => [r.key, r.reason])).toEqual([['p77@example.com', 'Klaviyo: Profile is suppressed (hard bounce) (email)']]);

    audience = Array.from({ length: 5400 }, (_, i) => person(i, { plan: i % 6 === 0 ? 'enterprise' : i % 4 === 0 ? 'pro' : 'free', consent: i % 10 === 0 || i % 13 === 2 ? 'denied' : 'granted' })).filter((_, i) => i % 7 !== 1);
    await fx.setAudience(audience);
    fake.failNext(2, 429, 1);
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
