/**
 * The linkedin connector against `startLinkedinFake`: the conformance suite for segment users
 * and companies, LinkedIn's email hashing (whitespace removed, lowercased; expected digests
 * computed here with node:crypto — destinations.md quotes no LinkedIn example), the versioned
 * headers (the fake refuses requests without them), per-element statuses mapped to rows, and
 * three runs of a 5,000-member audience through the real sync engine with 429/5xx injected —
 * the segment ends equal to the audience, with no raw email sent.
 */
import { createHash } from 'node:crypto';
import linkedin, { linkedinEmailHash, writeLinkedinBatch } from '../../connectors/linkedin';
import { createConnectorContext, type ConnectorError } from '../../connectors/kit';
import { startLinkedinFake, type LinkedinFake } from '../fakes/linkedin-fake';
import { statusAnswer } from '../fakes/ad-fake-server';
import { describeConnectorConformance, type ConnectorFake } from './conformance';
import { openAudienceEngine, threeAudiences } from './audience-engine-harness';

const sha = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const config = (fake: LinkedinFake) => ({ accessToken: fake.token, baseUrl: fake.url, rateLimitWaitMs: 5 });

async function usersFake(): Promise<ConnectorFake<typeof linkedin.config>> {
  const fake = await startLinkedinFake();
  const keys = new Map<string, string>();
  return {
    config: config(fake),
    badCredentialsConfig: { ...config(fake), accessToken: 'wrong' },
    object: 'segment_users',
    options: { segmentId: '31' },
    rows: (count, variant = 0) =>
      Array.from({ length: count }, (_, i) => {
        keys.set(`m${i}`, `SHA256_EMAIL:${sha(`member${i}@example.com`)}`);
        return { key: `m${i}`, fields: { email: ` Member${i}@Example.com`, v: variant } };
      }),
    invalidRow: () => ({ key: 'bad', fields: { email: 'nope' } }),
    records: async () => {
      const byId = new Map(fake.members('31', 'users').flatMap((u) => u.map((id) => [id, u] as const)));
      const out = new Map<string, Record<string, unknown>>();
      for (const [key, id] of keys) if (byId.has(id)) out.set(key, { email: id.split(':')[1], v: 'ignored' });
      return out;
    },
    failNext: (count, status) => fake.server.failNext(count, statusAnswer(status)),
    close: () => fake.close(),
  };
}

async function companiesFake(): Promise<ConnectorFake<typeof linkedin.config>> {
  const fake = await startLinkedinFake();
  return {
    config: config(fake),
    object: 'segment_companies',
    options: { segmentId: '32' },
    rows: (count) => Array.from({ length: count }, (_, i) => ({ key: `acc${i}`, fields: { companyWebsiteDomain: `company${i}.com` } })),
    records: async () => new Map(fake.members('32', 'companies').map((m) => { const d = m[0]!.split(':')[1]!; return [`acc${/company(\d+)/.exec(d)![1]}`, { companyWebsiteDomain: d }]; })),
    failNext: (count, status) => fake.server.failNext(count, statusAnswer(status)),
    close: () => fake.close(),
  };
}

describe('segment_users', () => describeConnectorConformance(linkedin, usersFake, { storedValue: (v) => (typeof v === 'number' ? 'ignored' : sha(String(v).replace(/\s+/g, '').toLowerCase())) }));
describe('segment_companies', () => describeConnectorConformance(linkedin, companiesFake));

