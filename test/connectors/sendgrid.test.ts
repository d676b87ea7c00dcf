/**
 * The sendgrid connector against `startSendgridFake` (test/fakes/sendgrid-fake.ts), which
 * validates every API request against SendGrid's published OpenAPI specs. The conformance
 * suite runs for both objects; the rest covers what is special to SendGrid: async upsert
 * jobs and their error file, 400s naming contacts, 6 MB request cuts, custom fields by
 * name, list removal by email search, consent, auth hints — and three runs of a 5,000-person
 * audience through the real sync engine (runSync on DuckDB) with 429s and 5xx injected.
 * Every test asserts the fake's end state, and that no request was refused by the spec.
 */
import sendgrid, { chunkBySize, discoverSendgridFields, parseErrorsFile } from '../../connectors/sendgrid';
import { ConnectorError, createConnectorContext, type BatchOp, type OutboundRow, type RowOutcome } from '../../connectors/kit';
import { rejectedRows } from '../../src/sync';
import { startSendgridFake, type SendgridFake } from '../fakes/sendgrid-fake';
import { describeConnectorConformance, type ConnectorFake } from './conformance';
import { openEngine, type EngineFixture } from './engine-harness';

const fast = { jobPollMs: 10, jobTimeoutMs: 5_000 };

function rows(count: number, variant = 0, offset = 0): OutboundRow[] {
  return Array.from({ length: count }, (_, i) => ({ key: `person${i + offset}@example.com`, fields: { first_name: `First${i + offset}`, last_name: `Last${i + offset}-v${variant}` } }));
}

async function conformanceFake(object: 'contacts' | 'list_members'): Promise<ConnectorFake<typeof sendgrid.config>> {
  const fake = await startSendgridFake({ jobDelayMs: 5 });
  const listId = fake.createList('conformance');
  return {
    config: { apiKey: fake.apiKey, baseUrl: fake.url, ...fast },
    badCredentialsConfig: { apiKey: 'SG.wrong', baseUrl: fake.url, ...fast },
    object,
    options: object === 'list_members' ? { listId } : {},
    rows: (count, variant = 0) => rows(count, variant),
    invalidRow: () => ({ key: 'not-an-email', fields: { first_name: 'Bad' } }),
    records: async () => {
      const members = object === 'list_members' ? new Set(fake.listMembers(listId)) : undefined;
      return new Map(fake.contacts().filter((c) => !members || members.has(c.email)).map((c) => [c.email, { ...c.fields, ...c.custom }]));
    },
    failNext: (count, status) => fake.failNext(count, status, status === 429 ? 1 : undefined),
    close: async () => {
      expect(fake.validationFailures()).toEqual([]);
      await fake.close();
    },
  };
}

describe('contacts', () => describeConnectorConformance(sendgrid, () => conformanceFake('contacts')));
describe('list_members', () => describeConnectorConformance(sendgrid, () => conformanceFake('list_members')));

