/**
 * Issue 9: a real `runSync` against the Meta fake keeps the run's match-rate report (the
 * connector's per-batch reports summed) with the run record in the control DB, and its
 * totals equal what went to, and came back from, the fake; a row the engine sent more than
 * once (retried, or in the halves of a split batch) counts once.
 */
import { createHash } from 'node:crypto';
import { matchRateLine } from '../../src/cli/sync-command';
import { runMatchRate, syncRuns } from '../../src/sync';
import { startLinkedinFake } from '../fakes/linkedin-fake';
import { startMetaFake } from '../fakes/meta-fake';
import { openAudienceEngine, person, type Person } from './audience-engine-harness';

const sha = (value: string) => createHash('sha256').update(value).digest('hex');

test('runSync records the summed match-rate report of a Meta audience sync with the run', async () => {
  const people = Array.from({ length: 1200 }, (_, i) => person(i));
  // Meta cannot use some phones: every 50th phone is reported invalid by the fake.
  const badPhones = new Set(people.filter((p, i) => p.phone && p.phone !== 'n/a' && i % 50 === 0).map((p) => sha(p.phone!.replace(/\D/g, ''))));
  expect(badPhones.size).toBeGreaterThan(0);
  const fake = await startMetaFake({ invalidValues: badPhones });
  const audienceId = fake.createAudience('match-rate');
  const engine = await openAudienceEngine({
    destination: '  type: meta\n  config: { accessToken: "${META_TOKEN}", baseUrl: "${META_URL}" }\n  limits: { batch_rows: 250, concurrency: 2 }',
    sync: [
      'source: { table: $SCHEMA.audience }',
      'destination: dest',
      'object: audience_members',
      'mode: add_remove',
      'key: id',
      'mapping: { email: email, phone: phone, country: country }',
      `object_options: { audienceId: "${audienceId}" }`,
      'options: { max_attempts: 3, timeout_ms: 5000, max_deletion_share: 1 }',
    ],
    env: { META_TOKEN: fake.token, META_URL: fake.url },
    columns: ['id', 'email', 'phone', 'first_name', 'last_name', 'country', 'zip'],
  });
  try {
    await engine.setAudience(people as unknown as Array<Record<string, string | null>>);
    const [result] = await engine.run(1);
    expect(result!.status).toBe('success');
    expect(fake.refusals).toEqual([]);

    // What the fake saw and answered: rows received, and entries it counted invalid.
    const uploads = fake.server.calls.filter((c) => c.status === 200 && c.path.endsWith('/users'));
    const received = uploads.flatMap((c) => (c.body as { payload: { data: string[][] } }).payload.data);
    const invalid = received.filter((row) => row.some((value) => badPhones.has(value))).length;
    expect(invalid).toBe(badPhones.size);

    const validEmail = (p: Person) => p.email !== null && p.email !== 'not-an-email';
    const validPhone = (p: Person) => p.phone !== null && p.phone !== 'n/a';
    const usable = people.filter((p) => validEmail(p) || validPhone(p)).length;
    const expected = {
      members: people.length,
      withIdentifier: { email: people.filter(validEmail).length, phone: people.filter(validPhone).length, country: people.length },
      sent: received.length,
      rejectedLocally: people.length - usable,
      reportedInvalid: invalid,
    };
    expect(received.length).toBe(usable);
    expect(result!.matchRate).toMatchObject(expected);

    // Stored with the run record in the control DB.
    const [record] = await syncRuns(engine.control, 'fixture', 'audience');
    expect(record!.id).toBe(result!.runId);
    const stored = runMatchRate(record!);
    expect(stored).toMatchObject(expected);
    expect(stored!.usableShare).toBeCloseTo((received.length - invalid) / people.length);
    // Counts only: no identifier or hash in what is stored.
    expect(record!.match_rate).not.toMatch(/[0-9a-f]{64}|@/);
    expect(matchRateLine(stored!)).toBe(
      `match: 1,200 members; country 1,200/1,200, email ${expected.withIdentifier.email.toLocaleString('en-US')}/1,200, phone ${expected.withIdentifier.phone}/1,200; ` +
        `sent ${expected.sent.toLocaleString('en-US')}, refused ${expected.rejectedLocally}, invalid ${invalid} (usable ${Math.round(((received.length - invalid) / people.length) * 100)}%)`,
    );

    // A run with nothing to send has no match-rate report.
    const [again] = await engine.run(1);
    expect(again!.matchRate).toBeUndefined();
    const [latest] = await syncRuns(engine.control, 'fixture', 'audience');
    expect(latest!.match_rate).toBeNull();
  } finally {
    await engine.cleanup();
    await fake.close();
  }
});

