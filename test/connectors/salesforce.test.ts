/**
 * The salesforce connector against `startSalesforceFake`: the conformance suite (through the
 * OAuth refresh-token flow), Collections for small batches and Bulk 2.0 jobs for large ones
 * (shuffled results matched by external id, failed rows rejected with Salesforce's reason,
 * unprocessed rows retried, a poll timeout), session refresh, Sforce-Limit-Info, and through
 * the real sync engine: three runs of a 5,000-contact audience (adds, updates, removals)
 * with REQUEST_LIMIT_EXCEEDED, 5xx, per-row errors and unprocessed rows injected, and the B2B
 * demo — accounts, then contacts linked to them, following a person who changes company.
 */
import salesforce, { resetSalesforceCaches } from '../../connectors/salesforce';
import { ConnectorError, createConnectorContext, type OutboundRow } from '../../connectors/kit';
import { startSalesforceFake, type SalesforceFake, type SalesforceFakeOptions } from '../fakes/salesforce-fake';
import { statusAnswer } from '../fakes/ad-fake-server';
import { describeConnectorConformance, type ConnectorFake } from './conformance';
import { openAudienceEngine, threeAudiences } from './audience-engine-harness';

const oauthConfig = (fake: SalesforceFake, extra: Record<string, unknown> = {}) => ({
  baseUrl: fake.url,
  clientId: fake.clientId,
  clientSecret: fake.clientSecret,
  refreshToken: fake.refreshToken,
  tokenUrl: fake.tokenUrl,
  bulkPollIntervalMs: 5,
  ...extra,
});
const ctxFor = (fake: SalesforceFake, extra: Record<string, unknown> = {}) => createConnectorContext('salesforce', salesforce.config.parse(oauthConfig(fake, extra)), { timeoutMs: 10_000 });
const invalidEmail = (_: string, f: Record<string, unknown>): [string, string] | undefined => (typeof f.Email === 'string' && !f.Email.includes('@') ? ['INVALID_EMAIL_ADDRESS', `Email: invalid email address: ${f.Email}`] : undefined);
const contactRows = (count: number, variant = 0): OutboundRow[] => Array.from({ length: count }, (_, i) => ({ key: `C-${i}`, fields: { LastName: `Last${i}`, FirstName: `First${i}v${variant}`, Email: `c${i}@example.com` } }));

afterEach(() => resetSalesforceCaches());

async function conformanceFake(): Promise<ConnectorFake<typeof salesforce.config>> {
  const fake = await startSalesforceFake({ recordFault: invalidEmail });
  return {
    config: oauthConfig(fake),
    badCredentialsConfig: { ...oauthConfig(fake), refreshToken: 'revoked' },
    object: 'contacts',
    rows: contactRows,
    invalidRow: () => ({ key: 'C-bad', fields: { LastName: 'Bad', Email: 'not-an-email' } }),
    records: async () => new Map(fake.records('Contact').map((r) => [String(r.fields.External_Id__c), r.fields])),
    failNext: (count, status) => fake.server.failNext(count, statusAnswer(status)),
    close: () => fake.close(),
  };
}

describeConnectorConformance(salesforce, conformanceFake);