describe('sendgrid connector against the spec-validating fake', () => {
  let fake: SendgridFake;
  let listId: string;
  const ctx = (config: Record<string, unknown> = {}) => createConnectorContext('sendgrid', sendgrid.config.parse({ apiKey: fake.apiKey, baseUrl: fake.url, ...fast, ...config }), { timeoutMs: 5_000 });
  const write = (object: string, op: BatchOp, batchRows: OutboundRow[], options: Record<string, string> = { listId }) => sendgrid.write(ctx(), { object, op, rows: batchRows, options });
  const statuses = (outcomes: RowOutcome[]) => outcomes.map((o) => o.status);

  beforeEach(async () => {
    fake = await startSendgridFake({ jobDelayMs: 15 });
    listId = fake.createList('newsletter');
  });
  afterEach(async () => {
    expect(fake.validationFailures()).toEqual([]);
    expect(fake.responseValidationFailures().map((r) => `${r.method} ${r.path}: ${r.responseErrors.join('; ')}`)).toEqual([]);
    await fake.close();
  });

  test('upsert waits for the job: nothing is ok before SendGrid ran it, and the fake then holds the rows', async () => {
    fake.setJobDelay(80);
    const outcomes = await write('list_members', 'add', rows(20));
    expect(statuses(outcomes)).toEqual(Array(20).fill('ok'));
    expect(fake.listMembers(listId)).toHaveLength(20);
    const polls = fake.requests.filter((r) => r.operation === '/v3/marketing/contacts/imports/{id}');
    expect(polls.length).toBeGreaterThan(1);
    expect(fake.jobs().every((j) => j.status === 'completed')).toBe(true);
  });

  test('a job still pending at the timeout leaves its rows to retry (never ok)', async () => {
    fake.setJobDelay(10_000);
    const outcomes = await sendgrid.write(ctx({ jobTimeoutMs: 60 }), { object: 'list_members', op: 'add', rows: rows(3), options: { listId } });
    expect(statuses(outcomes)).toEqual(['retry', 'retry', 'retry']);
    expect(outcomes[0]!.status === 'retry' && outcomes[0]!.reason).toMatch(/still pending/);
  });

  test('job errors from the error file reject exactly the rows they name, with SendGrid’s reason', async () => {
    fake.setRecordFault((email) => (email === 'person3@example.com' ? 'email domain does not accept mail' : undefined));
    const outcomes = await write('list_members', 'add', rows(6));
    expect(statuses(outcomes)).toEqual(['ok', 'ok', 'ok', 'rejected', 'ok', 'ok']);
    expect(outcomes[3]).toEqual({ status: 'rejected', reason: 'SendGrid: email domain does not accept mail' });
    expect(fake.listMembers(listId)).toEqual(rows(6).map((r) => r.key).filter((k) => k !== 'person3@example.com').sort());
  });

  test('a 400 naming contacts[i] rejects that row with SendGrid’s words and sends the rest again', async () => {
    // Passes our email check (shape only) but not SendGrid's (consecutive dots).
    const batch = [...rows(2), { key: 'a..b@example.com', fields: { first_name: 'Dots' } }];
    const outcomes = await write('contacts', 'upsert', batch, {});
    expect(statuses(outcomes)).toEqual(['ok', 'ok', 'rejected']);
    expect(outcomes[2]!.status === 'rejected' && outcomes[2]!.reason).toBe('SendGrid: email: email address is invalid');
    expect(fake.contacts().map((c) => c.email).sort()).toEqual(['person0@example.com', 'person1@example.com']);
  });

  test('values over the spec’s lengths are rejected before sending (the request stays valid)', async () => {
    const outcomes = await write('contacts', 'upsert', [{ key: 'long@example.com', fields: { first_name: 'x'.repeat(51) } }, ...rows(1)], {});
    expect(outcomes[0]).toEqual({ status: 'rejected', reason: 'first_name is 51 characters; SendGrid allows at most 50' });
    expect(outcomes[1]!.status).toBe('ok');
  });

  test('requests are cut at 6 MB as well as at 30,000 contacts', async () => {
    const big = Array.from({ length: 5 }, (_, i) => ({ bytes: 2 * 1024 * 1024, i }));
    expect(chunkBySize(big).map((c) => c.length)).toEqual([2, 2, 1]);
    expect(chunkBySize(Array.from({ length: 30_001 }, () => ({ bytes: 10 }))).map((c) => c.length)).toEqual([30_000, 1]);
    // End to end: 700 contacts of ~9 KB each (reserved fields are short; the bulk is in a custom Text field).
    fake.defineCustomField('bio', 'Text');
    const heavy = Array.from({ length: 700 }, (_, i) => ({ key: `heavy${i}@example.com`, fields: { bio: `${i}`.padEnd(9_000, 'x') } }));
    const outcomes = await write('contacts', 'upsert', heavy, {});
    expect(outcomes.every((o) => o.status === 'ok')).toBe(true);
    const puts = fake.requests.filter((r) => r.method === 'PUT' && r.status === 202);
    expect(puts.length).toBe(2);
    expect(fake.requests.some((r) => r.status === 413)).toBe(false);
    expect(fake.contacts()).toHaveLength(700);
  });

  test('custom fields are mapped by name to SendGrid ids; Number fields get numbers; discovery lists them', async () => {
    const colour = fake.defineCustomField('favourite_colour', 'Text');
    fake.defineCustomField('lifetime_value', 'Number');
    const outcomes = await write('contacts', 'upsert', [
      { key: 'a@example.com', fields: { favourite_colour: 'blue', lifetime_value: '12.5', city: 'Oslo' } },
      { key: 'b@example.com', fields: { favourite_colour: 'red', lifetime_value: 'lots' } },
    ], {});
    expect(outcomes[0]!.status).toBe('ok');
    expect(outcomes[1]).toEqual({ status: 'rejected', reason: 'lifetime_value is a Number field in SendGrid; got "lots"' });
    expect(fake.contact('a@example.com')).toMatchObject({ fields: { city: 'Oslo' }, custom: { favourite_colour: 'blue', lifetime_value: 12.5 } });
    const put = fake.requests.find((r) => r.method === 'PUT')!;
    expect(JSON.stringify(put.body)).toContain(`"${colour}":"blue"`);
    const fields = await discoverSendgridFields(ctx());
    expect(fields.filter((f) => !f.reserved).map((f) => [f.name, f.type])).toEqual([['favourite_colour', 'Text'], ['lifetime_value', 'Number']]);
    expect(fields.some((f) => f.reserved && f.name === 'first_name')).toBe(true);
  });

  test('an unknown custom field stops the run as a config failure naming it', async () => {
    const error = await write('contacts', 'upsert', [{ key: 'a@example.com', fields: { shoe_size: 44 } }], {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectorError);
    expect((error as ConnectorError).failure).toBe('config');
    expect((error as ConnectorError).message).toMatch(/no custom field named shoe_size/);
    expect(fake.contacts()).toEqual([]);
  });

  test('remove takes people off the list by email search; unknown emails are ok; the contacts stay', async () => {
    await write('list_members', 'add', rows(5));
    const outcomes = await write('list_members', 'remove', [...rows(2), { key: 'never@example.com', fields: {} }]);
    expect(statuses(outcomes)).toEqual(['ok', 'ok', 'ok']);
    expect(fake.listMembers(listId)).toEqual(['person2@example.com', 'person3@example.com', 'person4@example.com']);
    expect(fake.contacts()).toHaveLength(5);
  });

  test('consent field: a person who withdrew is taken off the list and later upserts never put them back', async () => {
    await write('list_members', 'upsert', rows(3));
    expect(fake.listMembers(listId)).toHaveLength(3);
    const withdrawn = { key: 'person1@example.com', fields: { first_name: 'First1', last_name: 'changed', email_consent: false } };
    expect(statuses(await write('list_members', 'upsert', [withdrawn]))).toEqual(['ok']);
    expect(fake.listMembers(listId)).toEqual(['person0@example.com', 'person2@example.com']);
    // An attribute change while still without consent (contacts object with listIds): attributes yes, list no.
    const later = { ...withdrawn, fields: { ...withdrawn.fields, last_name: 'changed again', email_consent: 'denied' } };
    expect(statuses(await write('contacts', 'upsert', [later], { listIds: listId }))).toEqual(['ok']);
    expect(fake.listMembers(listId)).toEqual(['person0@example.com', 'person2@example.com']);
    expect(fake.contact('person1@example.com')!.fields.last_name).toBe('changed again');
    expect(fake.contact('person1@example.com')!.custom).toEqual({}); // the consent field is not sent as a field
  });

  test('auth: an unknown key and a key without Marketing access each get a clear hint', async () => {
    const bad = await sendgrid.check(ctx({ apiKey: 'SG.nope' })).catch((e: unknown) => e);
    expect(bad).toMatchObject({ failure: 'auth', httpStatus: 401 });
    expect((bad as ConnectorError).hint).toMatch(/Settings → API Keys/);
    const restricted = await sendgrid.check(ctx({ apiKey: fake.restrictedKey })).catch((e: unknown) => e);
    expect(restricted).toMatchObject({ failure: 'auth', httpStatus: 403 });
    expect((restricted as ConnectorError).hint).toMatch(/Marketing: Full Access/);
  });

  test('429 from SendGrid’s limiter waits until X-RateLimit-Reset; 5xx is transient', async () => {
    fake.setRateLimit({ count: 1, perMs: 60_000 });
    await sendgrid.check(ctx());
    const limited = await sendgrid.check(ctx()).catch((e: unknown) => e);
    expect(limited).toMatchObject({ failure: 'rate_limited', httpStatus: 429 });
    expect((limited as ConnectorError).retryAfterMs).toBeGreaterThan(50_000);
    fake.setRateLimit({ count: 100, perMs: 1000 });
    fake.failNext(1, 502);
    await expect(write('list_members', 'add', rows(1))).rejects.toMatchObject({ failure: 'transient' });
  });

  test('an unknown list is a config failure (add and remove)', async () => {
    const other = '00000000-0000-4000-8000-000000000000';
    await expect(write('list_members', 'add', rows(1), { listId: other })).rejects.toMatchObject({ failure: 'config' });
    await write('contacts', 'upsert', rows(1), {});
    await expect(write('list_members', 'remove', rows(1), { listId: other })).rejects.toMatchObject({ failure: 'config' });
  });

  test('the error file is read by header names', () => {
    expect(parseErrorsFile('email,errors\n"A@x.com","bad, very bad"\nb@x.com,other\n')).toEqual(new Map([['a@x.com', 'bad, very bad'], ['b@x.com', 'other']]));
  });

  test('the fake is a real gate: a request the spec forbids gets 400 and changes nothing', async () => {
    // custom_fields is free-form, but `contacts` must be an array of objects and `list_ids` of UUIDs.
    const response = await fetch(`${fake.url}/v3/marketing/contacts`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${fake.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ list_ids: ['not-a-uuid'], contacts: [{ email: 'x@example.com', nickname: 'X' }] }),
    });
    expect(response.status).toBe(400);
    const failures = fake.validationFailures();
    expect(failures).toHaveLength(1);
    expect(failures[0]!.validationErrors.join('\n')).toMatch(/list_ids\[0\]: not a uuid[\s\S]*nickname: unknown property/);
    expect(fake.contacts()).toEqual([]);
    fake.requests.length = 0; // the gate test made the failure on purpose
  });
});

