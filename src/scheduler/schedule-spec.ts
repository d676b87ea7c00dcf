/**
 * What a schedule says, and when it fires next. Four kinds: `cron` (node-cron syntax, five
 * or six fields — the sixth is seconds — in a timezone), `interval` (every N seconds),
 * `after` (when the named work succeeded: `models`, `segments`, a model or segment name,
 * or `sync:<name>`), and `manual`. Cron and interval carry a missed-run policy: after
 * downtime, `run_once` fires one catch-up run, `skip` waits for the next regular fire.
 *
 * Text forms (a sync file's `schedule:`): `manual`, `every 30s|5m|2h`, a cron expression,
 * optionally prefixed `TZ=Europe/Berlin ` (as crontab's CRON_TZ).
 */
import { createTask, validate } from 'node-cron';
import { z } from 'zod';
import { configError } from '../errors';

const missedSchema = z.enum(['run_once', 'skip']).default('run_once');

export const scheduleSpecSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('cron'),
    cron: z.string().refine((c) => validate(c), { message: 'is not a valid cron expression — e.g. "*/15 * * * *" (a sixth leading field is seconds)' }),
    timezone: z.string().refine(isTimezone, { message: 'is not an IANA timezone — e.g. Europe/Berlin' }).default('UTC'),
    missed: missedSchema,
  }),
  z.strictObject({ kind: z.literal('interval'), every_seconds: z.number().int().positive(), missed: missedSchema }),
  z.strictObject({ kind: z.literal('after'), after: z.array(z.string().min(1)).min(1) }),
  z.strictObject({ kind: z.literal('manual') }),
]);
export type ScheduleSpec = z.infer<typeof scheduleSpecSchema>;

function isTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** A sync file's `schedule:` value (string or `{ after: [...] }`) as a spec. */
export function parseScheduleValue(value: string | { after: string[] }, where: string): ScheduleSpec {
  if (typeof value !== 'string') return { kind: 'after', after: value.after };
  const text = value.trim();
  if (text === 'manual' || text === '') return { kind: 'manual' };
  const every = /^every\s+(\d+)\s*([smhd])$/.exec(text);
  if (every) return { kind: 'interval', every_seconds: Number(every[1]) * UNITS[every[2]!]!, missed: 'run_once' };
  const tz = /^TZ=(\S+)\s+(.+)$/.exec(text);
  const parsed = scheduleSpecSchema.safeParse({ kind: 'cron', cron: tz ? tz[2] : text, timezone: tz ? tz[1] : 'UTC' });
  if (!parsed.success) {
    throw configError(where, `schedule '${text}' ${parsed.error.issues[0]?.message ?? 'is not valid'}`, 'use a cron expression, "TZ=Area/City <cron>", "every 5m", { after: [models] } or manual');
  }
  return parsed.data;
}

/** The first fire strictly after `now` (null: never fires by time). */
export function nextFire(spec: ScheduleSpec, now: Date, last?: Date | null): Date | null {
  switch (spec.kind) {
    case 'cron': {
      // A stopped task only computes; node-cron counts from the real clock, which is `now` here.
      const task = createTask(spec.cron, () => undefined, { timezone: spec.timezone });
      const [next] = task.getNextRuns(1);
      void task.destroy();
      return next ?? null;
    }
    case 'interval': {
      const ms = spec.every_seconds * 1000;
      // Aligned to the previous fire, so a slow tick never drifts the series.
      if (last) {
        const steps = Math.max(1, Math.ceil((now.getTime() - last.getTime() + 1) / ms));
        return new Date(last.getTime() + steps * ms);
      }
      return new Date(now.getTime() + ms);
    }
    default:
      return null;
  }
}

export function describeSpec(spec: ScheduleSpec): string {
  switch (spec.kind) {
    case 'cron':
      return `cron ${spec.cron} (${spec.timezone})`;
    case 'interval':
      return `every ${spec.every_seconds}s`;
    case 'after':
      return `after ${spec.after.join(', ')}`;
    default:
      return 'manual';
  }
}
