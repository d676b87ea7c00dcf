/**
 * The mailchimp connector against `startMailchimpFake` (test/fakes/mailchimp-fake.ts): the
 * conformance suite for both objects, then what is special to Mailchimp — data center from
 * the key, check messages, merge-field discovery, 500-member chunks, errors[] → rows,
 * consent (unsubscribed members are never subscribed again), the 10-connection limit, and
 * three runs of a 5,000-person audience through the real sync engine (`runSync`, DuckDB
 * warehouse, SQLite control DB) with 429s and 5xx injected. Every test asserts the fake's state.
 */
import mailchimp, { desiredStatus, discoverMailchimpMergeFields } from '../../connectors/mailchimp';
import { ConnectorError, createConnectorContext, mailchimpSubscriberHash, type Batch, type OutboundRow } from '../../connectors/kit';
import { rejectedRows } from '../../src/sync';
import { startMailchimpFake, type MailchimpFake } from '../fakes/mailchimp-fake';
import { describeConnectorConformance, type ConnectorFake } from './conformance';
import { openEngine, TIERED_COLUMNS, type EngineFixture, type TieredPerson as Person } from './engine-harness';

type Config = { apiKey: string; baseUrl?: string };

const memberRows = (count: number, variant = 0): OutboundRow[] =>
  Array.from({ length: count }, (_, i) => ({ key: `p${i}@example.com`, fields: { FNAME: `First${i}`, LNAME: `Last${i}-v${variant}`, SCORE: i + variant } }));

const withScore = [
  { tag: 'FNAME', name: 'First', type: 'text' as const },
  { tag: 'LNAME', name: 'Last', type: 'text' as const },
  { tag: 'TIER', name: 'Tier', type: 'text' as const },
  { tag: 'SCORE', name: 'Score', type: 'number' as const },
];

function context(fake: MailchimpFake, config: Partial<Config> = {}) {
  return createConnectorContext('mailchimp', mailchimp.config.parse({ apiKey: fake.apiKey, baseUrl: fake.url, ...config }), { timeoutMs: 5000 });
}
const write = (fake: MailchimpFake, batch: Omit<Batch, 'options'> & { options?: Record<string, string> }, listId: string) =>
  mailchimp.write(context(fake), { options: { listId }, ...batch });

async function conformanceFake(object: 'members' | 'segment_members'): Promise<ConnectorFake<typeof mailchimp.config>> {
  const fake = await startMailchimpFake();
  const listId = fake.createAudience('conformance', withScore);
  if (object === 'segment_members') {
    // Tags need audience members: the whole key space is in the audience already.
    const members = memberRows(500);
    await write(fake, { object: 'members', op: 'upsert', rows: members }, listId);
  }
  return {
    config: { apiKey: fake.apiKey, baseUrl: fake.url },
    badCredentialsConfig: { apiKey: `ffffffffffffffffffffffffffffffff-${fake.dc}`, baseUrl: fake.url },
    object,
    options: object === 'members' ? { listId } : { listId, tag: 'vip' },
    rows: object === 'members' ? memberRows : (count) => memberRows(count).map((r) => ({ key: r.key, fields: {} })),
    invalidRow: object === 'members' ? () => ({ key: 'bad@example.c', fields: { FNAME: 'Bad' } }) : undefined,
    records: async () => {
      if (object === 'members') return new Map([...fake.members(listId)].map(([email, m]) => [email, { ...m.merge_fields, status: m.status }]));
      const segment = [...fake.audiences.get(listId)!.segments.values()].find((s) => s.name === 'vip');
      return new Map([...(segment ? fake.segmentMembers(listId, segment.id) : new Set<string>())].map((email) => [email, {}]));
    },
    failNext: (count, status) => fake.server.failNext(count, status),
    close: () => fake.close(),
  };
}

describe('members', () => describeConnectorConformance(mailchimp, () => conformanceFake('members'), { storedValue: (v) => v }));
describe('segment_members', () => describeConnectorConformance(mailchimp, () => conformanceFake('segment_members'), { storedValue: (v) => v }));

