/**
 * The google_ads connector against `startGoogleAdsFake`: the conformance suite, Customer
 * Match normalisation (expected digests computed here with node:crypto from the normalised
 * text — destinations.md quotes no Google hashing example), partial-failure errors mapped to
 * rows, the identifier limits per request, one job per list at a time, consent, and three
 * runs of a 5,000-member audience through the real sync engine with 429/5xx injected — the
 * list ends equal to the audience and no raw email or phone appears in any request.
 */
import { createHash } from 'node:crypto';
import googleAds, { googleUserIdentifiers, normaliseGoogleEmail, writeGoogleAdsBatch } from '../../connectors/google-ads';
import { createConnectorContext, type OutboundRow } from '../../connectors/kit';
import { matchRateReport } from '../../connectors/kit/match-rate';
import { startGoogleAdsFake, type GoogleAdsFake } from '../fakes/google-ads-fake';
import { statusAnswer } from '../fakes/ad-fake-server';
import { describeConnectorConformance, type ConnectorFake } from './conformance';
import { openAudienceEngine, threeAudiences, type Person } from './audience-engine-harness';

const sha = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const config = (fake: GoogleAdsFake, extra: Record<string, unknown> = {}) => ({ customerId: fake.customerId, developerToken: fake.developerToken, accessToken: fake.accessToken, baseUrl: fake.url, jobPollIntervalMs: 2, ...extra });
const ctxFor = (fake: GoogleAdsFake, extra: Record<string, unknown> = {}) => createConnectorContext('google_ads', googleAds.config.parse(config(fake, extra)), { timeoutMs: 10_000 });
const step = (path: string) => path.split(':')[1];

async function conformanceFake(): Promise<ConnectorFake<typeof googleAds.config>> {
  const fake = await startGoogleAdsFake();
  const keys = new Map<string, string>();
  return {
    config: config(fake),
    badCredentialsConfig: { ...config(fake), accessToken: 'ya29.wrong' },
    object: 'customer_match_members',
    options: { userListId: '42' },
    rows: (count, variant = 0) =>
      Array.from({ length: count }, (_, i) => {
        keys.set(`m${i}`, `email:${sha(`member${i}@example.com`)}`);
        return { key: `m${i}`, fields: { email: `Member${i}@Example.com`, phone: `+4420794${String(10000 + i)}`, v: variant } };
      }),
    invalidRow: () => ({ key: 'bad', fields: { email: 'nope', phone: '12' } }),
    records: async () => {
      await fake.idle();
      const byId = new Map(fake.members('42').flatMap((u) => u.map((id) => [id, u] as const)));
      const out = new Map<string, Record<string, unknown>>();
      for (const [key, id] of keys) {
        const user = byId.get(id);
        // Google stores only identifiers: the conformance fields are compared by their hashes.
        if (user) out.set(key, { email: id.slice(6), phone: user.find((x) => x.startsWith('phone:'))?.slice(6), v: 'ignored' });
      }
      return out;
    },
    failNext: (count, status) => fake.server.failNext(count, statusAnswer(status)),
    close: () => fake.close(),
  };
}

describeConnectorConformance(googleAds, conformanceFake, {
  storedValue: (v) => (typeof v === 'number' ? 'ignored' : String(v).includes('@') ? sha(String(v).trim().toLowerCase()) : sha(`+${String(v).replace(/\D/g, '')}`)),
});

describe('Customer Match normalisation', () => {
  test('email trimmed, lowercased, gmail dots removed; then SHA-256', () => {
    expect(normaliseGoogleEmail(' John.Smith@GMail.com ')).toBe('johnsmith@gmail.com');
    expect(normaliseGoogleEmail('John.Smith@example.com')).toBe('john.smith@example.com');
    expect(googleUserIdentifiers({ email: ' John.Smith@GMail.com ' }).identifiers).toEqual([{ hashedEmail: sha('johnsmith@gmail.com') }]);
  });
  test('phone in E.164 with the + before hashing', () => {
    expect(googleUserIdentifiers({ phone: '+1 (650) 555-1212' }).identifiers).toEqual([{ hashedPhoneNumber: sha('+16505551212') }]);
    expect(googleUserIdentifiers({ phone: '020 7946 0958' }, '44').identifiers).toEqual([{ hashedPhoneNumber: sha('+442079460958') }]);
    expect(googleUserIdentifiers({ phone: '391 234 5678' }, 'IT').identifiers).toEqual([{ hashedPhoneNumber: sha('+393912345678') }]);
    expect(googleUserIdentifiers({ phone: '555 1212' }, 'US').unusable).toEqual(['phone cannot be written in E.164']);
  });
  test('address: names hashed, country and postal code in clear', () => {
    expect(googleUserIdentifiers({ first_name: ' John ', last_name: 'SMITH', country: 'us', postal_code: '94043' }).identifiers).toEqual([
      { addressInfo: { hashedFirstName: sha('john'), hashedLastName: sha('smith'), countryCode: 'US', postalCode: '94043' } },
    ]);
  });
});