describe('salesforce connector specifics', () => {
  let fake: SalesforceFake;
  const start = async (options: SalesforceFakeOptions = {}) => (fake = await startSalesforceFake({ recordFault: invalidEmail, ...options }));
  afterEach(async () => fake?.close());
  const calls = (re: RegExp) => fake.server.calls.filter((c) => re.test(`${c.method} ${c.path}`));
  const failure = async (p: Promise<unknown>) => {
    const e = await p.then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(ConnectorError);
    return e as ConnectorError;
  };

  test('a small batch goes through Collections in chunks of 200, results in order, with ids and created flags', async () => {
    await start();
    const rows = contactRows(450);
    rows[7] = { key: 'C-7', fields: { FirstName: 'NoLast', Email: 'x@y.com' } };
    const outcomes = await salesforce.write(ctxFor(fake), { object: 'contacts', op: 'upsert', rows, options: {} });
    expect(calls(/PATCH .*composite\/sobjects\/Contact\/External_Id__c/).map((c) => (c.body as { records: unknown[] }).records.length)).toEqual([200, 200, 50]);
    expect(calls(/jobs\/ingest/)).toHaveLength(0);
    expect(outcomes[7]).toEqual({ status: 'rejected', reason: 'REQUIRED_FIELD_MISSING: Required fields are missing: [LastName] (LastName)' });
    expect(outcomes.filter((o) => o.status === 'ok')).toHaveLength(449);
    expect(outcomes[0]).toEqual({ status: 'ok', externalId: fake.byExternalId('Contact', 'External_Id__c', 'C-0')!.Id, created: true });
    const again = await salesforce.write(ctxFor(fake), { object: 'contacts', op: 'upsert', rows: rows.slice(0, 2), options: {} });
    expect(again.map((o) => o.status === 'ok' && o.created)).toEqual([false, false]);
  });

  test('a large batch is a Bulk 2.0 job: shuffled results matched by external id, failed rows rejected, unprocessed rows retried', async () => {
    await start({ unprocessedRate: 0.05, pollsToComplete: 3 });
    const rows = contactRows(3000);
    rows[10] = { key: 'C-10', fields: { LastName: 'L', Email: 'broken' } };
    rows[11] = { key: 'C-11', fields: { LastName: 'L, "quoted"\nline', Email: null } };
    const outcomes = await salesforce.write(ctxFor(fake), { object: 'contacts', op: 'upsert', rows, options: {} });
    const [job] = [...fake.jobs.values()];
    expect(job!.state).toBe('JobComplete');
    expect(calls(/GET .*jobs\/ingest\/\w+$/).length).toBeGreaterThanOrEqual(4);
    expect(outcomes[10]).toMatchObject({ status: 'rejected', reason: expect.stringContaining('INVALID_EMAIL_ADDRESS') });
    const retried = outcomes.filter((o) => o.status === 'retry');
    expect(retried.length).toBeGreaterThan(50);
    expect(retried.every((o) => o.status === 'retry' && o.reason.includes('did not process'))).toBe(true);
    rows.forEach((row, i) => {
      const o = outcomes[i]!;
      const record = fake.byExternalId('Contact', 'External_Id__c', row.key);
      if (o.status === 'ok') expect(o.externalId).toBe(record!.Id);
      if (o.status === 'retry') expect(record).toBeUndefined();
    });
    // CSV quoting survives the round trip; null went as #N/A.
    expect(fake.byExternalId('Contact', 'External_Id__c', 'C-11')?.fields).toMatchObject({ LastName: 'L, "quoted"\nline', Email: null });
  });

  test('a job that does not finish in bulkTimeoutMs: rows retried, job aborted', async () => {
    await start({ pollsToComplete: 1_000 });
    const outcomes = await salesforce.write(ctxFor(fake, { bulkTimeoutMs: 50 }), { object: 'contacts', op: 'upsert', rows: contactRows(30), options: { bulkThreshold: '10' } });
    expect(outcomes.every((o) => o.status === 'retry' && o.reason.includes('did not finish'))).toBe(true);
    expect([...fake.jobs.values()][0]!.state).toBe('Aborted');
  });

  test('an expired session is refreshed once with the refresh token, and the call repeated', async () => {
    await start();
    const ctx = ctxFor(fake);
    await salesforce.write(ctx, { object: 'contacts', op: 'upsert', rows: contactRows(2), options: {} });
    fake.expireSessions();
    const outcomes = await salesforce.write(ctx, { object: 'contacts', op: 'upsert', rows: contactRows(3, 1), options: {} });
    expect(outcomes.every((o) => o.status === 'ok')).toBe(true);
    expect(fake.tokenRefreshes).toBe(2);
    expect(fake.records('Contact')).toHaveLength(3);
    // An access token alone cannot be refreshed: auth, with a hint naming the refresh flow.
    const stale = createConnectorContext('salesforce', salesforce.config.parse({ baseUrl: fake.url, accessToken: 'expired' }), {});
    const error = await failure(salesforce.write(stale, { object: 'contacts', op: 'upsert', rows: contactRows(1), options: {} }));
    expect(error.failure).toBe('auth');
    expect(error.hint).toContain('refreshToken');
  });

  test('Sforce-Limit-Info near the daily allocation stops sending (rate_limited); REQUEST_LIMIT_EXCEEDED is rate_limited', async () => {
    await start();
    fake.setApiUsage(4_900, 5_000);
    const ctx = ctxFor(fake);
    await salesforce.write(ctx, { object: 'contacts', op: 'upsert', rows: contactRows(1), options: {} });
    const before = fake.server.calls.length;
    const error = await failure(salesforce.write(ctx, { object: 'contacts', op: 'upsert', rows: contactRows(1), options: {} }));
    expect(error.failure).toBe('rate_limited');
    expect(error.message).toContain('4901 of its 5000');
    expect(fake.server.calls.length).toBe(before);
    resetSalesforceCaches();
    fake.setApiUsage(0, 5_000);
    fake.server.failNext(1, () => ({ status: 403, body: [{ errorCode: 'REQUEST_LIMIT_EXCEEDED', message: 'TotalRequests Limit exceeded.' }] }));
    expect((await failure(salesforce.write(ctxFor(fake), { object: 'contacts', op: 'upsert', rows: contactRows(1), options: {} }))).failure).toBe('rate_limited');
  });

  test('mirror delete uses the remembered record id, or looks the external id up; absent records are ok', async () => {
    await start();
    const ctx = ctxFor(fake);
    const added = await salesforce.write(ctx, { object: 'leads', op: 'upsert', rows: [0, 1, 2].map((i) => ({ key: `L-${i}`, fields: { LastName: `L${i}`, Company: 'Acme' } })), options: {} });
    const id0 = added[0]!.status === 'ok' ? added[0]!.externalId : undefined;
    const outcomes = await salesforce.write(ctx, { object: 'leads', op: 'delete', rows: [{ key: 'L-0', fields: {}, externalId: id0 }, { key: 'L-1', fields: {} }, { key: 'L-9', fields: {} }], options: {} });
    expect(outcomes.map((o) => o.status)).toEqual(['ok', 'ok', 'ok']);
    expect(fake.records('Lead').map((r) => r.fields.External_Id__c)).toEqual(['L-2']);
  });

  test('insert mode creates (Collections, then Bulk insert above bulkThreshold); a taken external id is DUPLICATE_VALUE, rejected', async () => {
    await start({ pollsToComplete: 1 });
    const ctx = ctxFor(fake);
    const first = await salesforce.write(ctx, { object: 'contacts', op: 'insert', rows: contactRows(3), options: {} });
    expect(first.every((o) => o.status === 'ok' && o.created === true)).toBe(true);
    expect(calls(/POST .*\/composite\/sobjects$/)).toHaveLength(1);
    const again = await salesforce.write(ctx, { object: 'contacts', op: 'insert', rows: contactRows(2, 1), options: {} });
    expect(again.map((o) => o.status === 'rejected' && o.reason.startsWith('DUPLICATE_VALUE'))).toEqual([true, true]);
    expect(fake.byExternalId('Contact', 'External_Id__c', 'C-0')!.fields.FirstName).toBe('First0v0');
    // Above bulkThreshold: one Bulk insert job, results matched by external id.
    const rows = contactRows(30).slice(3);
    const bulk = await salesforce.write(ctx, { object: 'contacts', op: 'insert', rows, options: { bulkThreshold: '10' } });
    expect(bulk.every((o) => o.status === 'ok' && o.created === true)).toBe(true);
    const [job] = [...fake.jobs.values()];
    expect(job).toMatchObject({ operation: 'insert', state: 'JobComplete' });
    expect(job!.externalIdFieldName).toBeUndefined();
    expect(fake.records('Contact')).toHaveLength(30);
    expect(fake.refusals).toEqual([]);
  });

  test('update mode changes only records Salesforce holds (ids remembered or looked up by SOQL), never creates', async () => {
    await start({ queryPageSize: 2 });
    const ctx = ctxFor(fake);
    const added = await salesforce.write(ctx, { object: 'contacts', op: 'upsert', rows: contactRows(5), options: {} });
    const id0 = added[0]!.status === 'ok' ? added[0]!.externalId : undefined;
    const rows = contactRows(6, 7);
    rows[0] = { ...rows[0]!, externalId: id0 };
    const outcomes = await salesforce.write(ctx, { object: 'contacts', op: 'update', rows, options: {} });
    expect(outcomes.slice(0, 5).every((o) => o.status === 'ok' && o.created === false)).toBe(true);
    expect(outcomes[5]).toEqual({ status: 'rejected', reason: 'no Contact has External_Id__c C-5, and update mode never creates records' });
    expect(fake.records('Contact')).toHaveLength(5);
    expect(fake.byExternalId('Contact', 'External_Id__c', 'C-3')!.fields.FirstName).toBe('First3v7');
    // One SOQL lookup for the five rows without a remembered id, read over several pages.
    const queries = calls(/GET .*\/query/);
    expect(decodeURIComponent(queries[0]!.query.get('q')!)).toBe("SELECT Id, External_Id__c FROM Contact WHERE External_Id__c IN ('C-1', 'C-2', 'C-3', 'C-4', 'C-5')");
    expect(queries).toHaveLength(2);
    expect(calls(/PATCH .*\/composite\/sobjects$/).map((c) => (c.body as { records: Array<{ id: string }> }).records.every((r) => r.id.startsWith('003')))).toEqual([true]);
    // A record deleted since its id was remembered: rejected, not recreated.
    const gone = await salesforce.write(ctx, { object: 'contacts', op: 'delete', rows: [{ key: 'C-1', fields: {} }], options: {} });
    expect(gone[0]!.status).toBe('ok');
    const stale = await salesforce.write(ctx, { object: 'contacts', op: 'update', rows: [{ key: 'C-1', fields: { LastName: 'X' }, externalId: (outcomes[1] as { externalId: string }).externalId }], options: {} });
    expect(stale[0]).toMatchObject({ status: 'rejected', reason: expect.stringContaining('no longer exists') });
    expect(fake.records('Contact')).toHaveLength(4);
  });

  test('removals above bulkThreshold are one Bulk delete job; removal hardDelete always goes through Bulk hardDelete', async () => {
    await start({ pollsToComplete: 1 });
    const ctx = ctxFor(fake);
    const added = await salesforce.write(ctx, { object: 'accounts', op: 'upsert', rows: Array.from({ length: 40 }, (_, i) => ({ key: `A-${i}`, fields: { Name: `Acme ${i}` } })), options: {} });
    const idOf = (i: number) => (added[i] as { externalId: string }).externalId;
    const removals = Array.from({ length: 25 }, (_, i) => ({ key: `A-${i}`, fields: {}, ...(i % 2 ? { externalId: idOf(i) } : {}) }));
    removals.push({ key: 'A-404', fields: {} });
    const outcomes = await salesforce.write(ctx, { object: 'accounts', op: 'delete', rows: removals, options: { bulkThreshold: '10' } });
    expect(outcomes.every((o) => o.status === 'ok')).toBe(true);
    const jobs = [...fake.jobs.values()];
    expect(jobs.map((j) => j.operation)).toEqual(['delete']);
    expect(jobs[0]!.csv.split('\n')[0]).toBe('Id');
    expect(fake.records('Account')).toHaveLength(15);
    expect(calls(/DELETE .*composite\/sobjects/)).toHaveLength(0);

    const hard = await salesforce.write(ctx, { object: 'accounts', op: 'delete', rows: [{ key: 'A-30', fields: {}, externalId: idOf(30) }, { key: 'A-31', fields: {} }], options: { removal: 'hardDelete' } });
    expect(hard.map((o) => o.status)).toEqual(['ok', 'ok']);
    expect([...fake.jobs.values()].map((j) => j.operation)).toEqual(['delete', 'hardDelete']);
    expect(fake.records('Account')).toHaveLength(13);
    expect(fake.refusals).toEqual([]);
  });

  test('modes are data: every object takes upsert, update, insert, mirror and archive; an unknown op or option is a config failure', async () => {
    for (const object of Object.values(salesforce.objects)) expect([...object.modes].sort()).toEqual(['archive', 'insert', 'mirror', 'update', 'upsert']);
    await start();
    expect((await failure(salesforce.write(ctxFor(fake), { object: 'contacts', op: 'add', rows: contactRows(1), options: {} }))).message).toBe('contacts does not support the add operation');
    const bad = await failure(salesforce.write(ctxFor(fake), { object: 'contacts', op: 'delete', rows: contactRows(1), options: { removal: 'shred' } }));
    expect(bad.failure).toBe('config');
    expect(bad.message).toContain('bad options for contacts: removal');
    expect((await failure(salesforce.write(ctxFor(fake), { object: 'opportunities', op: 'upsert', rows: contactRows(1), options: {} }))).message).toBe('unknown object opportunities');
  });
});