describe('linkedin specifics', () => {
  test('email: every whitespace removed, lowercased, SHA-256', () => {
    expect(linkedinEmailHash(' john . smith@Example.COM\t')).toBe(sha('john.smith@example.com'));
    expect(linkedinEmailHash('nope')).toBeNull();
  });

  test('versioned headers are sent; per-element statuses map to rows; the report counts them', async () => {
    const fake = await startLinkedinFake();
    try {
      const ctx = createConnectorContext('linkedin', linkedin.config.parse(config(fake)), {});
      const { outcomes, report } = await writeLinkedinBatch(ctx, {
        object: 'segment_users',
        op: 'add',
        rows: [{ key: '1', fields: { email: 'a@x.com' } }, { key: '2', fields: { email: 'ab'.repeat(32).toUpperCase() + 'zz' } }, { key: '3', fields: { google_aid: 'AAID-1' } }, { key: '4', fields: {} }],
        options: { segmentId: '5' },
      });
      expect(outcomes.map((o) => o.status)).toEqual(['ok', 'rejected', 'ok', 'rejected']);
      expect(report).toMatchObject({ members: 4, sent: 2, rejectedLocally: 2 });
      const call = fake.server.calls.at(-1)!;
      expect(call.headers).toMatchObject({ 'linkedin-version': '202603', 'x-restli-protocol-version': '2.0.0', 'x-restli-method': 'BATCH_CREATE' });
      expect(fake.members('5', 'users')).toEqual([[`SHA256_EMAIL:${sha('a@x.com')}`], ['GOOGLE_AID:aaid-1']]);
      expect(fake.refusals).toEqual([]);
    } finally {
      await fake.close();
    }
  });
});

describe('segments found or created by name', () => {
  const headers = (fake: LinkedinFake) => ({ authorization: `Bearer ${fake.token}`, 'linkedin-version': '202603', 'x-restli-protocol-version': '2.0.0', 'content-type': 'application/json' });
  const ctxFor = (fake: LinkedinFake, extra: Record<string, unknown> = {}) => createConnectorContext('linkedin', linkedin.config.parse({ ...config(fake), adAccountId: '5001', segmentReadyWaitMs: 20, ...extra }), {});
  const users = (from: number) => Array.from({ length: 3 }, (_, i) => ({ key: `u${from + i}`, fields: { email: `u${from + i}@x.com` } }));

  test('a missing segment is created once (documented create body), waited for, then filled; later and concurrent batches reuse it', async () => {
    const fake = await startLinkedinFake({ knownSegmentsOnly: true });
    try {
      const ctx = ctxFor(fake);
      const started = Date.now();
      const [a, b] = await Promise.all([
        writeLinkedinBatch(ctx, { object: 'segment_users', op: 'add', rows: users(0), options: { segmentName: 'VIP buyers' } }),
        writeLinkedinBatch(ctx, { object: 'segment_users', op: 'add', rows: users(3), options: { segmentName: 'VIP buyers' } }),
      ]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(20);
      expect([...a.outcomes, ...b.outcomes].every((o) => o.status === 'ok')).toBe(true);
      expect(fake.created).toEqual([
        { id: '9000', name: 'VIP buyers', account: 'urn:li:sponsoredAccount:5001', type: 'USER_STREAMING', sourcePlatform: 'STREAMING', accessPolicy: 'PRIVATE', destinations: [{ destination: 'LINKEDIN' }], description: 'Managed by warehouse-cdp' },
      ]);
      expect(fake.members('9000', 'users')).toHaveLength(6);
      // Companies with the same name are another (COMPANY) segment.
      await writeLinkedinBatch(ctx, { object: 'segment_companies', op: 'add', rows: [{ key: 'c1', fields: { companyWebsiteDomain: 'acme.com' } }], options: { segmentName: 'VIP buyers' } });
      expect(fake.created.map((c) => [c.id, c.type])).toEqual([['9000', 'USER_STREAMING'], ['9001', 'COMPANY_STREAMING']]);
      expect(fake.refusals).toEqual([]);
    } finally {
      await fake.close();
    }
  });

  test('an existing segment is found by name in the account (paged search), not created again', async () => {
    const fake = await startLinkedinFake({ knownSegmentsOnly: true });
    try {
      const body = (name: string) => JSON.stringify({ name, account: 'urn:li:sponsoredAccount:5001', type: 'USER_STREAMING', sourcePlatform: 'STREAMING', accessPolicy: 'PRIVATE', destinations: [{ destination: 'LINKEDIN' }] });
      for (let i = 0; i < 120; i++) await fetch(`${fake.url}/dmpSegments`, { method: 'POST', headers: headers(fake), body: body(i === 110 ? 'Churn risk' : `other ${i}`) });
      const { outcomes } = await writeLinkedinBatch(ctxFor(fake), { object: 'segment_users', op: 'add', rows: users(0), options: { segmentName: 'Churn risk' } });
      expect(outcomes.every((o) => o.status === 'ok')).toBe(true);
      expect(fake.created).toHaveLength(120);
      expect(fake.members(fake.created[110]!.id, 'users')).toHaveLength(3);
      expect(fake.server.calls.filter((c) => c.method === 'GET' && c.path === '/dmpSegments').map((c) => c.query.get('start'))).toEqual(['0', '100']);
    } finally {
      await fake.close();
    }
  });

  test('segmentName needs adAccountId; an unknown segment id is a config failure; options must name one segment', async () => {
    const fake = await startLinkedinFake({ knownSegmentsOnly: true });
    try {
      const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as ConnectorError);
      const noAccount = await failure(writeLinkedinBatch(ctxFor(fake, { adAccountId: undefined }), { object: 'segment_users', op: 'add', rows: users(0), options: { segmentName: 'X' } }));
      expect(noAccount).toMatchObject({ failure: 'config', message: expect.stringContaining('adAccountId') });
      const unknown = await failure(writeLinkedinBatch(ctxFor(fake), { object: 'segment_users', op: 'add', rows: users(0), options: { segmentId: '123' } }));
      expect(unknown).toMatchObject({ failure: 'config' });
      const both = await failure(writeLinkedinBatch(ctxFor(fake), { object: 'segment_users', op: 'add', rows: users(0), options: { segmentId: '1', segmentName: 'X' } }));
      expect(both).toMatchObject({ failure: 'config', message: expect.stringContaining('give segmentId, or segmentName') });
    } finally {
      await fake.close();
    }
  });
});