describe('mailchimp specifics', () => {
  let fake: MailchimpFake;
  let listId: string;
  beforeEach(async () => {
    fake = await startMailchimpFake();
    listId = fake.createAudience('main', withScore);
  });
  afterEach(async () => fake.close());

  test('config: the data center comes from the key suffix; a key without one is refused with how to fix it', () => {
    const parsed = mailchimp.config.safeParse({ apiKey: '0123456789abcdef0123456789abcdef' });
    expect(parsed.success).toBe(false);
    expect(JSON.stringify(parsed.error?.issues)).toMatch(/ends with its data center, e\.g\. .*-us19/);
    expect(mailchimp.config.parse({ apiKey: 'abc-us7' })).toEqual({ apiKey: 'abc-us7' });
  });

  test('check names the data center when the key is refused, and passes with the right key', async () => {
    await expect(mailchimp.check(context(fake))).resolves.toBeUndefined();
    const wrongDc = await mailchimp.check(context(fake, { apiKey: '0123456789abcdef0123456789abcdef-us2' })).catch((e: unknown) => e);
    expect(wrongDc).toBeInstanceOf(ConnectorError);
    expect(wrongDc).toMatchObject({ failure: 'auth', httpStatus: 401 });
    expect((wrongDc as ConnectorError).message).toMatch(/wrong datacenter/);
    expect((wrongDc as ConnectorError).hint).toMatch(/-us2 only works at us2\.api\.mailchimp\.com/);
  });

  test('merge-field discovery lists the audience fields; an unknown audience is a config failure naming listId', async () => {
    const fields = await discoverMailchimpMergeFields(context(fake), listId);
    expect(fields.map((f) => [f.tag, f.type])).toEqual([['FNAME', 'text'], ['LNAME', 'text'], ['TIER', 'text'], ['SCORE', 'number']]);
    await expect(discoverMailchimpMergeFields(context(fake), 'nope')).rejects.toMatchObject({ failure: 'config', hint: expect.stringMatching(/object_options\.listId/) });
  });

  test('1,200 rows go as 500-member chunks; member ids are MD5 of the lowercased email', async () => {
    const rows = memberRows(1200).map((r, i) => (i === 7 ? { ...r, key: 'Mixed.Case@Example.com' } : r));
    const outcomes = await write(fake, { object: 'members', op: 'upsert', rows }, listId);
    expect(outcomes.every((o) => o.status === 'ok')).toBe(true);
    expect(fake.members(listId).size).toBe(1200);
    expect(outcomes[7]).toEqual({ status: 'ok', externalId: mailchimpSubscriberHash('mixed.case@example.com'), created: true });
    expect(fake.server.refusals).toEqual([]);
  });

  test("errors[] reject exactly their rows with Mailchimp's reason; the others are stored", async () => {
    const rows: OutboundRow[] = [...memberRows(3), { key: 'x@example.c', fields: {} }, { key: 'p9@example.com', fields: { SCORE: 'n/a' } }, { key: 'P0@example.com', fields: {} }];
    const outcomes = await write(fake, { object: 'members', op: 'upsert', rows }, listId);
    expect(outcomes.map((o) => o.status)).toEqual(['ok', 'ok', 'ok', 'rejected', 'rejected', 'rejected']);
    expect(outcomes[3]).toEqual({ status: 'rejected', reason: 'x@example.c looks fake or invalid, please enter a real email address.' });
    expect(outcomes[4]).toEqual({ status: 'rejected', reason: 'Your merge fields were invalid: SCORE must be a number.' });
    expect((outcomes[5] as { reason: string }).reason).toMatch(/same email as row 1/);
    expect([...fake.members(listId).keys()].sort()).toEqual(['p0@example.com', 'p1@example.com', 'p2@example.com']);
  });

  test('update mode changes members and rejects people Mailchimp does not have, without adding them', async () => {
    await write(fake, { object: 'members', op: 'upsert', rows: memberRows(2) }, listId);
    const outcomes = await write(fake, { object: 'members', op: 'update', rows: memberRows(3, 5) }, listId);
    expect(outcomes.map((o) => o.status)).toEqual(['ok', 'ok', 'rejected']);
    expect(outcomes[2]).toMatchObject({ reason: expect.stringMatching(/not a member of this audience/) });
    expect(fake.members(listId).get('p1@example.com')?.merge_fields).toMatchObject({ LNAME: 'Last1-v5', SCORE: 6 });
    expect(fake.members(listId).size).toBe(2);
  });

  test('tags: new members get them in the batch, existing ones through the tags endpoint; segment add rejects non-members', async () => {
    await write(fake, { object: 'members', op: 'upsert', rows: [{ key: 'a@example.com', fields: { tags: ['early', 'beta'] } }] }, listId);
    await write(fake, { object: 'members', op: 'upsert', rows: [{ key: 'a@example.com', fields: { tags: 'late' } }] }, listId);
    expect([...fake.members(listId).get('a@example.com')!.tags].sort()).toEqual(['beta', 'early', 'late']);
    const outcomes = await write(fake, { object: 'segment_members', op: 'add', rows: [{ key: 'a@example.com', fields: {} }, { key: 'stranger@example.com', fields: {} }], options: { listId, tag: 'vip' } }, listId);
    expect(outcomes[0]!.status).toBe('ok');
    expect(outcomes[1]).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/not subscribed to the list — Mailchimp tags only audience members/) });
  });

  test('consent: withdrawal unsubscribes; an unsubscribed member is never subscribed again (ours or clicked in Mailchimp)', async () => {
    const person = (consent: string, tier: string): OutboundRow => ({ key: 'c@example.com', fields: { TIER: tier, email_consent: consent } });
    const clicked: OutboundRow = { key: 'd@example.com', fields: { TIER: 'gold', email_consent: 'granted' } };
    expect(await write(fake, { object: 'members', op: 'upsert', rows: [person('granted', 'a'), clicked] }, listId)).toEqual([expect.objectContaining({ status: 'ok', created: true }), expect.objectContaining({ status: 'ok' })]);
    await write(fake, { object: 'members', op: 'upsert', rows: [person('withdrawn', 'b')] }, listId);
    fake.unsubscribeFromEmail(listId, 'd@example.com');
    // The warehouse says yes again (stale or re-granted): fields update, status stays.
    const outcomes = await write(fake, { object: 'members', op: 'upsert', rows: [person('granted', 'c'), { ...clicked, fields: { ...clicked.fields, TIER: 'platinum' } }] }, listId);
    expect(outcomes.map((o) => o.status)).toEqual(['ok', 'ok']);
    const c = fake.members(listId).get('c@example.com')!;
    const d = fake.members(listId).get('d@example.com')!;
    expect([c.status, c.merge_fields.TIER, c.statusHistory]).toEqual(['unsubscribed', 'c', ['subscribed', 'unsubscribed']]);
    expect([d.status, d.merge_fields.TIER, d.statusHistory]).toEqual(['unsubscribed', 'platinum', ['subscribed', 'unsubscribed']]);
    // Archived after unsubscribing, then sent again with consent: Mailchimp refuses, the row says why.
    await write(fake, { object: 'members', op: 'delete', rows: [person('granted', 'c')] }, listId);
    const again = await write(fake, { object: 'members', op: 'upsert', rows: [person('granted', 'd')] }, listId);
    expect(again[0]).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/compliance state/) });
    expect(desiredStatus({ email_consent: null }, 'subscribed')).toBe('unsubscribed');
    expect(desiredStatus({ email_consent: 'maybe' }, 'subscribed')).toEqual({ error: expect.stringMatching(/neither a yes nor a no/) });
  });

  test('removal: unsubscribe keeps the member, unsubscribed', async () => {
    await write(fake, { object: 'members', op: 'upsert', rows: memberRows(2) }, listId);
    const outcomes = await write(fake, { object: 'members', op: 'delete', rows: memberRows(1), options: { listId, removal: 'unsubscribe' } }, listId);
    expect(outcomes).toEqual([expect.objectContaining({ status: 'ok' })]);
    expect(fake.members(listId).get('p0@example.com')?.status).toBe('unsubscribed');
  });

  test('more than 10 connections at once → 429 from the fake, rate_limited from the connector; at 10 all pass', async () => {
    fake.server.faults.latencyMs = 40;
    const batches = (n: number) => Array.from({ length: n }, (_, b) => write(fake, { object: 'members', op: 'upsert', rows: [{ key: `c${b}@example.com`, fields: {} }] }, listId).catch((e: unknown) => e));
    const ten = await Promise.all(batches(10));
    expect(ten.every((r) => Array.isArray(r))).toBe(true);
    const twelve = await Promise.all(batches(12));
    const limited = twelve.filter((r) => r instanceof ConnectorError);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]).toMatchObject({ failure: 'rate_limited', httpStatus: 429 });
    expect((limited[0] as ConnectorError).message).toMatch(/10 simultaneous connections/);
  });

  test('the fake is a real gate: a malformed or oversized request is refused and changes nothing', async () => {
    const post = (body: unknown) =>
      fetch(`${fake.url}/lists/${listId}`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from(`x:${fake.apiKey}`).toString('base64')}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const unknownField = await post({ members: [{ email_address: 'a@example.com', status: 'subscribed', favourite_colour: 'red' }] });
    expect(unknownField.status).toBe(400);
    expect(await unknownField.json()).toMatchObject({ title: 'Invalid Resource', detail: expect.stringMatching(/favourite_colour/) });
    const badStatus = await post({ members: [{ email_address: 'a@example.com', status: 'archived' }] });
    expect(badStatus.status).toBe(400);
    const tooMany = await post({ members: Array.from({ length: 501 }, (_, i) => ({ email_address: `m${i}@example.com`, status: 'subscribed' })) });
    expect(tooMany.status).toBe(400);
    expect(await tooMany.json()).toMatchObject({ detail: expect.stringMatching(/at most 500 members/) });
    expect(fake.members(listId).size).toBe(0);
    // And what the connector sent in all the tests above was never refused: see refusals checks.
  });
});

