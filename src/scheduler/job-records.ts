/**
 * Jobs in the control DB (`cdp_jobs`): every fire, chain step and manual trigger becomes a
 * row before it reaches a queue, so what ran, when, where and why is visible (API, tests),
 * and an in-process queue can pick up what a crashed `cdp serve` left behind.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { ControlDb } from '../control';

export const jobKinds = ['sync', 'models', 'segments'] as const;
export type JobKind = (typeof jobKinds)[number];

export const jobOptionsSchema = z.strictObject({
  full: z.boolean().optional(),
  retry_rejected: z.boolean().optional(),
  allow_deletions: z.boolean().optional(),
  /** Model selectors for a models job (empty: all). */
  select: z.array(z.string()).optional(),
});
export type JobOptions = z.infer<typeof jobOptionsSchema>;

export interface JobRequest {
  kind: JobKind;
  /** Sync name; `all` for models and segments. */
  target: string;
  trigger: 'cron' | 'interval' | 'after' | 'missed' | 'manual' | 'api' | 'resume';
  fireAt?: Date;
  options?: JobOptions;
}

export const jobStatuses = ['queued', 'running', 'success', 'failed', 'cancelled', 'coalesced'] as const;
export type JobStatus = (typeof jobStatuses)[number];

export const jobRecordSchema = z.object({
  id: z.string(),
  project: z.string(),
  kind: z.enum(jobKinds),
  target: z.string(),
  trigger: z.string(),
  fire_at: z.coerce.date().nullable(),
  status: z.enum(jobStatuses),
  attempts: z.coerce.number(),
  worker: z.string().nullable(),
  run_id: z.string().nullable(),
  queued_at: z.coerce.date(),
  started_at: z.coerce.date().nullable(),
  finished_at: z.coerce.date().nullable(),
  message: z.string().nullable(),
});
export type JobRecord = z.infer<typeof jobRecordSchema>;

/** The serial lane of a job: one run at a time per sync (and one models / segments build). */
export function laneOf(job: Pick<JobRequest, 'kind' | 'target'>): string {
  return job.kind === 'sync' ? `sync:${job.target}` : job.kind;
}

export async function insertJob(db: ControlDb, project: string, request: JobRequest): Promise<string> {
  const id = randomUUID();
  await db.knex('cdp_jobs').insert({
    id,
    project,
    kind: request.kind,
    target: request.target,
    trigger: request.trigger,
    fire_at: request.fireAt ?? null,
    status: 'queued',
    attempts: 0,
    queued_at: new Date(),
    message: request.options && Object.keys(request.options).length ? JSON.stringify({ options: request.options }) : null,
  });
  return id;
}

export async function getJob(db: ControlDb, id: string): Promise<JobRecord | undefined> {
  const row = await db.knex('cdp_jobs').where({ id }).first();
  return row ? jobRecordSchema.parse(row) : undefined;
}

/** Marks a job running on this worker; false if it already finished (a redelivery after completion). */
export async function markJobRunning(db: ControlDb, id: string, worker: string): Promise<JobRecord | undefined> {
  const current = await getJob(db, id);
  if (!current || !['queued', 'running'].includes(current.status)) return undefined;
  await db.knex('cdp_jobs').where({ id }).update({ status: 'running', worker, attempts: current.attempts + 1, started_at: new Date() });
  return { ...current, status: 'running', worker, attempts: current.attempts + 1 };
}

export async function finishJob(db: ControlDb, id: string, result: { status: JobStatus; runId?: string; message?: string }): Promise<void> {
  await db.knex('cdp_jobs').where({ id }).update({ status: result.status, run_id: result.runId ?? null, finished_at: new Date(), message: result.message ?? null });
}

export async function listJobs(db: ControlDb, project: string, filter: { kind?: JobKind; target?: string; status?: JobStatus; limit?: number } = {}): Promise<JobRecord[]> {
  let query = db.knex('cdp_jobs').where({ project });
  if (filter.kind) query = query.andWhere({ kind: filter.kind });
  if (filter.target) query = query.andWhere({ target: filter.target });
  if (filter.status) query = query.andWhere({ status: filter.status });
  const rows = await query.orderBy('queued_at', 'desc').limit(filter.limit ?? 50);
  return z.array(jobRecordSchema).parse(rows);
}

/** Jobs a previous process left queued or running (in-process queue only: that process is gone). */
export async function unfinishedJobs(db: ControlDb, project: string): Promise<JobRecord[]> {
  const rows = await db.knex('cdp_jobs').where({ project }).whereIn('status', ['queued', 'running']).orderBy('queued_at');
  return z.array(jobRecordSchema).parse(rows);
}

/** A newer fire of the same lane waiting behind this one: this one can be folded into it. */
export async function newerQueuedFire(db: ControlDb, job: JobRecord): Promise<boolean> {
  if (!job.fire_at) return false;
  const row = await db.knex('cdp_jobs')
    .where({ project: job.project, kind: job.kind, target: job.target, status: 'queued' })
    .andWhere('fire_at', '>', job.fire_at)
    .first('id');
  return Boolean(row);
}

export function optionsOf(job: JobRecord): JobOptions {
  if (!job.message || job.status !== 'running') return {};
  try {
    const parsed = z.object({ options: jobOptionsSchema }).safeParse(JSON.parse(job.message));
    return parsed.success ? parsed.data.options : {};
  } catch {
    return {};
  }
}
