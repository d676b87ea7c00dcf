/**
 * The meta connector against `startMetaFake`: the conformance suite, Meta's normalisation
 * (expected digests computed here independently with node:crypto from the normalised text —
 * destinations.md quotes no Meta hashing example), sessions for >10,000 rows, Meta's error
 * codes, audience creation by name, the match-rate report, and three runs of a 5,000-member
 * audience through the real sync engine with throttling (codes 17/613/80004), 5xx and
 * unusable rows — ending with the fake's audience equal to the warehouse audience and no
 * raw email or phone in any request the fake received.
 */
import { createHash } from 'node:crypto';
import meta, { metaIdentifiers, normaliseMetaPhone, normaliseMetaValue, writeMetaBatch } from '../../connectors/meta';
import { ConnectorError, createConnectorContext, type OutboundRow } from '../../connectors/kit';
import { matchRateReport } from '../../connectors/kit/match-rate';
import { startMetaFake, statusAnswer, type MetaFake } from '../fakes/meta-fake';
import { describeConnectorConformance, type ConnectorFake } from './conformance';
import { openAudienceEngine, threeAudiences, type Person } from './audience-engine-harness';

const sha = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const ctxFor = (fake: MetaFake, extra: Record<string, unknown> = {}) => createConnectorContext('meta', meta.config.parse({ accessToken: fake.token, baseUrl: fake.url, adAccountId: 'act_1234', ...extra }), { timeoutMs: 10_000 });

// ------------------------------------------------------------------------------ conformance

async function conformanceFake(): Promise<ConnectorFake<typeof meta.config>> {
  const fake = await startMetaFake();
  const audienceId = fake.createAudience('conformance');
  const emailOf = new Map<string, string>();
  const rows = (count: number, variant = 0): OutboundRow[] =>
    Array.from({ length: count }, (_, i) => {
      const key = `m${i}`;
      emailOf.set(key, sha(`member${i}@example.com`));
      return { key, fields: { email: `Member${i}@Example.com`, fn: `First${i}v${variant}` } };
    });
  return {
    config: { accessToken: fake.token, baseUrl: fake.url },
    badCredentialsConfig: { accessToken: 'EAABwrong', baseUrl: fake.url },
    object: 'audience_members',
    options: { audienceId },
    rows,
    invalidRow: () => ({ key: 'bad', fields: { email: 'not an email', fn: 'Bad' } }),
    records: async () => {
      const byEmail = new Map(fake.members(audienceId).map((m) => [m.EMAIL, m]));
      const out = new Map<string, Record<string, unknown>>();
      for (const [key, hash] of emailOf) {
        const m = byEmail.get(hash);
        if (m) out.set(key, { email: m.EMAIL, fn: m.FN });
      }
      return out;
    },
    failNext: (count, status) => fake.server.failNext(count, statusAnswer(status)),
    close: () => fake.close(),
  };
}

// Meta stores what it was sent: hashes of the normalised values.
describeConnectorConformance(meta, conformanceFake, { storedValue: (v) => sha(String(v).trim().toLowerCase()) });

// ------------------------------------------------------------------------------ normalisation

