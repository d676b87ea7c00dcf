/**
 * Turns schedules into jobs. Every schedule is a row in `cdp_schedules` with its next fire
 * time; each process ticks (default every second, so six-field cron with seconds works),
 * and a due fire is claimed with a compare-and-set on `next_fire_at`: whichever process moves
 * it first enqueues the job, so each fire happens once across the fleet, whatever the number
 * of workers or the skew between their ticks. Next fire times are in the table for anyone
 * to see (API, `cdp worker` logs).
 *
 * Missed runs: a fire found more than `missedGraceMs` late (every process was down) runs once
 * as a catch-up (`run_once`) or is skipped (`skip`); either way the series continues from now,
 * never as a burst of old fires. `after:` schedules have no time: the process that finished
 * the work they wait for enqueues them (`onSucceeded`), again exactly once.
 *
 * Sync schedules follow the sync definitions (files and API) and are reconciled on start and
 * every `reconcileMs`; `models` and `segments` schedules are set through the API.
 *
 * Pausing (`pause`, any key — also a file sync's `sync:<name>`, whose spec the API never
 * changes) is operational state kept next to the spec: a paused row has no next fire (so
 * `tick` never claims it, and a fire racing the pause loses the CAS) and is skipped by
 * `after:` chains; reconciling or re-setting the spec keeps it paused. Resuming starts a
 * fresh series from now: fires missed while paused are not caught up. A manual trigger
 * (API "run now", `cdp sync run`) does not go through schedules, so it still runs.
 */
import { z } from 'zod';
import type { ControlDb } from '../control';
import { messageOf } from '../errors';
import { jobKinds, type JobKind, type JobRequest } from './job-records';
import type { Logger } from './logger';
import { describeSpec, nextFire, scheduleSpecSchema, type ScheduleSpec } from './schedule-spec';

export interface ScheduleEntry {
  /** `sync:<name>`, `models` or `segments`. */
  key: string;
  spec: ScheduleSpec;
}

/** A schedule as `list`, `set` and `pause` give it — and as the API answers it (`GET /schedules`). */
export const scheduleViewSchema = z.object({
  key: z.string().describe('`sync:<name>`, `models` or `segments`'),
  kind: z.enum(jobKinds),
  target: z.string(),
  origin: z.enum(['sync', 'api']).describe('sync: follows a sync definition; api: set through the API'),
  spec: scheduleSpecSchema,
  description: z.string(),
  paused: z.boolean().describe('scheduled fires and after: chains are held; a manual trigger still runs'),
  next_fire_at: z.string().nullable(),
  last_fire_at: z.string().nullable(),
});
export type ScheduleView = z.infer<typeof scheduleViewSchema>;

const storedSpecSchema = z.object({ origin: z.enum(['sync', 'api']), spec: scheduleSpecSchema, paused: z.boolean().optional() });

/**
 * The stored text of a schedule. Written the same way every time, so an unchanged spec is the
 * same string (reconcile compares strings, and CAS-updates on them).
 */
function storedText(origin: 'sync' | 'api', spec: unknown, paused: boolean): string {
  return JSON.stringify(paused ? { origin, spec, paused: true } : { origin, spec });
}
const rowSchema = z.object({ key: z.string(), spec: z.string(), next_fire_at: z.coerce.date().nullable(), last_fire_at: z.coerce.date().nullable() });

export function jobOfKey(key: string): { kind: JobKind; target: string } {
  if (key.startsWith('sync:')) return { kind: 'sync', target: key.slice('sync:'.length) };
  return { kind: key === 'segments' ? 'segments' : 'models', target: 'all' };
}

export interface SchedulerOptions {
  tickMs?: number;
  missedGraceMs?: number;
  log: Logger;
}

export class Scheduler {
  private timer?: NodeJS.Timeout;
  private ticking?: Promise<void>;

  constructor(
    private readonly db: ControlDb,
    private readonly project: string,
    private readonly enqueue: (request: JobRequest) => Promise<string>,
    private readonly options: SchedulerOptions,
  ) {}

  /** Makes `sync:*` rows match the sync definitions; a changed spec starts a fresh series. */
  async reconcile(syncSchedules: ScheduleEntry[]): Promise<void> {
    const now = new Date();
    const rows = await this.rows();
    const wanted = new Map(syncSchedules.map((e) => [e.key, e]));
    for (const row of rows) {
      if (!row.key.startsWith('sync:')) continue;
      if (!wanted.has(row.key)) await this.db.knex('cdp_schedules').where({ project: this.project, key: row.key, spec: row.spec }).delete();
    }
    for (const entry of syncSchedules) await this.put(entry, 'sync', now, rows);
  }

  /** Sets a `models` / `segments` schedule (API). */
  async set(entry: ScheduleEntry): Promise<ScheduleView> {
    await this.put(entry, 'api', new Date(), await this.rows());
    return (await this.list()).find((s) => s.key === entry.key)!;
  }

  async remove(key: string): Promise<boolean> {
    return (await this.db.knex('cdp_schedules').where({ project: this.project, key }).delete()) > 0;
  }

