/**
 * Fault tests against the receiver (127.0.0.1): 429 storms, 5xx on random batches,
 * per-record rejections and hung requests (timeouts), all at once. However the destination
 * misbehaves, after the runs settle its end state is exactly the audience minus the
 * rejected rows, which are listed with reasons — no row lost, none leaked without consent.
 */
import { rejectedRows } from '../../src/sync';
import { expectedRecords, openSyncFixture, people, type SyncFixture } from './sync-fixture';

describe('sync under faults', () => {
  let fx: SyncFixture;
  afterEach(async () => fx?.cleanup());

  test('429 storm + random 5xx + hung requests + per-record rejections: end state is exact', async () => {
    fx = await openSyncFixture({
      batchRows: 7,
      concurrency: 4,
      timeoutMs: 300,
      receiver: {
        seed: 7,
        tooManyRate: 0.25,
        serverErrorRate: 0.2,
        hangRate: 0.05,
        rejectRow: (key) => (/^p1\d@/.test(key) && key.endsWith('3@example.com') ? 'mailbox does not exist' : undefined),
      },
    });
    const audience = people(150, (i) => (i % 11 === 0 ? { consent: 'denied' } : {}));
    await fx.setAudience(audience);
    // A run may leave rows unsent after its attempts; the next run picks them up.
    let result = await fx.run();
    for (let i = 0; i < 5 && result.status === 'partial'; i++) result = await fx.run();
    expect(result.status).toBe('success');
    expect(fx.receiver.stats.tooMany + fx.receiver.stats.serverErrors + fx.receiver.stats.hung).toBeGreaterThan(5);

    const rejected = await rejectedRows(fx.wh.warehouse, fx.target.tables);
    expect(rejected.rows.map((r) => r.key)).toEqual(['p13@example.com']);
    expect(rejected.rows[0]!.reason).toBe('mailbox does not exist');
    expect(fx.receiver.records).toEqual(expectedRecords(audience, new Set(['p13@example.com'])));
    const sent = new Set(fx.receiver.log.flatMap((b) => b.rows.map((r) => r.key)));
    for (const p of audience) if (p.consent !== 'granted') expect(sent.has(p.email!)).toBe(false);

    // Then a change under the same weather: still exact.
    const after = people(150, (i) => (i % 11 === 0 ? { consent: 'denied' } : i % 4 === 0 ? { tier: 'Gold' } : {})).filter((_, i) => i % 9 !== 1);
    await fx.setAudience(after);
    result = await fx.run();
    for (let i = 0; i < 5 && result.status === 'partial'; i++) result = await fx.run();
    expect(result.status).toBe('success');
    expect(fx.receiver.records).toEqual(expectedRecords(after, new Set(['p13@example.com'])));
  });

  test('a sliding-window rate limit: the shared budget keeps 429s away', async () => {
    fx = await openSyncFixture({ batchRows: 2, concurrency: 4, requestsPerSecond: 20, receiver: { rateLimit: { count: 20, perMs: 1000 } } });
    const audience = people(60);
    await fx.setAudience(audience);
    const result = await fx.run();
    expect(result.status).toBe('success');
    expect(fx.receiver.stats.tooMany).toBe(0);
    expect(fx.receiver.records).toEqual(expectedRecords(audience));
  });

  test('a destination that keeps failing leaves rows unsent (partial), never committed', async () => {
    fx = await openSyncFixture({ batchRows: 5, receiver: { serverErrorRate: 1 } });
    await fx.setAudience(people(10));
    const result = await fx.run();
    expect(result.status).toBe('partial');
    expect(result.counts).toMatchObject({ succeeded: 0, unsent: 10 });
    fx.receiver.options.serverErrorRate = 0;
    expect((await fx.run()).counts).toMatchObject({ added: 10, succeeded: 10 });
  });

  test('bad credentials stop the run with one clear line', async () => {
    fx = await openSyncFixture({ receiver: { requireAuthorization: 'Bearer right' } });
    await fx.setAudience(people(10));
    const result = await fx.run();
    expect(result.status).toBe('failed');
    expect(result.message).toMatch(/destination hook \(webhook\): POST upsert records: HTTP 401 — invalid credentials — check the credentials/);
    expect(result.counts.succeeded).toBe(0);
  });
});