// ------------------------------------------------------------------------------ engine runs

describe('through the sync engine', () => {
  test('three runs of a 5,000-contact audience (adds, updates, removals) end equal to the audience, with faults injected', async () => {
    const fake = await startSalesforceFake({ seed: 3, rateLimitRate: 0.1, serverErrorRate: 0.1, unprocessedRate: 0.03, recordFault: invalidEmail });
    const engine = await openAudienceEngine({
      destination: `  type: salesforce\n  config: { baseUrl: "\${SF_URL}", clientId: "\${SF_ID}", clientSecret: "\${SF_SECRET}", refreshToken: "\${SF_REFRESH}", tokenUrl: "\${SF_TOKEN_URL}", bulkPollIntervalMs: 5, requestLimitWaitMs: 5 }\n  limits: { batch_rows: 2500, concurrency: 2 }`,
      sync: [
        'source: { table: $SCHEMA.audience }',
        'destination: dest',
        'object: contacts',
        'mode: mirror',
        'key: id',
        'mapping: { LastName: last_name, FirstName: first_name, Email: email }',
        'object_options: { bulkThreshold: 1000 }',
        'options: { max_attempts: 10, timeout_ms: 5000, max_deletion_share: 1 }',
      ],
      env: { SF_URL: fake.url, SF_ID: fake.clientId, SF_SECRET: fake.clientSecret, SF_REFRESH: fake.refreshToken, SF_TOKEN_URL: fake.tokenUrl },
      columns: ['id', 'email', 'phone', 'first_name', 'last_name', 'country', 'zip'],
    });
    try {
      const runs = threeAudiences();
      for (const [n, audience] of runs.entries()) {
        await engine.setAudience(audience as unknown as Array<Record<string, string | null>>);
        expect((await engine.run(8)).at(-1)!.status).toBe('success');
        if (n === 1) fake.expireSessions(); // the third run starts with a dead session
      }
      const final = runs[2]!;
      const good = final.filter((p) => p.email !== 'not-an-email');
      const stored = new Map(fake.records('Contact').map((r) => [r.fields.External_Id__c, r.fields]));
      expect([...stored.keys()].sort()).toEqual(good.map((p) => p.id).sort());
      // (the engine skips null fields by default, so a person without an email has no Email)
      for (const p of good) expect(stored.get(p.id)).toMatchObject({ LastName: p.last_name, FirstName: p.first_name, ...(p.email === null ? {} : { Email: p.email }) });
      const rejected = await engine.rejected();
      expect(rejected.filter((r) => final.some((p) => p.id === r.key)).map((r) => r.key).sort()).toEqual(final.filter((p) => p.email === 'not-an-email').map((p) => p.id).sort());
      expect(rejected[0]!.reason).toContain('INVALID_EMAIL_ADDRESS');
      expect(fake.jobs.size).toBeGreaterThan(1);
      expect(fake.server.calls.some((c) => c.path.includes('/composite/sobjects/Contact'))).toBe(true);
      expect(fake.server.stats.rateLimited + fake.server.stats.serverErrors).toBeGreaterThan(5);
      expect(fake.tokenRefreshes).toBeGreaterThanOrEqual(2);
      expect(fake.refusals).toEqual([]);
    } finally {
      await engine.cleanup();
      await fake.close();
    }
  });

  test('update, insert and archive modes: update never creates, insert creates once, archive removes those who left (Bulk delete)', async () => {
    const fake = await startSalesforceFake({ pollsToComplete: 1 });
    const base = (object: string, mode: string, extra: string[] = []) => [
      'source: { table: $SCHEMA.audience }',
      'destination: dest',
      `object: ${object}`,
      `mode: ${mode}`,
      'key: id',
      'mapping: { LastName: last_name, FirstName: first_name }',
      'object_options: { bulkThreshold: 500 }',
      'options: { max_attempts: 5, timeout_ms: 5000, max_deletion_share: 1 }',
      ...extra,
    ];
    const engine = await openAudienceEngine({
      destination: `  type: salesforce\n  config: { baseUrl: "\${SF_URL}", clientId: "\${SF_ID}", clientSecret: "\${SF_SECRET}", refreshToken: "\${SF_REFRESH}", tokenUrl: "\${SF_TOKEN_URL}", bulkPollIntervalMs: 5 }`,
      sync: base('contacts', 'insert'),
      extraSyncs: { updates: base('contacts', 'update'), leavers: base('contacts', 'archive') },
      env: { SF_URL: fake.url, SF_ID: fake.clientId, SF_SECRET: fake.clientSecret, SF_REFRESH: fake.refreshToken, SF_TOKEN_URL: fake.tokenUrl },
      columns: ['id', 'first_name', 'last_name'],
    });
    try {
      const people = (from: number, to: number, v: string) => Array.from({ length: to - from }, (_, k) => ({ id: `P-${from + k}`, first_name: `F${from + k}${v}`, last_name: `L${from + k}` }));
      await engine.setAudience(people(0, 1200, 'a'));
      expect((await engine.run()).at(-1)!.status).toBe('success');
      expect(fake.records('Contact')).toHaveLength(1200);
      expect([...fake.jobs.values()].map((j) => j.operation)).toEqual(['insert']);
      // Update mode: the first 1,200 change, 100 new people are rejected (never created).
      await engine.setAudience(people(0, 1300, 'b'));
      const [updated] = await engine.runSync('updates', 1);
      expect(updated!.counts).toMatchObject({ succeeded: 1200, rejected: 100 });
      expect(fake.records('Contact')).toHaveLength(1200);
      expect(fake.byExternalId('Contact', 'External_Id__c', 'P-7')!.fields.FirstName).toBe('F7b');
      // Archive: the first run only learns the audience; 900 leave → one Bulk delete job.
      await engine.setAudience(people(0, 1200, 'b'));
      expect((await engine.runSync('leavers')).at(-1)!.status).toBe('success');
      await engine.setAudience(people(900, 1200, 'b'));
      const [archived] = await engine.runSync('leavers', 1);
      expect(archived!.counts).toMatchObject({ removed: 900, succeeded: 900 });
      expect(fake.records('Contact').map((r) => r.fields.External_Id__c).sort()).toEqual(people(900, 1200, '').map((p) => p.id).sort());
      expect([...fake.jobs.values()].map((j) => j.operation)).toEqual(['insert', 'delete']);
      expect(fake.refusals).toEqual([]);
    } finally {
      await engine.cleanup();
      await fake.close();
    }
  });

  test('B2B demo: accounts, then their people as contacts linked to them; a person who changes company follows', async () => {
    const fake = await startSalesforceFake();
    const engine = await openAudienceEngine({
      destination: `  type: salesforce\n  config: { baseUrl: "\${SF_URL}", clientId: "\${SF_ID}", clientSecret: "\${SF_SECRET}", refreshToken: "\${SF_REFRESH}", tokenUrl: "\${SF_TOKEN_URL}", bulkPollIntervalMs: 5 }`,
      sync: ['source: { table: $SCHEMA.accounts }', 'destination: dest', 'object: accounts', 'mode: upsert', 'key: account_id', 'mapping: { Name: name, Website: domain }'],
      extraSyncs: {
        people: [
          'source: { table: $SCHEMA.people }',
          'destination: dest',
          'object: contacts',
          'mode: upsert',
          'key: person_id',
          'mapping: { LastName: last_name, Email: email, account_id: account_id }',
          'object_options: { accountKeyField: account_id }',
        ],
      },
      env: { SF_URL: fake.url, SF_ID: fake.clientId, SF_SECRET: fake.clientSecret, SF_REFRESH: fake.refreshToken, SF_TOKEN_URL: fake.tokenUrl },
      columns: ['account_id', 'name', 'domain', 'person_id', 'last_name', 'email'],
    });
    try {
      const accounts = [
        { account_id: 'acc-acme', name: 'Acme', domain: 'acme.com' },
        { account_id: 'acc-globex', name: 'Globex', domain: 'globex.com' },
      ];
      const people = (annAt: string) => [
        { person_id: 'per-1', last_name: 'Ann', email: 'ann@acme.com', account_id: annAt },
        { person_id: 'per-2', last_name: 'Bob', email: 'bob@acme.com', account_id: 'acc-acme' },
        { person_id: 'per-3', last_name: 'Cy', email: 'cy@globex.com', account_id: 'acc-globex' },
      ];
      const pad = (rows: Array<Record<string, string>>) => rows.map((r) => ({ account_id: null, name: null, domain: null, person_id: null, last_name: null, email: null, ...r }));
      await engine.setAudience(pad(accounts), 'accounts');
      await engine.setAudience(pad(people('acc-acme')), 'people');
      expect((await engine.run()).at(-1)!.status).toBe('success');
      expect((await engine.runSync('people')).at(-1)!.status).toBe('success');
      const accountId = (ext: string) => fake.byExternalId('Account', 'External_Id__c', ext)!.Id;
      const accountOf = (person: string) => fake.byExternalId('Contact', 'External_Id__c', person)!.fields.AccountId;
      expect(fake.records('Account')).toHaveLength(2);
      expect([accountOf('per-1'), accountOf('per-2'), accountOf('per-3')]).toEqual([accountId('acc-acme'), accountId('acc-acme'), accountId('acc-globex')]);
      // Ann moves to Globex (a new identity edge puts her profile under another company).
      await engine.setAudience(pad(people('acc-globex')), 'people');
      expect((await engine.runSync('people')).at(-1)!.status).toBe('success');
      expect(accountOf('per-1')).toBe(accountId('acc-globex'));
      expect(fake.records('Contact')).toHaveLength(3);
      expect(fake.byExternalId('Contact', 'External_Id__c', 'per-1')!.fields.Email).toBe('ann@acme.com');
    } finally {
      await engine.cleanup();
      await fake.close();
    }
  });
});