  /**
   * Pauses or resumes a schedule (undefined: no such schedule). Paused: no next fire. Resumed:
   * the next fire counted from `now` (what was missed meanwhile is not caught up).
   */
  async pause(key: string, paused: boolean, now = new Date()): Promise<ScheduleView | undefined> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const row = (await this.rows()).find((r) => r.key === key);
      if (!row) return undefined;
      const stored = storedSpecSchema.parse(JSON.parse(row.spec));
      if (Boolean(stored.paused) !== paused) {
        // The spec as it was written (not zod's re-ordered copy), so reconcile still sees it unchanged.
        const raw = (JSON.parse(row.spec) as { spec: unknown }).spec;
        const next = paused ? null : nextFire(stored.spec, now);
        const updated = await this.db.knex('cdp_schedules').where({ project: this.project, key, spec: row.spec }).update({ spec: storedText(stored.origin, raw, paused), next_fire_at: next, updated_at: now });
        if (updated !== 1) continue; // the spec changed under us (reconcile, another pause): read again
      }
      return (await this.list()).find((s) => s.key === key);
    }
    return (await this.list()).find((s) => s.key === key);
  }

  private async put(entry: ScheduleEntry, origin: 'sync' | 'api', now: Date, rows: z.infer<typeof rowSchema>[]): Promise<void> {
    const existing = rows.find((r) => r.key === entry.key);
    // A paused schedule stays paused when its spec changes (a sync file edited, PUT /schedules).
    const paused = existing ? Boolean(storedSpecSchema.safeParse(JSON.parse(existing.spec)).data?.paused) : false;
    const spec = storedText(origin, entry.spec, paused);
    if (existing?.spec === spec) return;
    const next = paused ? null : nextFire(entry.spec, now);
    if (existing) {
      // Compare-and-set on the old spec: with several workers reconciling, one update wins and the rest see it done.
      await this.db.knex('cdp_schedules').where({ project: this.project, key: entry.key, spec: existing.spec }).update({ spec, next_fire_at: next, updated_at: now });
    } else {
      await this.db.knex('cdp_schedules').insert({ project: this.project, key: entry.key, spec, next_fire_at: next, updated_at: now }).onConflict(['project', 'key']).ignore();
    }
  }

  private async rows(): Promise<z.infer<typeof rowSchema>[]> {
    return z.array(rowSchema).parse(await this.db.knex('cdp_schedules').where({ project: this.project }).select('key', 'spec', 'next_fire_at', 'last_fire_at'));
  }

  async list(): Promise<ScheduleView[]> {
    return (await this.rows())
      .map((row) => {
        const stored = storedSpecSchema.parse(JSON.parse(row.spec));
        return {
          key: row.key,
          ...jobOfKey(row.key),
          origin: stored.origin,
          spec: stored.spec,
          description: describeSpec(stored.spec),
          paused: Boolean(stored.paused),
          next_fire_at: row.next_fire_at?.toISOString() ?? null,
          last_fire_at: row.last_fire_at?.toISOString() ?? null,
        };
      })
      .sort((a, b) => a.key.localeCompare(b.key));
  }

  /** Claims and enqueues every due fire. Returns the ids of the jobs this process enqueued. */
  async tick(now = new Date()): Promise<string[]> {
    const due = z.array(rowSchema).parse(await this.db.knex('cdp_schedules').where({ project: this.project }).andWhere('next_fire_at', '<=', now).select('key', 'spec', 'next_fire_at', 'last_fire_at'));
    const enqueued: string[] = [];
    for (const row of due) {
      const fireAt = row.next_fire_at!;
      const { spec, paused } = storedSpecSchema.parse(JSON.parse(row.spec));
      if (paused) continue; // a paused row has no next fire; this one was read before the pause landed
      const next = nextFire(spec, now, fireAt);
      const claimed = await this.db.knex('cdp_schedules').where({ project: this.project, key: row.key, next_fire_at: fireAt }).update({ next_fire_at: next, last_fire_at: fireAt });
      if (claimed !== 1) continue; // another process took this fire
      const late = now.getTime() - fireAt.getTime() > (this.options.missedGraceMs ?? 60_000);
      const missedPolicy = spec.kind === 'cron' || spec.kind === 'interval' ? spec.missed : 'run_once';
      if (late && missedPolicy === 'skip') {
        this.options.log.info('missed fire skipped', { schedule: row.key, fire_at: fireAt.toISOString() });
        continue;
      }
      const trigger = late ? 'missed' : spec.kind === 'interval' ? 'interval' : 'cron';
      enqueued.push(await this.enqueue({ ...jobOfKey(row.key), trigger, fireAt }));
    }
    return enqueued;
  }

  /** Enqueues the `after:` schedules waiting for any of these (run by the process that did the work). */
  async onSucceeded(tokens: string[]): Promise<string[]> {
    const enqueued: string[] = [];
    for (const schedule of await this.list()) {
      if (schedule.spec.kind !== 'after' || schedule.paused) continue;
      if (!schedule.spec.after.some((name) => tokens.includes(name))) continue;
      if (tokens.includes(schedule.key)) continue; // never chain a schedule onto itself
      enqueued.push(await this.enqueue({ ...jobOfKey(schedule.key), trigger: 'after', fireAt: new Date() }));
    }
    return enqueued;
  }

  start(): void {
    const tickMs = this.options.tickMs ?? 1000;
    const loop = () => {
      this.ticking = this.tick()
        .then(() => undefined)
        .catch((error: unknown) => this.options.log.error('scheduler tick failed', { error: messageOf(error) }))
        .finally(() => {
          if (this.timer) this.timer = setTimeout(loop, tickMs);
        });
    };
    this.timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.ticking;
  }
}
