/**
 * The sync engine end to end against the webhook receiver, on real DuckDB and PostgreSQL:
 * first run, no-op rerun, changes, removals, consent, invalid keys, rejections and their
 * retry rules, --full, the circuit breaker, the per-sync lock, run records.
 */
import { rejectedRows, syncRuns } from '../../src/sync';
import { localWarehouseTypes } from '../helpers/test-warehouses';
import { expectedRecords, openSyncFixture, people, type SyncFixture } from './sync-fixture';

const sentKeys = (fx: SyncFixture) => new Set(fx.receiver.log.flatMap((b) => b.rows.map((r) => r.key)));

describe.each(localWarehouseTypes)('sync engine on %s', (type) => {
  let fx: SyncFixture;
  afterEach(async () => fx?.cleanup());

  test('first run sends the consenting audience; invalid keys and no-consent rows are never sent; a rerun sends nothing', async () => {
    fx = await openSyncFixture({ type });
    const audience = [
      ...people(25, (i) => (i % 5 === 4 ? { consent: 'denied' } : {})),
      { email: null, first_name: 'Nokey', tier: 'x', consent: 'granted' },
      { email: 'dup@example.com', first_name: 'A', tier: 'x', consent: 'granted' },
      { email: 'dup@example.com', first_name: 'B', tier: 'x', consent: 'granted' },
    ];
    await fx.setAudience(audience);
    const first = await fx.run();
    expect(first.status).toBe('success');
    expect(first.counts).toMatchObject({ added: 20, planned: 20, succeeded: 20, skipped_consent: 5, invalid: 3, rejected: 0, removed: 0 });
    expect(fx.receiver.records).toEqual(expectedRecords(audience));
    const sent = sentKeys(fx);
    for (let i = 4; i < 25; i += 5) expect(sent.has(`p${i}@example.com`)).toBe(false);
    expect(sent.has('dup@example.com')).toBe(false);

    const requests = fx.receiver.stats.requests;
    const second = await fx.run();
    expect(second.counts).toMatchObject({ planned: 0, added: 0, changed: 0, removed: 0, unchanged: 20 });
    expect(fx.receiver.stats.requests).toBe(requests);

    const runs = await syncRuns(fx.control, 'fixture', 'people');
    expect(runs.map((r) => r.status)).toEqual(['success', 'success']);
    expect(JSON.parse(runs[1]!.counts!)).toMatchObject({ added: 20, succeeded: 20 });
  });

  test('changes, leaving the audience and withdrawing consent: mirror updates and deletes on the next run', async () => {
    fx = await openSyncFixture({ type });
    const before = people(12);
    await fx.setAudience(before);
    await fx.run();
    const after = people(12, (i) => (i === 1 ? { tier: 'Gold' } : i === 2 ? { consent: 'withdrawn' } : {})).filter((p) => p.email !== 'p3@example.com');
    await fx.setAudience(after);
    const result = await fx.run();
    expect(result.counts).toMatchObject({ changed: 1, removed: 2, planned: 3, succeeded: 3 });
    expect(fx.receiver.records).toEqual(expectedRecords(after));
    expect(fx.receiver.records.has('p2@example.com')).toBe(false);
    // Consent given again: sent again.
    await fx.setAudience(people(12).filter((p) => p.email !== 'p3@example.com'));
    expect((await fx.run()).counts).toMatchObject({ added: 1, changed: 1 });
    expect(fx.receiver.records.get('p2@example.com')).toBeDefined();
  });

  test('rejected rows are stored with the reason, not resent until their data changes or --retry-rejected', async () => {
    let refuse = true;
    fx = await openSyncFixture({ type, receiver: { rejectRow: (key, fields) => (refuse && String(fields.name).startsWith('Bad') ? `invalid name for ${key}` : undefined) } });
    const audience = people(15, (i) => (i % 7 === 0 ? { first_name: `Bad${i}` } : {}));
    await fx.setAudience(audience);
    const first = await fx.run();
    expect(first.counts).toMatchObject({ succeeded: 12, rejected: 3 });
    const rejected = await rejectedRows(fx.wh.warehouse, fx.target.tables);
    expect(rejected.total).toBe(3);
    expect(rejected.rows.map((r) => r.key).sort()).toEqual(['p0@example.com', 'p14@example.com', 'p7@example.com']);
    expect(rejected.rows[0]!.reason).toMatch(/invalid name/);
    const bad = new Set(rejected.rows.map((r) => r.key));
    expect(fx.receiver.records).toEqual(expectedRecords(audience, bad));

    const second = await fx.run();
    expect(second.counts).toMatchObject({ planned: 0, skipped_rejected: 3 });

    // One bad row is fixed: only it is sent.
    const fixed = audience.map((p) => (p.email === 'p7@example.com' ? { ...p, first_name: 'Seven' } : p));
    await fx.setAudience(fixed);
    expect((await fx.run()).counts).toMatchObject({ added: 1, succeeded: 1, skipped_rejected: 2 });
    expect((await rejectedRows(fx.wh.warehouse, fx.target.tables)).total).toBe(2);

    // The destination was fixed: --retry-rejected resends the rest.
    refuse = false;
    expect((await fx.run({ retryRejected: true })).counts).toMatchObject({ added: 2, succeeded: 2, rejected: 0 });
    expect((await rejectedRows(fx.wh.warehouse, fx.target.tables)).total).toBe(0);
    expect(fx.receiver.records).toEqual(expectedRecords(fixed));
  });

  test('--full resends everything; the circuit breaker stops a mass deletion before sending', async () => {
    fx = await openSyncFixture({ type, syncOptions: 'max_deletion_share: 0.3' });
    await fx.setAudience(people(20));
    await fx.run();
    expect((await fx.run({ full: true })).counts).toMatchObject({ changed: 20, succeeded: 20 });

    await fx.setAudience(people(20).slice(0, 5));
    const requests = fx.receiver.stats.requests;
    const stopped = await fx.run();
    expect(stopped.status).toBe('stopped');
    expect(stopped.message).toMatch(/would delete 15 of the 20 records .* max_deletion_share 30%/);
    expect(fx.receiver.stats.requests).toBe(requests);
    expect(fx.receiver.records.size).toBe(20);

    const forced = await fx.run({ allowDeletions: true });
    expect(forced.counts).toMatchObject({ removed: 15, succeeded: 15 });
    expect(fx.receiver.records.size).toBe(5);
  });
});

