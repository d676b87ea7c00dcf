/**
 * The scheduler on a SQLite control DB, driven with explicit clock values: schedule text
 * forms, each fire claimed once even with two schedulers ticking, missed-run policies,
 * `after:` chains, and alerts sent once per change of state (and once on recovery).
 */
import { join } from 'node:path';
import { openControlDb, type ControlDb } from '../../src/control';
import type { CdpError } from '../../src/errors';
import { applyAlerts, alertsFileSchema, evaluateSyncRun, jobOfKey, parseScheduleValue, Scheduler, silentLogger, type JobRequest } from '../../src/scheduler';
import { scheduleViewSchema } from '../../src/scheduler/scheduler';
import { emptyCounts } from '../../src/sync';
import { makeProject, type FixtureProject } from '../helpers/project-fixture';

describe('scheduler', () => {
  let project: FixtureProject;
  let db: ControlDb;
  beforeEach(async () => {
    project = makeProject({});
    db = await openControlDb(`sqlite://${join(project.dir, 'control.db')}`, project.dir);
  });
  afterEach(async () => {
    await db.close();
    project.remove();
  });

  test('schedule text forms', () => {
    expect(parseScheduleValue('manual', 'x')).toEqual({ kind: 'manual' });
    expect(parseScheduleValue('every 5m', 'x')).toEqual({ kind: 'interval', every_seconds: 300, missed: 'run_once' });
    expect(parseScheduleValue('TZ=Europe/Berlin 0 9 * * 1-5', 'x')).toEqual({ kind: 'cron', cron: '0 9 * * 1-5', timezone: 'Europe/Berlin', missed: 'run_once' });
    expect(parseScheduleValue({ after: ['segments'] }, 'x')).toEqual({ kind: 'after', after: ['segments'] });
    let line = '';
    try {
      parseScheduleValue('61 * * * *', 'syncs/a.yml');
    } catch (error) {
      line = (error as CdpError).toLine();
    }
    expect(line).toMatch(/^syncs\/a.yml: schedule '61 \* \* \* \*' is not a valid cron expression/);
    expect(() => parseScheduleValue('TZ=Mars/Olympus 0 9 * * *', 'x')).toThrow(/IANA timezone/);
    expect(jobOfKey('sync:vip')).toEqual({ kind: 'sync', target: 'vip' });
  });

  test('two schedulers ticking the same fire enqueue it once; a late fire follows the missed policy', async () => {
    const enqueued: JobRequest[] = [];
    const enqueue = async (r: JobRequest) => {
      enqueued.push(r);
      return String(enqueued.length);
    };
    const one = new Scheduler(db, 'p', enqueue, { log: silentLogger, missedGraceMs: 1000 });
    const two = new Scheduler(db, 'p', enqueue, { log: silentLogger, missedGraceMs: 1000 });
    await one.reconcile([
      { key: 'sync:a', spec: { kind: 'interval', every_seconds: 10, missed: 'run_once' } },
      { key: 'sync:b', spec: { kind: 'interval', every_seconds: 10, missed: 'skip' } },
      { key: 'sync:c', spec: { kind: 'manual' } },
    ]);
    await two.reconcile([
      { key: 'sync:a', spec: { kind: 'interval', every_seconds: 10, missed: 'run_once' } },
      { key: 'sync:b', spec: { kind: 'interval', every_seconds: 10, missed: 'skip' } },
      { key: 'sync:c', spec: { kind: 'manual' } },
    ]);
    const listed = await one.list();
    expect(listed.map((s) => [s.key, s.next_fire_at !== null])).toEqual([['sync:a', true], ['sync:b', true], ['sync:c', false]]);
    const due = new Date(Date.parse(listed[0]!.next_fire_at!) + 10);
    await Promise.all([one.tick(due), two.tick(due), one.tick(due)]);
    expect(enqueued.map((r) => [r.target, r.trigger])).toEqual(expect.arrayContaining([['a', 'interval'], ['b', 'interval']]));
    expect(enqueued).toHaveLength(2);
    // Everyone was down for a minute: a catches up once, b skips.
    const late = new Date(due.getTime() + 60_000);
    await Promise.all([one.tick(late), two.tick(late)]);
    expect(enqueued.slice(2).map((r) => [r.target, r.trigger])).toEqual([['a', 'missed']]);
    const after = await one.list();
    expect(Date.parse(after[0]!.next_fire_at!)).toBeGreaterThan(late.getTime());
    // A removed sync loses its schedule.
    await one.reconcile([{ key: 'sync:a', spec: { kind: 'interval', every_seconds: 10, missed: 'run_once' } }]);
    expect((await one.list()).map((s) => s.key)).toEqual(['sync:a']);
  });

  test('after: chains run models → segments → syncs, never a schedule onto itself', async () => {
    const enqueued: JobRequest[] = [];
    const scheduler = new Scheduler(db, 'p', async (r) => String(enqueued.push(r)), { log: silentLogger });
    await scheduler.set({ key: 'segments', spec: { kind: 'after', after: ['models'] } });
    await scheduler.reconcile([
      { key: 'sync:vip', spec: { kind: 'after', after: ['segments'] } },
      { key: 'sync:orders', spec: { kind: 'after', after: ['orders_model'] } },
    ]);
    await scheduler.onSucceeded(['models', 'customers']);
    expect(enqueued.map((r) => r.kind)).toEqual(['segments']);
    await scheduler.onSucceeded(['segments', 'vip_customers']);
    expect(enqueued.map((r) => `${r.kind}:${r.target}:${r.trigger}`)).toEqual(['segments:all:after', 'sync:vip:after']);
  });

  test('a paused schedule does not fire nor chain, stays paused when its spec is reconciled, and resumes counting from now', async () => {
    const enqueued: JobRequest[] = [];
    const scheduler = new Scheduler(db, 'p', async (r) => String(enqueued.push(r)), { log: silentLogger, missedGraceMs: 1000 });
    const every10 = { kind: 'interval' as const, every_seconds: 10, missed: 'run_once' as const };
    await scheduler.reconcile([
      { key: 'sync:a', spec: every10 },
      { key: 'sync:b', spec: { kind: 'after', after: ['segments'] } },
    ]);
    const firstFire = Date.parse((await scheduler.list()).find((s) => s.key === 'sync:a')!.next_fire_at!);
    const paused = await scheduler.pause('sync:a', true);
    expect(paused).toMatchObject({ key: 'sync:a', paused: true, next_fire_at: null, spec: every10 });
    await scheduler.pause('sync:b', true);
    expect(await scheduler.pause('sync:nope', true)).toBeUndefined();

    // Due time passes, the definitions are reconciled (unchanged, then changed): nothing fires, nothing resumes.
    await scheduler.tick(new Date(firstFire + 60_000));
    await scheduler.onSucceeded(['segments']);
    await scheduler.reconcile([
      { key: 'sync:a', spec: every10 },
      { key: 'sync:b', spec: { kind: 'after', after: ['segments'] } },
    ]);
    await scheduler.reconcile([
      { key: 'sync:a', spec: { ...every10, every_seconds: 20 } },
      { key: 'sync:b', spec: { kind: 'after', after: ['segments'] } },
    ]);
    await scheduler.tick(new Date(firstFire + 120_000));
    expect(enqueued).toEqual([]);
    expect((await scheduler.list()).map((s) => [s.key, s.paused, s.next_fire_at, s.description])).toEqual([
      ['sync:a', true, null, 'every 20s'],
      ['sync:b', true, null, 'after segments'],
    ]);
    // The view's one definition is the scheduler's zod schema (the API answers it as is).
    for (const view of await scheduler.list()) expect(scheduleViewSchema.strict().parse(view)).toEqual(view);

    // Resumed: the next fire is counted from now (nothing missed meanwhile is caught up), chains run again.
    const now = new Date(firstFire + 200_000);
    const resumed = await scheduler.pause('sync:a', false, now);
    expect(resumed).toMatchObject({ paused: false, spec: { every_seconds: 20 } });
    expect(Date.parse(resumed!.next_fire_at!)).toBe(now.getTime() + 20_000);
    await scheduler.tick(new Date(now.getTime() + 20_001));
    await scheduler.pause('sync:b', false);
    await scheduler.onSucceeded(['segments']);
    expect(enqueued.map((r) => `${r.target}:${r.trigger}`)).toEqual(['a:interval', 'b:after']);
    // Reconciling an unchanged resumed spec leaves its series alone.
    const before = (await scheduler.list()).find((s) => s.key === 'sync:a')!.next_fire_at;
    await scheduler.reconcile([
      { key: 'sync:a', spec: { ...every10, every_seconds: 20 } },
      { key: 'sync:b', spec: { kind: 'after', after: ['segments'] } },
    ]);
    expect((await scheduler.list()).find((s) => s.key === 'sync:a')!.next_fire_at).toBe(before);
  });

  test('alerts: one message when a rule starts firing, none while it keeps firing, one on recovery', async () => {
    const config = alertsFileSchema.parse({ rejected_share: 0.1, audience_change: 0.5 });
    const sent: string[] = [];
    const send = async (text: string) => void sent.push(text);
    const run = (status: 'success' | 'failed', counts: Partial<ReturnType<typeof emptyCounts>> = {}) => evaluateSyncRun(config, { status, counts: { ...emptyCounts(), ...counts }, message: status === 'failed' ? 'HTTP 401 from webhook' : undefined });
    await applyAlerts(db, 'p', 'sync:vip', run('success', { succeeded: 100, added: 100 }), send);
    expect(sent).toEqual([]);
    await applyAlerts(db, 'p', 'sync:vip', run('failed'), send);
    await applyAlerts(db, 'p', 'sync:vip', run('failed'), send);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatch(/sync:vip — sync failed: failed: HTTP 401/);
    await applyAlerts(db, 'p', 'sync:vip', run('success', { succeeded: 50, rejected: 50, unchanged: 100, added: 100 }), send);
    expect(sent.slice(1)).toEqual([expect.stringMatching(/sync failed recovered/), expect.stringMatching(/rejected share: 50.0% rejected/), expect.stringMatching(/audience change: audience 100 → 200/)]);
    await applyAlerts(db, 'p', 'sync:vip', run('success', { succeeded: 10, unchanged: 200 }), send);
    expect(sent.slice(4)).toEqual([expect.stringMatching(/rejected share recovered/), expect.stringMatching(/audience change recovered/)]);
  });
});