describe("Meta's normalisation and hashing", () => {
  test('email: trimmed and lowercased, then SHA-256', () => {
    expect(metaIdentifiers({ email: '  John.Smith@Example.COM ' }).values.EMAIL).toBe(sha('john.smith@example.com'));
  });
  test('phone: digits only with the country code, no + and no leading zeros', () => {
    expect(normaliseMetaPhone('+1 (650) 555-1212')).toBe('16505551212');
    expect(normaliseMetaPhone('0044 20 7946 0958')).toBe('442079460958');
    expect(normaliseMetaPhone('020 7946 0958', '44')).toBe('442079460958');
    expect(normaliseMetaPhone('n/a')).toBeNull();
    // Without a default country, digits must already be international: a trunk-zero national
    // number is not guessed into some country.
    expect(normaliseMetaPhone('442079460958')).toBe('442079460958');
    expect(normaliseMetaPhone('020 7946 0958')).toBeNull();
    expect(normaliseMetaPhone('1 555 000 0000')).toBeNull();
    // National numbers in the default country (ISO or calling code), as E.164 without the "+".
    expect(normaliseMetaPhone('391 234 5678', 'IT')).toBe('393912345678');
    expect(normaliseMetaPhone('391 234 5678', '39')).toBe('393912345678');
    expect(metaIdentifiers({ phone: '+1 (650) 555-1212' }).values.PHONE).toBe(sha('16505551212'));
  });
  test('names, city, state: lowercase letters without punctuation or spaces; FI the first initial', () => {
    expect(normaliseMetaValue('FN', "  Mary-Ann O'Neil ")).toBe('maryannoneil');
    expect(normaliseMetaValue('LN', 'Müller')).toBe('müller');
    expect(normaliseMetaValue('CT', 'San Francisco')).toBe('sanfrancisco');
    expect(normaliseMetaValue('ST', 'CA')).toBe('ca');
    expect(normaliseMetaValue('FI', 'Mary')).toBe('m');
  });
  test('country and zip are normalised AND hashed (unlike Google)', () => {
    const { values } = metaIdentifiers({ country: 'US', zip: '94043-1351', email: 'a@b.co' });
    expect(values.COUNTRY).toBe(sha('us'));
    expect(values.ZIP).toBe(sha('94043'));
    expect(metaIdentifiers({ zip: 'SW1A 1AA' }).values.ZIP).toBe(sha('sw1a1aa'));
  });
  test('gender and birth date parts', () => {
    expect(metaIdentifiers({ gen: 'Female', doby: '1984', dobm: '3', dobd: '07' }).values).toEqual({ GEN: sha('f'), DOBY: sha('1984'), DOBM: sha('03'), DOBD: sha('07') });
  });
  test('MADID and EXTERN_ID are sent in clear; a value already hashed passes through', () => {
    const madid = '6D92078A-8246-4BA4-AE5B-76104861E7DC';
    const hashed = sha('x@y.com');
    expect(metaIdentifiers({ madid, extern_id: 'crm-42', email: hashed.toUpperCase() }).values).toEqual({ MADID: madid.toLowerCase(), EXTERN_ID: 'crm-42', EMAIL: hashed });
  });
  test('unusable values are reported, not hashed', () => {
    expect(metaIdentifiers({ email: 'nope', country: 'United States' })).toEqual({ values: {}, unusable: ['email is not a valid EMAIL', 'country is not a valid COUNTRY'] });
  });
});

// ------------------------------------------------------------------------------ Meta specifics