describe('sync engine (DuckDB only)', () => {
  let fx: SyncFixture;
  afterEach(async () => fx?.cleanup());

  test('a batch refused as a whole (HTTP 400) is split until the bad rows stand alone', async () => {
    fx = await openSyncFixture({ batchRows: 16, receiver: { rejectWholeBatch: true, rejectRow: (key) => (key === 'p5@example.com' || key === 'p20@example.com' ? 'bad row' : undefined) } });
    const audience = people(40);
    await fx.setAudience(audience);
    const result = await fx.run();
    expect(result.counts).toMatchObject({ succeeded: 38, rejected: 2 });
    expect(fx.receiver.records).toEqual(expectedRecords(audience, new Set(['p5@example.com', 'p20@example.com'])));
    const rejected = await rejectedRows(fx.wh.warehouse, fx.target.tables);
    expect(rejected.rows.every((r) => r.reason?.includes('HTTP 400 — bad row'))).toBe(true);
  });

  test('one run at a time per sync', async () => {
    fx = await openSyncFixture({ receiver: { latencyMs: 200 }, batchRows: 5, concurrency: 1 });
    await fx.setAudience(people(10));
    const first = fx.run();
    await new Promise((r) => setTimeout(r, 50));
    await expect(fx.run()).rejects.toMatchObject({ code: 'SYNC_LOCKED' });
    expect((await first).status).toBe('success');
  });

  test('cancellation stops sending; what was acknowledged is committed and the next run completes', async () => {
    fx = await openSyncFixture({ receiver: { latencyMs: 30 }, batchRows: 5, concurrency: 1 });
    const audience = people(60);
    await fx.setAudience(audience);
    const controller = new AbortController();
    // Cancel once some rows are acknowledged (a fixed delay raced the plan on a busy machine).
    const onProgress = (text: string) => {
      if (/ ok [1-9]/.test(text) && !controller.signal.aborted) setTimeout(() => controller.abort(new Error('user pressed ^C')), 40);
    };
    const cancelled = await fx.run({ signal: controller.signal, onProgress });
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.counts.succeeded).toBeGreaterThan(0);
    expect(cancelled.counts.succeeded).toBeLessThan(60);
    const next = await fx.run();
    expect(next.counts.added).toBe(60 - cancelled.counts.succeeded);
    expect(fx.receiver.records).toEqual(expectedRecords(audience));
  });

  test('add_remove mode: withdrawing consent removes the person; field changes send nothing', async () => {
    fx = await openSyncFixture({ mode: 'add_remove' });
    await fx.setAudience(people(6));
    await fx.run();
    const after = people(6, (i) => (i === 0 ? { consent: 'denied' } : i === 1 ? { tier: 'Changed' } : {}));
    await fx.setAudience(after);
    const result = await fx.run();
    expect(result.counts).toMatchObject({ removed: 1, changed: 1, planned: 1 });
    expect(fx.receiver.records.has('p0@example.com')).toBe(false);
    expect(fx.receiver.log.at(-1)).toMatchObject({ op: 'remove' });
    // The change was remembered, so it is quiet next time.
    expect((await fx.run()).counts).toMatchObject({ planned: 0, changed: 0 });
  });
});
