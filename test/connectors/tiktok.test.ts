/**
 * The tiktok connector against `startTiktokFake`: the conformance suite, TikTok's email
 * hashing (expected digests computed here with node:crypto — destinations.md quotes no
 * TikTok example), HTTP 200 with a non-zero `code` treated as a failure, and three runs of a
 * 5,000-member audience through the real sync engine with throttling (code 40100) and 5xx —
 * the audience ends equal to the warehouse audience, with no raw email or phone sent.
 */
import { createHash } from 'node:crypto';
import tiktok, { tiktokEmailHash, tiktokIds } from '../../connectors/tiktok';
import { ConnectorError, createConnectorContext } from '../../connectors/kit';
import { startTiktokFake, type TiktokFake } from '../fakes/tiktok-fake';
import { statusAnswer } from '../fakes/ad-fake-server';
import { describeConnectorConformance, type ConnectorFake } from './conformance';
import { openAudienceEngine, threeAudiences, type Person } from './audience-engine-harness';

const sha = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const config = (fake: TiktokFake) => ({ accessToken: fake.token, advertiserId: fake.advertiserId, baseUrl: fake.url });

async function conformanceFake(): Promise<ConnectorFake<typeof tiktok.config>> {
  const fake = await startTiktokFake();
  const keys = new Map<string, string>();
  return {
    config: config(fake),
    badCredentialsConfig: { ...config(fake), accessToken: 'wrong' },
    object: 'audience_members',
    options: { audienceId: '555' },
    rows: (count, variant = 0) =>
      Array.from({ length: count }, (_, i) => {
        keys.set(`m${i}`, `EMAIL_SHA256:${sha(`member${i}@example.com`)}`);
        return { key: `m${i}`, fields: { email: `Member${i}@Example.com`, v: variant } };
      }),
    invalidRow: () => ({ key: 'bad', fields: { email: 'nope' } }),
    records: async () => {
      const byId = new Map(fake.members('555').flatMap((u) => u.map((id) => [id, u] as const)));
      const out = new Map<string, Record<string, unknown>>();
      for (const [key, id] of keys) if (byId.has(id)) out.set(key, { email: id.split(':')[1], v: 'ignored' });
      return out;
    },
    failNext: (count, status) => fake.server.failNext(count, statusAnswer(status)),
    close: () => fake.close(),
  };
}
describeConnectorConformance(tiktok, conformanceFake, { storedValue: (v) => (typeof v === 'number' ? 'ignored' : sha(String(v).toLowerCase())) });

describe('tiktok specifics', () => {
  test('email: whitespace removed anywhere, lowercased, SHA-256; phone E.164 then SHA-256; hashes pass through', () => {
    expect(tiktokEmailHash(' John .Smith@Example.COM ')).toBe(sha('john.smith@example.com'));
    expect(tiktokIds({ phone: '+1 (650) 555-1212' })).toEqual({ PHONE_SHA256: sha('+16505551212') });
    expect(tiktokIds({ phone: '391 234 5678' }, '39')).toEqual({ PHONE_SHA256: sha('+393912345678') });
    expect(tiktokIds({ email: sha('a@b.co').toUpperCase() })).toEqual({ EMAIL_SHA256: sha('a@b.co') });
    expect(tiktokIds({ email: 'nope', phone: 'n/a' })).toEqual({});
  });

  test('HTTP 200 with a non-zero code is a failure, classified by code', async () => {
    const fake = await startTiktokFake();
    try {
      const ctx = createConnectorContext('tiktok', tiktok.config.parse(config(fake)), {});
      const batch = { object: 'audience_members', op: 'add' as const, rows: [{ key: '1', fields: { email: 'a@x.com' } }], options: { audienceId: '1' } };
      fake.server.failNext(1, () => ({ status: 200, body: { code: 40100, message: 'Requests made too frequently.', request_id: 'r' } }));
      const limited = await tiktok.write(ctx, batch).catch((e: unknown) => e);
      expect(limited).toBeInstanceOf(ConnectorError);
      expect((limited as ConnectorError).failure).toBe('rate_limited');
      fake.server.failNext(1, () => ({ status: 200, body: { code: 40002, message: 'Invalid id_schema', request_id: 'r' } }));
      expect(((await tiktok.write(ctx, batch).catch((e: unknown) => e)) as ConnectorError).failure).toBe('permanent');
      expect(fake.members('1')).toHaveLength(0);
      expect(await tiktok.write(ctx, batch)).toEqual([expect.objectContaining({ status: 'ok' })]);
      expect(fake.members('1')).toHaveLength(1);
    } finally {
      await fake.close();
    }
  });
});

describe('three runs of a 5,000-member audience through the sync engine', () => {
  test('the audience ends equal to the warehouse audience; throttling (code 40100) and 5xx retried; no raw email or phone sent', async () => {
    const fake = await startTiktokFake({ seed: 9, rateLimitRate: 0.12, serverErrorRate: 0.12 });
    const engine = await openAudienceEngine({
      destination: '  type: tiktok\n  config: { accessToken: "${TT_TOKEN}", advertiserId: "${TT_ADV}", baseUrl: "${TT_URL}" }\n  limits: { batch_rows: 250, concurrency: 2 }',
      sync: ['source: { table: $SCHEMA.audience }', 'destination: dest', 'object: audience_members', 'mode: add_remove', 'key: id', 'mapping: { email: email, phone: phone }', 'object_options: { audienceId: "900" }', 'options: { max_attempts: 10, timeout_ms: 5000, max_deletion_share: 1 }'],
      env: { TT_TOKEN: fake.token, TT_ADV: fake.advertiserId, TT_URL: fake.url },
      columns: ['id', 'email', 'phone'],
    });
    try {
      const runs = threeAudiences();
      for (const audience of runs) {
        await engine.setAudience(audience.map((p) => ({ id: p.id, email: p.email, phone: p.phone })));
        expect((await engine.run()).at(-1)!.status).toBe('success');
      }
      const final = runs[2]!;
      const usable = (p: Person) => (p.email !== null && p.email !== 'not-an-email') || (p.phone !== null && p.phone !== 'n/a');
      const members = fake.members('900');
      expect(members).toHaveLength(final.filter(usable).length);
      const emails = new Set(members.flat().filter((x) => x.startsWith('EMAIL_SHA256:')).map((x) => x.split(':')[1]));
      expect(emails).toEqual(new Set(final.filter((p) => p.email && p.email !== 'not-an-email').map((p) => sha(p.email!.trim().toLowerCase()))));
      const rejected = new Set((await engine.rejected()).map((r) => r.key));
      for (const p of final.filter((x) => !usable(x))) expect(rejected.has(p.id)).toBe(true);
      expect(fake.server.stats.rateLimited + fake.server.stats.serverErrors).toBeGreaterThan(3);
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