describe('google_ads specifics', () => {
  let fake: GoogleAdsFake;
  afterEach(async () => fake?.close());
  const bodies = (suffix: string) => fake.server.calls.filter((c) => c.path.endsWith(suffix)).map((c) => c.body as Record<string, unknown>);

  test('partial-failure errors are mapped to their rows; the rest go through; match-rate report counts them', async () => {
    fake = await startGoogleAdsFake({ invalidValues: new Set([sha('b@x.com')]) });
    const rows: OutboundRow[] = [
      { key: '1', fields: { email: 'a@x.com' } },
      { key: '2', fields: { email: 'b@x.com', phone: '+16505551212' } },
      { key: '3', fields: { email: 'broken' } },
      { key: '4', fields: { first_name: 'A', last_name: 'B', country: 'GB', zip: 'SW1A 1AA' } },
    ];
    const { outcomes, report } = await writeGoogleAdsBatch(ctxFor(fake), { object: 'customer_match_members', op: 'add', rows, options: { userListId: '7', adUserData: 'GRANTED', adPersonalization: 'DENIED' } });
    expect(outcomes.map((o) => o.status)).toEqual(['ok', 'rejected', 'rejected', 'ok']);
    expect(outcomes[1]).toMatchObject({ reason: expect.stringContaining('INVALID_SHA256_FORMAT') });
    expect(matchRateReport([report])).toMatchObject({ members: 4, sent: 3, rejectedLocally: 1, reportedInvalid: 1, withIdentifier: { email: 2, phone: 1, address: 1 } });
    await fake.idle();
    expect(fake.members('7')).toHaveLength(2);
    expect([...fake.jobs.values()][0]!.consent).toEqual({ adUserData: 'GRANTED', adPersonalization: 'DENIED' });
  });

  test('requests hold at most maxIdentifiersPerRequest identifiers; the job is created, filled, then run', async () => {
    fake = await startGoogleAdsFake();
    const rows = Array.from({ length: 250 }, (_, i) => ({ key: `${i}`, fields: { email: `u${i}@x.com`, phone: `+1650555${String(1000 + i)}` } }));
    await googleAds.write(ctxFor(fake), { object: 'customer_match_members', op: 'add', rows, options: { userListId: '7', maxIdentifiersPerRequest: '100' } });
    expect(bodies(':addOperations').map((b) => (b.operations as unknown[]).length)).toEqual([50, 50, 50, 50, 50]);
    const steps = fake.server.calls.map((c) => step(c.path));
    expect(steps.filter((x) => x !== 'search')).toEqual(['create', 'addOperations', 'addOperations', 'addOperations', 'addOperations', 'addOperations', 'run']);
    // After run, the job's status is read until it is done.
    expect(steps.slice(steps.indexOf('run') + 1).every((x) => x === 'search')).toBe(true);
  });

  test('the run job is polled to SUCCESS before rows are ok; a FAILED job leaves its rows retry with the reason', async () => {
    let failNext = false;
    fake = await startGoogleAdsFake({ runMs: 30, failJob: () => (failNext ? 'INSUFFICIENT_MATCHED_TRANSACTIONS' : undefined) });
    const rows = (from: number) => Array.from({ length: 5 }, (_, i) => ({ key: `${from + i}`, fields: { email: `u${from + i}@x.com` } }));
    const first = await writeGoogleAdsBatch(ctxFor(fake), { object: 'customer_match_members', op: 'add', rows: [...rows(0), { key: 'x', fields: { email: 'nope' } }], options: { userListId: '8' } });
    expect(first.outcomes.map((o) => o.status)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'rejected']);
    // No idle(): the connector itself waited for the job, so the list already holds the users.
    expect(fake.members('8')).toHaveLength(5);
    const search = fake.server.calls.find((c) => step(c.path) === 'search')!.body as { query: string };
    expect(search.query).toMatch(/FROM offline_user_data_job WHERE offline_user_data_job\.resource_name = 'customers\/1234567890\/offlineUserDataJobs\/1'/);

    failNext = true;
    const second = await writeGoogleAdsBatch(ctxFor(fake), { object: 'customer_match_members', op: 'add', rows: [...rows(5), { key: 'y', fields: { email: 'nope' } }], options: { userListId: '8' } });
    expect(second.outcomes.slice(0, 5).every((o) => o.status === 'retry' && o.reason.includes('FAILED (INSUFFICIENT_MATCHED_TRANSACTIONS)'))).toBe(true);
    expect(second.outcomes[5]!.status).toBe('rejected');
    expect(fake.members('8')).toHaveLength(5);
    // Rows left for another attempt are not counted yet; the refused row is.
    expect(second.report).toMatchObject({ members: 1, sent: 0, rejectedLocally: 1 });

    // jobTimeoutMs 0: no waiting, rows ok once the job was run.
    failNext = false;
    const before = fake.server.calls.length;
    const third = await writeGoogleAdsBatch(ctxFor(fake, { jobTimeoutMs: 0 }), { object: 'customer_match_members', op: 'add', rows: rows(10), options: { userListId: '8' } });
    expect(third.outcomes.every((o) => o.status === 'ok')).toBe(true);
    expect(fake.server.calls.slice(before).map((c) => step(c.path))).toEqual(['create', 'addOperations', 'run']);
  });

  test('concurrent batches to one list never overlap their jobs; a job from elsewhere is CONCURRENT_MODIFICATION (transient)', async () => {
    fake = await startGoogleAdsFake({ runMs: 1 });
    const ctx = ctxFor(fake);
    const batch = (from: number) => ({ object: 'customer_match_members', op: 'add' as const, rows: Array.from({ length: 10 }, (_, i) => ({ key: `${from + i}`, fields: { email: `u${from + i}@x.com` } })), options: { userListId: '9' } });
    await Promise.all([googleAds.write(ctx, batch(0)), googleAds.write(ctx, batch(10)), googleAds.write(ctx, batch(20))]);
    // Google may still be running the previous job: those calls got 409 and were repeated.
    const answered = fake.server.calls.filter((c) => c.status === 200).map((c) => step(c.path)).filter((x) => x !== 'search');
    expect(answered).toEqual(['create', 'addOperations', 'run', 'create', 'addOperations', 'run', 'create', 'addOperations', 'run']);
    expect(fake.server.calls.filter((c) => c.status === 409).every((c) => /:(create|run)$/.test(c.path))).toBe(true);
    await fake.idle();
    expect(fake.members('9')).toHaveLength(30);
  });
});