describe('a row sent more than once counts once in the run report', () => {
  const emailOf = (p: Person) => (p.email !== null && p.email !== 'not-an-email' ? p.email : null);

  test('LinkedIn: elements answered 503 on their own are retried by the engine, whole requests fail with 429/5xx', async () => {
    const people = Array.from({ length: 1500 }, (_, i) => person(i));
    const fake = await startLinkedinFake({ seed: 11, elementFaultRate: 0.15, rateLimitRate: 0.1, serverErrorRate: 0.1 });
    const engine = await openAudienceEngine({
      destination: '  type: linkedin\n  config: { accessToken: "${LI_TOKEN}", baseUrl: "${LI_URL}", rateLimitWaitMs: 5 }\n  limits: { batch_rows: 200, concurrency: 1 }',
      sync: ['source: { table: $SCHEMA.audience }', 'destination: dest', 'object: segment_users', 'mode: add_remove', 'key: id', 'mapping: { email: email }', 'object_options: { segmentId: "41" }', 'options: { max_attempts: 12, timeout_ms: 5000, max_deletion_share: 1 }'],
      env: { LI_TOKEN: fake.token, LI_URL: fake.url },
      columns: ['id', 'email'],
    });
    try {
      await engine.setAudience(people.map((p) => ({ id: p.id, email: p.email })));
      const [result] = await engine.run(1);
      expect(result!.status).toBe('success');
      const withEmail = people.filter(emailOf).length;
      // Rows really went out more than once: more elements reached LinkedIn than there are members.
      const elementsReceived = fake.server.calls.filter((c) => c.status === 200).reduce((n, c) => n + (c.body as { elements: unknown[] }).elements.length, 0);
      expect(elementsReceived).toBeGreaterThan(withEmail + 50);
      expect(fake.server.stats.rateLimited + fake.server.stats.serverErrors).toBeGreaterThan(0);
      expect(result!.matchRate).toMatchObject({ members: people.length, sent: withEmail, rejectedLocally: people.length - withEmail, reportedInvalid: 0, withIdentifier: { email: withEmail } });
      expect(fake.members('41', 'users')).toHaveLength(withEmail);
    } finally {
      await engine.cleanup();
      await fake.close();
    }
  });

  test('Meta: a batch refused whole (code 100) is split by the engine; 5xx storms resend whole batches', async () => {
    const people = Array.from({ length: 900 }, (_, i) => person(i));
    const fake = await startMetaFake({ seed: 5, serverErrorRate: 0.15 });
    const audienceId = fake.createAudience('split');
    const engine = await openAudienceEngine({
      destination: '  type: meta\n  config: { accessToken: "${META_TOKEN}", baseUrl: "${META_URL}" }\n  limits: { batch_rows: 300, concurrency: 1 }',
      sync: ['source: { table: $SCHEMA.audience }', 'destination: dest', 'object: audience_members', 'mode: add_remove', 'key: id', 'mapping: { email: email, phone: phone }', `object_options: { audienceId: "${audienceId}" }`, 'options: { max_attempts: 12, timeout_ms: 5000, max_deletion_share: 1 }'],
      env: { META_TOKEN: fake.token, META_URL: fake.url },
      columns: ['id', 'email', 'phone'],
    });
    try {
      await engine.setAudience(people.map((p) => ({ id: p.id, email: p.email, phone: p.phone })));
      fake.failNextWithCode(100);
      fake.failNextWithCode(100);
      const [result] = await engine.run(1);
      expect(result!.status).toBe('success');
      const usable = people.filter((p) => emailOf(p) || (p.phone !== null && p.phone !== 'n/a')).length;
      const received = fake.server.calls.filter((c) => c.status === 200 && c.path.endsWith('/users')).reduce((n, c) => n + (c.body as { payload: { data: unknown[] } }).payload.data.length, 0);
      expect(received).toBe(usable);
      const attempted = fake.server.calls.filter((c) => c.path.endsWith('/users')).reduce((n, c) => n + ((c.body as { payload?: { data: unknown[] } } | undefined)?.payload?.data.length ?? 0), 0);
      expect(attempted).toBeGreaterThan(usable);
      expect(result!.matchRate).toMatchObject({ members: people.length, sent: usable, rejectedLocally: people.length - usable });
    } finally {
      await engine.cleanup();
      await fake.close();
    }
  });
});