// ---------------------------------------------------------------------------------------
// Three runs through the real engine

interface Person {
  email: string;
  first_name: string;
  city: string;
  consent: string;
}

describe('sendgrid through the sync engine', () => {
  let fake: SendgridFake;
  let fx: EngineFixture<Person>;
  let listId: string;

  beforeAll(async () => {
    fake = await startSendgridFake({ jobDelayMs: 10, rateLimit: { count: 40, perMs: 1000 } });
    listId = fake.createList('vip');
    const config = { apiKey: fake.apiKey, baseUrl: fake.url, jobPollMs: 10, jobTimeoutMs: 10_000 };
    fx = await openEngine<Person>(
      {
        'destinations.yml': `sg:\n  type: sendgrid\n  config: ${JSON.stringify(config)}\n  limits: { batch_rows: 500, concurrency: 2 }\n`,
        'consent.yml': 'purposes:\n  email_marketing: { column: consent, granted: [granted] }\n',
        'syncs/vip.yml': [
          'source: { table: $SCHEMA.audience }',
          'destination: sg',
          'object: list_members',
          'mode: mirror',
          'key: email',
          'mapping: { email: email, first_name: first_name, city: city }',
          'purpose: email_marketing',
          `object_options: { listId: "${listId}" }`,
          'options: { max_attempts: 8, timeout_ms: 5000, max_deletion_share: 0.9 }',
        ].join('\n'),
      },
      {},
      // The breaker stays armed and a run is retried at most 4 times, as before the harness.
      { columns: ['email', 'first_name', 'city', 'consent'], reruns: 4, allowDeletions: false },
    );
  });
  afterAll(async () => {
    await fx?.cleanup();
    await fake?.close();
  });

  function expectFakeEqualsAudience(people: Person[], rejectedKeys: Set<string>): void {
    const expected = new Map(people.filter((p) => p.consent === 'granted' && !rejectedKeys.has(p.email)).map((p) => [p.email, { first_name: p.first_name, city: p.city }]));
    expect(fake.listMembers(listId)).toEqual([...expected.keys()].sort());
    const actual = new Map(fake.contacts().filter((c) => c.listIds.has(listId)).map((c) => [c.email, { first_name: c.fields.first_name, city: c.fields.city }]));
    expect(actual).toEqual(expected);
  }
  const person = (i: number, over: Partial<Person> = {}): Person => ({ email: `p${i}@example.com`, first_name: `Name${i}`, city: `City${i % 50}`, consent: i % 10 === 0 ? 'denied' : 'granted', ...over });

  test('5,000 people over three runs (adds, changes, removals, consent withdrawals) with 429s and 5xx: the list equals the audience', async () => {
    fake.setRecordFault((email) => (email === 'p77@example.com' ? 'email is on the global bounce list' : undefined));
    // Run 1: everyone with consent.
    let audience = Array.from({ length: 5000 }, (_, i) => person(i));
    await fx.setAudience(audience);
    fake.failNext(2, 503);
    let result = await fx.run('vip');
    expect(result.status).toBe('success');
    expectFakeEqualsAudience(audience, new Set(['p77@example.com']));
    const rejected = await rejectedRows(fx.wh.warehouse, fx.targets.get('vip')!.tables);
    expect(rejected.rows.map((r) => [r.key, r.reason])).toEqual([['p77@example.com', 'SendGrid: email is on the global bounce list']]);

    // Run 2: removals, changes, adds, consent withdrawals; a 429 storm and 5xx.
    audience = Array.from({ length: 5400 }, (_, i) => person(i, { city: i % 5 === 0 ? `Moved${i}` : `City${i % 50}`, consent: i % 10 === 0 || i % 13 === 2 ? 'denied' : 'granted' })).filter((_, i) => i % 7 !== 1);
    await fx.setAudience(audience);
    fake.failNext(3, 429, 1);
    fake.failNext(2, 500);
    result = await fx.run('vip');
    expect(result.status).toBe('success');
    expectFakeEqualsAudience(audience, new Set(['p77@example.com']));

    // Run 3: people come back, names change, consent withdrawn earlier stays withdrawn.
    audience = Array.from({ length: 5400 }, (_, i) => person(i, { first_name: i % 3 === 0 ? `Renamed${i}` : `Name${i}`, consent: i % 10 === 0 || i % 13 === 2 ? 'denied' : 'granted' })).filter((_, i) => i % 11 !== 4);
    await fx.setAudience(audience);
    fake.failNext(1, 502);
    result = await fx.run('vip');
    expect(result.status).toBe('success');
    expectFakeEqualsAudience(audience, new Set(['p77@example.com']));

    // Consent: nobody without consent was ever on the list after a run (never re-subscribed).
    for (const p of audience) if (p.consent !== 'granted') expect(fake.contact(p.email)?.listIds.has(listId) ?? false).toBe(false);
    expect(fake.requests.filter((r) => r.status === 429).length).toBeGreaterThan(0);
    expect(fake.validationFailures()).toEqual([]);
  });
});