describe('three runs of a 5,000-member audience through the sync engine', () => {
  test('the list ends equal to the audience; 429/5xx retried; no raw email or phone sent', async () => {
    const fake = await startGoogleAdsFake({ seed: 5, rateLimitRate: 0.12, serverErrorRate: 0.12, runMs: 1 });
    const engine = await openAudienceEngine({
      destination: '  type: google_ads\n  config: { customerId: "${G_CID}", developerToken: "${G_DEV}", accessToken: "${G_TOKEN}", baseUrl: "${G_URL}", jobPollIntervalMs: 2 }\n  limits: { batch_rows: 500, concurrency: 1 }',
      sync: [
        'source: { table: $SCHEMA.audience }',
        'destination: dest',
        'object: customer_match_members',
        'mode: add_remove',
        'key: id',
        'mapping: { email: email, phone: phone, first_name: first_name, last_name: last_name, country: country, zip: zip }',
        'object_options: { userListId: "77", adUserData: GRANTED, adPersonalization: GRANTED }',
        'options: { max_attempts: 10, timeout_ms: 5000, max_deletion_share: 1 }',
      ],
      env: { G_CID: fake.customerId, G_DEV: fake.developerToken, G_TOKEN: fake.accessToken, G_URL: fake.url },
      columns: ['id', 'email', 'phone', 'first_name', 'last_name', 'country', 'zip'],
    });
    try {
      const runs = threeAudiences();
      for (const audience of runs) {
        await engine.setAudience(audience as unknown as Array<Record<string, string | null>>);
        expect((await engine.run()).at(-1)!.status).toBe('success');
        await fake.idle();
      }
      const final = runs[2]!;
      // Everyone has an address (names, country, zip), so nobody is rejected; "n/a" phones are dropped.
      const users = fake.members('77');
      expect(users).toHaveLength(final.length);
      const emails = new Set(users.flat().filter((x) => x.startsWith('email:')).map((x) => x.slice(6)));
      const usableEmail = (p: Person) => p.email !== null && p.email !== 'not-an-email';
      expect(emails).toEqual(new Set(final.filter(usableEmail).map((p) => sha(p.email!.trim().toLowerCase()))));
      const phones = new Set(users.flat().filter((x) => x.startsWith('phone:')).map((x) => x.slice(6)));
      expect(phones).toEqual(new Set(final.filter((p) => p.phone && p.phone !== 'n/a').map((p) => sha(`+${p.phone!.replace(/\D/g, '')}`))));
      expect(fake.server.stats.rateLimited + fake.server.stats.serverErrors).toBeGreaterThan(5);
      expect(fake.refusals).toEqual([]);
      const sent = fake.server.calls.map((c) => c.rawBody).join('\n').toLowerCase();
      for (const p of new Map(runs.flat().map((x) => [x.id, x])).values()) {
        if (p.email && p.email.includes('@')) expect(sent.includes(p.email.trim().toLowerCase())).toBe(false);
        if (p.phone && p.phone !== 'n/a') expect(sent.includes(p.phone.replace(/\D/g, ''))).toBe(false);
      }
    } finally {
      await engine.cleanup();
      await fake.close();
    }
  });
});