// ============================================================================ three runs through the engine

describe('three runs of a 5,000-person audience through the sync engine, with 429s and 5xx', () => {
  let fake: MailchimpFake;
  let fx: EngineFixture<Person>;
  afterEach(async () => {
    await fx?.cleanup();
    await fake?.close();
  });

  test('members (merge fields, consent) and a tag end equal to the audience; rejected rows carry Mailchimp reasons', async () => {
    // Mailchimp sends no Retry-After, and the engine then pauses the account's budget for 1 s
    // per 429 (covered by the connection-limit test); the injected storm says 0 to keep this fast.
    fake = await startMailchimpFake({ seed: 11, tooManyRate: 0.05, serverErrorRate: 0.05, retryAfterSeconds: 0 });
    const listId = fake.createAudience('customers', withScore);
    fx = await openEngine<Person>(
      {
        'destinations.yml': 'mc:\n  type: mailchimp\n  config: { apiKey: "${MC_KEY}", baseUrl: "${MC_URL}" }\n',
        'syncs/members.yml': [
          'source: { table: $SCHEMA.audience }',
          'destination: mc',
          'object: members',
          'mode: mirror',
          'key: email',
          'mapping: { FNAME: first_name, TIER: "{{lower tier}}", SCORE: score, email_consent: consent }',
          `object_options: { listId: ${listId} }`,
          'options: { max_attempts: 8, timeout_ms: 5000, max_deletion_share: 1 }',
        ].join('\n'),
        'syncs/vips.yml': [
          'source: { table: $SCHEMA.vips }',
          'destination: mc',
          'object: segment_members',
          'mode: add_remove',
          'key: email',
          'mapping: { email: email }',
          `object_options: { listId: ${listId}, tag: vip }`,
          'options: { max_attempts: 8, timeout_ms: 5000, max_deletion_share: 1 }',
        ].join('\n'),
      },
      { MC_KEY: fake.apiKey, MC_URL: fake.url },
      { columns: TIERED_COLUMNS },
    );

    const person = (i: number, version: number): Person => ({
      email: `u${i}@example.com`,
      first_name: `Name${i}${version && i % 5 === 0 ? `-v${version}` : ''}`,
      // Those who leave in run 2 and return in run 3 are not VIPs before they leave: Mailchimp
      // keeps an archived member's tags, so a tag they had would come back with them (README).
      tier: (i + version) % 4 === 0 && !(version === 0 && i < 400) ? 'VIP' : 'Basic',
      // Mailchimp refuses a non-number for a number merge field: these rows are rejected with its reason.
      score: i % 997 === 3 ? 'n/a' : String(i % 100),
      consent: version >= 2 && i % 50 === 1 ? 'withdrawn' : 'granted',
    });
    const runs = [
      Array.from({ length: 5000 }, (_, i) => person(i, 0)),
      // run 2: 1/5 changed, 400 leave, 400 join, tier shifts move people in and out of the tag
      Array.from({ length: 5000 }, (_, i) => person(i < 400 ? i + 5000 : i, 1)),
      // run 3: more changes, consent withdrawals (1 in 50), 200 who left come back
      [...Array.from({ length: 4800 }, (_, i) => person(i + 200 < 400 ? i + 5000 : i + 200, 2)), ...Array.from({ length: 200 }, (_, i) => person(i, 2))],
    ];
    for (const audience of runs) {
      await fx.setAudience(audience);
      // DuckDB binds views lazily, so the view survives the audience being replaced.
      if (audience === runs[0]) await fx.wh.warehouse.execute(`CREATE VIEW ${fx.wh.schema}.vips AS SELECT * FROM ${fx.wh.schema}.audience WHERE tier = 'VIP' AND consent = 'granted'`);
      const t0 = Date.now();
      expect((await fx.run('members')).status).toBe('success');
      expect((await fx.run('vips')).status).toBe('success');
      if (process.env.CDP_TEST_TIMINGS) console.log(`run took ${Date.now() - t0} ms`, fake.server.stats, fake.server.refusals.slice(0, 3));
    }
    const final = runs[2]!;
    const rejectedKeys = new Set(final.filter((p) => p.score === 'n/a').map((p) => p.email));
    const members = fake.members(listId);
    expect(new Set(members.keys())).toEqual(new Set(final.filter((p) => !rejectedKeys.has(p.email)).map((p) => p.email)));
    for (const p of final) {
      if (rejectedKeys.has(p.email)) continue;
      const m = members.get(p.email)!;
      expect({ email: p.email, FNAME: m.merge_fields.FNAME, TIER: m.merge_fields.TIER, SCORE: m.merge_fields.SCORE, status: m.status }).toEqual({
        email: p.email,
        FNAME: p.first_name,
        TIER: p.tier.toLowerCase(),
        SCORE: p.score,
        status: p.consent === 'granted' ? 'subscribed' : 'unsubscribed',
      });
      expect(m.statusHistory.join('>')).not.toMatch(/unsubscribed>subscribed/);
    }
    const tag = [...fake.audiences.get(listId)!.segments.values()].find((s) => s.name === 'vip')!;
    expect(fake.segmentMembers(listId, tag.id)).toEqual(new Set(final.filter((p) => p.tier === 'VIP' && p.consent === 'granted' && !rejectedKeys.has(p.email)).map((p) => p.email)));

    const rejected = await rejectedRows(fx.wh.warehouse, fx.targets.get('members')!.tables);
    expect(rejected.rows.length).toBe(rejectedKeys.size);
    for (const row of rejected.rows) expect(row.reason).toBe('Your merge fields were invalid: SCORE must be a number.');
    expect(fake.server.stats.tooMany + fake.server.stats.serverErrors).toBeGreaterThan(5);
    expect(fake.server.refusals).toEqual([]);
    expect(fake.server.stats.maxInFlight).toBeLessThanOrEqual(10);
  }, 60_000);
});