describe('meta connector specifics', () => {
  let fake: MetaFake;
  afterEach(async () => fake?.close());
  const usersCalls = () => fake.server.calls.filter((c) => c.path.endsWith('/users'));
  const failure = async (p: Promise<unknown>) => {
    const e = await p.then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(ConnectorError);
    return e as ConnectorError;
  };

  test('defaultCountryCode: an ISO country or a calling code; an unknown one stops the run before anything is sent', async () => {
    fake = await startMetaFake();
    const audienceId = fake.createAudience('phones');
    const rows = [{ key: 'it', fields: { phone: '391 234 5678' } }];
    for (const defaultCountryCode of ['IT', '39']) {
      expect(await meta.write(ctxFor(fake), { object: 'audience_members', op: 'add', rows, options: { audienceId, defaultCountryCode } })).toMatchObject([{ status: 'ok' }]);
    }
    expect(fake.members(audienceId).map((m) => m.PHONE)).toEqual([sha('393912345678')]);
    const calls = usersCalls().length;
    const error = await failure(meta.write(ctxFor(fake), { object: 'audience_members', op: 'add', rows, options: { audienceId, defaultCountryCode: '999' } }));
    expect(error.failure).toBe('config');
    expect(error.message).toContain('"999" is neither an ISO 3166 country');
    expect(usersCalls()).toHaveLength(calls);
  });

  test('a batch over 10,000 rows goes as one upload session: same session_id, batch_seq 1..n, last flag on the last', async () => {
    fake = await startMetaFake();
    const audienceId = fake.createAudience('big');
    const rows = Array.from({ length: 12_001 }, (_, i) => ({ key: `k${i}`, fields: { email: `u${i}@example.com` } }));
    const outcomes = await meta.write(ctxFor(fake), { object: 'audience_members', op: 'add', rows, options: { audienceId } });
    expect(outcomes.every((o) => o.status === 'ok')).toBe(true);
    const sessions = usersCalls().map((c) => (c.body as { session: { session_id: number; batch_seq: number; last_batch_flag: boolean; estimated_num_total: number } }).session);
    expect(sessions.map((s) => [s.batch_seq, s.last_batch_flag, s.estimated_num_total])).toEqual([
      [1, false, 12_001],
      [2, true, 12_001],
    ]);
    expect(new Set(sessions.map((s) => s.session_id)).size).toBe(1);
    expect(usersCalls().map((c) => (c.body as { payload: { data: unknown[] } }).payload.data.length)).toEqual([10_000, 2_001]);
    expect(fake.members(audienceId)).toHaveLength(12_001);
  });

  test.each([17, 613, 80004, 4])('error code %i is rate limiting (retryable), whatever the HTTP status', async (code) => {
    fake = await startMetaFake();
    const audienceId = fake.createAudience('a');
    fake.failNextWithCode(code);
    const error = await failure(meta.write(ctxFor(fake), { object: 'audience_members', op: 'add', rows: [{ key: 'a', fields: { email: 'a@x.com' } }], options: { audienceId } }));
    expect(error.failure).toBe('rate_limited');
    expect(error.message).toContain(`Meta error ${code}`);
    expect(fake.members(audienceId)).toHaveLength(0);
  });

  test('a flagged audience (100/1713230) stops the run as config; a bad token is auth', async () => {
    fake = await startMetaFake();
    const audienceId = fake.createAudience('a');
    fake.failNextWithCode(100, 1713230);
    const row = [{ key: 'a', fields: { email: 'a@x.com' } }];
    expect((await failure(meta.write(ctxFor(fake), { object: 'audience_members', op: 'add', rows: row, options: { audienceId } }))).failure).toBe('config');
    const bad = await failure(meta.write(ctxFor(fake, { accessToken: 'EAABbad' }), { object: 'audience_members', op: 'add', rows: row, options: { audienceId } }));
    expect(bad.failure).toBe('auth');
    expect(bad.message).toContain('190');
  });

  test('audienceName finds or creates the audience once, even for concurrent batches', async () => {
    fake = await startMetaFake();
    const ctx = ctxFor(fake);
    const batch = (from: number) => ({ object: 'audience_members', op: 'add' as const, rows: [0, 1].map((i) => ({ key: `k${from + i}`, fields: { email: `u${from + i}@x.com` } })), options: { audienceName: `VIPs ${Date.now()}` } });
    const name = batch(0).options.audienceName;
    await Promise.all([meta.write(ctx, { ...batch(0), options: { audienceName: name } }), meta.write(ctx, { ...batch(2), options: { audienceName: name } })]);
    const created = [...fake.audiences.values()].filter((a) => a.name === name);
    expect(created).toHaveLength(1);
    expect(created[0]!.members).toHaveLength(4);
    // Without an ad account the option cannot work: a config error naming the fix.
    const error = await failure(meta.write(createConnectorContext('meta', meta.config.parse({ accessToken: fake.token, baseUrl: fake.url }), {}), batch(9)));
    expect(error.failure).toBe('config');
  });

  test('match-rate report: identifier types, sent, rejected before sending, and what Meta reported invalid', async () => {
    // A real-format number that Meta's fake refuses (a number that cannot exist, such as
    // +1 555 000 0000 — no US area code 555 — is now rejected before sending instead).
    const badPhone = sha('16505550000');
    fake = await startMetaFake({ invalidValues: new Set([badPhone]) });
    const audienceId = fake.createAudience('a');
    const rows: OutboundRow[] = [
      { key: '1', fields: { email: 'a@x.com', phone: '+1 650 555 1212', country: 'US' } },
      { key: '2', fields: { email: 'b@x.com' } },
      { key: '3', fields: { phone: '+1 650 555 0000' } },
      { key: '4', fields: { email: 'broken', phone: null } },
    ];
    const { outcomes, report } = await writeMetaBatch(ctxFor(fake), { object: 'audience_members', op: 'add', rows, options: { audienceId } });
    expect(outcomes.map((o) => o.status)).toEqual(['ok', 'ok', 'ok', 'rejected']);
    const total = matchRateReport([report, report]);
    expect(total).toMatchObject({ members: 8, sent: 6, rejectedLocally: 2, reportedInvalid: 2, withIdentifier: { email: 4, phone: 4, country: 2 } });
    expect(total.usableShare).toBe(0.5);
    expect(fake.members(audienceId)).toHaveLength(2);
  });
});