describe('three runs of a 5,000-member audience through the sync engine', () => {
  test('the segment ends equal to the audience; 429/5xx retried; no raw email sent', async () => {
    const fake = await startLinkedinFake({ seed: 4, rateLimitRate: 0.12, serverErrorRate: 0.12 });
    const engine = await openAudienceEngine({
      destination: '  type: linkedin\n  config: { accessToken: "${LI_TOKEN}", baseUrl: "${LI_URL}", rateLimitWaitMs: 5 }\n  limits: { batch_rows: 250, concurrency: 1 }',
      sync: ['source: { table: $SCHEMA.audience }', 'destination: dest', 'object: segment_users', 'mode: add_remove', 'key: id', 'mapping: { email: email }', 'object_options: { segmentId: "88" }', 'options: { max_attempts: 10, timeout_ms: 5000, max_deletion_share: 1 }'],
      env: { LI_TOKEN: fake.token, LI_URL: fake.url },
      columns: ['id', 'email'],
    });
    try {
      const runs = threeAudiences();
      for (const audience of runs) {
        await engine.setAudience(audience.map((p) => ({ id: p.id, email: p.email })));
        expect((await engine.run()).at(-1)!.status).toBe('success');
      }
      const final = runs[2]!;
      const withEmail = final.filter((p) => p.email !== null && p.email !== 'not-an-email');
      const members = fake.members('88', 'users');
      expect(new Set(members.flat())).toEqual(new Set(withEmail.map((p) => `SHA256_EMAIL:${sha(p.email!.trim().toLowerCase())}`)));
      expect(members).toHaveLength(withEmail.length);
      const rejected = new Set((await engine.rejected()).map((r) => r.key));
      expect(final.filter((x) => !withEmail.includes(x) && !rejected.has(x.id)).map((x) => x.id)).toEqual([]);
      expect(fake.server.stats.rateLimited + fake.server.stats.serverErrors).toBeGreaterThan(3);
      expect(fake.refusals).toEqual([]);
      const sent = fake.server.calls.map((c) => c.rawBody).join('\n').toLowerCase();
      for (const p of new Map(runs.flat().map((x) => [x.id, x])).values()) if (p.email && p.email.includes('@')) expect(sent.includes(p.email.trim().toLowerCase())).toBe(false);
    } finally {
      await engine.cleanup();
      await fake.close();
    }
  });
});