// ------------------------------------------------------------------------------ three runs

describe('three runs of a 5,000-member audience through the sync engine', () => {
  test('the audience in Meta ends equal to the warehouse audience; throttling and 5xx retried; no raw email or phone sent', async () => {
    const fake = await startMetaFake({ seed: 7, rateLimitRate: 0.15, serverErrorRate: 0.15 });
    const audienceId = fake.createAudience('engine');
    const engine = await openAudienceEngine({
      destination: '  type: meta\n  config: { accessToken: "${META_TOKEN}", baseUrl: "${META_URL}" }\n  limits: { batch_rows: 250, concurrency: 2 }',
      sync: [
        'source: { table: $SCHEMA.audience }',
        'destination: dest',
        'object: audience_members',
        'mode: add_remove',
        'key: id',
        'mapping: { email: email, phone: phone, fn: first_name, ln: last_name, country: country, zip: zip }',
        `object_options: { audienceId: "${audienceId}" }`,
        'options: { max_attempts: 10, timeout_ms: 5000, max_deletion_share: 1 }',
      ],
      env: { META_TOKEN: fake.token, META_URL: fake.url },
      columns: ['id', 'email', 'phone', 'first_name', 'last_name', 'country', 'zip'],
    });
    try {
      const runs = threeAudiences();
      for (const audience of runs) {
        await engine.setAudience(audience as unknown as Array<Record<string, string | null>>);
        const results = await engine.run();
        expect(results.at(-1)!.status).toBe('success');
      }
      const final = runs[2]!;
      const usable = (p: Person) => (p.email !== null && p.email !== 'not-an-email') || (p.phone !== null && p.phone !== 'n/a');
      const members = fake.members(audienceId);
      const emailHash = (p: Person) => sha(p.email!.trim().toLowerCase());
      const phoneHash = (p: Person) => sha(p.phone!.replace(/\D/g, ''));
      expect(members).toHaveLength(final.filter(usable).length);
      expect(new Set(members.map((m) => m.EMAIL).filter(Boolean))).toEqual(new Set(final.filter((p) => p.email && p.email !== 'not-an-email').map(emailHash)));
      expect(new Set(members.map((m) => m.PHONE).filter(Boolean))).toEqual(new Set(final.filter((p) => p.phone && p.phone !== 'n/a').map(phoneHash)));
      // Unusable members are visible as rejected rows with the reason, never sent.
      const rejected = await engine.rejected();
      // (the engine keeps a rejected row of someone who left; those are unusable people from earlier runs)
      const rejectedKeys = new Set(rejected.map((r) => r.key));
      for (const p of final.filter((x) => !usable(x))) expect(rejectedKeys.has(p.id)).toBe(true);
      const everyoneById = new Map(runs.flat().map((p) => [p.id, p]));
      for (const key of rejectedKeys) expect(usable(everyoneById.get(key)!)).toBe(false);
      expect(rejected[0]!.reason).toContain('no usable email, phone');
      // Faults happened, and were of every kind.
      expect(fake.server.stats.rateLimited).toBeGreaterThan(3);
      expect(fake.server.stats.serverErrors).toBeGreaterThan(3);
      expect(fake.refusals).toEqual([]);
      // No raw email or phone anywhere in what Meta received (bodies, paths, queries).
      const everyone = [...new Map(runs.flat().map((p) => [p.id, p])).values()];
      const sent = fake.server.calls.map((c) => `${c.path}?${c.query.toString()}\n${c.rawBody}`).join('\n').toLowerCase();
      for (const p of everyone) {
        if (p.email && p.email.includes('@')) expect(sent.includes(p.email.trim().toLowerCase())).toBe(false);
        if (p.phone && p.phone !== 'n/a') expect(sent.includes(p.phone.replace(/\D/g, ''))).toBe(false);
      }
    } finally {
      await engine.cleanup();
      await fake.close();
    }
  });
});
