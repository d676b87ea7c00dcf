/**
 * What the control DB knows about syncs: their definitions (mirrored from syncs/*.yml on
 * load), the per-sync lock (invariant 4: one run at a time, across processes) and run
 * records with counts, timings and errors. Never a customer's data: keys, rows and reasons
 * stay in the warehouse's state schema.
 *
 * The lock is a row keyed by (project, sync). A lock whose holder is gone — same host and
 * its pid no longer exists (a killed process), or no heartbeat for `STALE_AFTER_MS` — is
 * taken over, and the run it belonged to is marked `failed` as interrupted.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';
import type { ControlDb } from '../control';
import { CdpError } from '../errors';
import type { MatchRateReport } from '../../connectors/kit/match-rate';
import type { SyncCounts } from './sync-counts';

const STALE_AFTER_MS = 10 * 60 * 1000;

export async function saveSyncDefinitions(
  db: ControlDb,
  project: string,
  syncs: { name: string; file: string; destination: string; mode: string; schedule: string; enabled: boolean; definition: unknown }[],
): Promise<void> {
  const now = new Date();
  await db.knex.transaction(async (trx) => {
    // File-defined syncs mirror the files: a deleted file deletes its definition (API ones stay).
    await trx('cdp_syncs').where({ project, origin: 'file' }).delete();
    for (const s of syncs) {
      await trx('cdp_syncs').where({ project, name: s.name }).delete();
      await trx('cdp_syncs').insert({
        project,
        name: s.name,
        origin: 'file',
        file: s.file,
        destination: s.destination,
        mode: s.mode,
        schedule: s.schedule,
        definition: JSON.stringify(s.definition),
        enabled: s.enabled,
        updated_at: now,
      });
    }
  });
}

export const storedSyncSchema = z.object({
  project: z.string(),
  name: z.string(),
  origin: z.string(),
  file: z.string().nullable(),
  destination: z.string(),
  mode: z.string(),
  schedule: z.string().nullable(),
  definition: z.string(),
  enabled: z.coerce.boolean(),
});

export async function storedSyncs(db: ControlDb, project: string): Promise<z.infer<typeof storedSyncSchema>[]> {
  return z.array(storedSyncSchema).parse(await db.knex('cdp_syncs').where({ project }).orderBy('name'));
}

export interface SyncLock {
  runId: string;
  /** A run of this sync that was interrupted (its process died) before this one. */
  interruptedRunId?: string;
  heartbeat(): Promise<void>;
  release(): Promise<void>;
}

export async function acquireSyncLock(db: ControlDb, project: string, sync: string, runId: string): Promise<SyncLock> {
  const host = hostname();
  const now = new Date();
  let interruptedRunId: string | undefined;
  await db.knex.transaction(async (trx) => {
    const held = await trx('cdp_sync_locks').where({ project, sync }).first();
    if (held) {
      const lock = z.object({ run_id: z.string(), host: z.string(), pid: z.coerce.number(), heartbeat_at: z.coerce.date() }).parse(held);
      const deadProcess = lock.host === host && !processAlive(lock.pid);
      const stale = Date.now() - lock.heartbeat_at.getTime() > STALE_AFTER_MS;
      if (!deadProcess && !stale) {
        throw new CdpError(`sync ${sync} is already running (run ${lock.run_id}, pid ${lock.pid} on ${lock.host})`, {
          code: 'SYNC_LOCKED',
          kind: 'runtime',
          where: `sync ${sync}`,
          hint: 'wait for it to finish; one run at a time per sync',
        });
      }
      interruptedRunId = lock.run_id;
      await trx('cdp_sync_locks').where({ project, sync }).delete();
      await trx('cdp_sync_runs')
        .where({ id: lock.run_id, status: 'running' })
        .update({ status: 'failed', finished_at: now, message: 'interrupted: the process running it stopped before it finished' });
    }
    await trx('cdp_sync_locks').insert({ project, sync, run_id: runId, host, pid: process.pid, acquired_at: now, heartbeat_at: now });
  });
  return {
    runId,
    interruptedRunId,
    heartbeat: async () => {
      await db.knex('cdp_sync_locks').where({ project, sync, run_id: runId }).update({ heartbeat_at: new Date() });
    },
    release: async () => {
      await db.knex('cdp_sync_locks').where({ project, sync, run_id: runId }).delete();
    },
  };
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but is not ours.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export const syncRunRecordSchema = z.object({
  id: z.string(),
  project: z.string(),
  sync: z.string(),
  status: z.enum(['running', 'success', 'partial', 'failed', 'stopped', 'cancelled']),
  trigger: z.string().nullable(),
  full: z.coerce.boolean(),
  retry_rejected: z.coerce.boolean(),
  started_at: z.coerce.date(),
  finished_at: z.coerce.date().nullable(),
  counts: z.string().nullable(),
  timings: z.string().nullable(),
  message: z.string().nullable(),
  /** JSON MatchRateReport of an ad-audience run (issue 9); null for other destinations. */
  match_rate: z.string().nullable().optional(),
});
export type SyncRunRecord = z.infer<typeof syncRunRecordSchema>;
export type SyncRunStatus = SyncRunRecord['status'];

export function newRunId(): string {
  return randomUUID();
}

export async function startSyncRun(db: ControlDb, run: { id: string; project: string; sync: string; trigger: string; full: boolean; retryRejected: boolean; startedAt: Date }): Promise<void> {
  await db.knex('cdp_sync_runs').insert({
    id: run.id,
    project: run.project,
    sync: run.sync,
    status: 'running',
    trigger: run.trigger,
    full: run.full,
    retry_rejected: run.retryRejected,
    started_at: run.startedAt,
  });
}

/** Counts so far, written as the run goes (a crashed run still shows how far it got). */
export async function updateSyncRunCounts(db: ControlDb, runId: string, counts: SyncCounts): Promise<void> {
  await db.knex('cdp_sync_runs').where({ id: runId }).update({ counts: JSON.stringify(counts) });
}

export async function finishSyncRun(
  db: ControlDb,
  runId: string,
  result: { status: SyncRunStatus; counts: SyncCounts; timings: Record<string, number>; message?: string; matchRate?: MatchRateReport },
): Promise<void> {
  await db.knex('cdp_sync_runs').where({ id: runId }).update({
    status: result.status,
    finished_at: new Date(),
    counts: JSON.stringify(result.counts),
    timings: JSON.stringify(result.timings),
    message: result.message ?? null,
    match_rate: result.matchRate ? JSON.stringify(result.matchRate) : null,
  });
}

/** The match-rate report stored with a run record, or undefined (not an ad sync, or unreadable). */
export function runMatchRate(record: Pick<SyncRunRecord, 'match_rate'>): MatchRateReport | undefined {
  if (!record.match_rate) return undefined;
  try {
    return JSON.parse(record.match_rate) as MatchRateReport;
  } catch {
    return undefined;
  }
}

export async function syncRuns(db: ControlDb, project: string, sync: string, limit = 20): Promise<SyncRunRecord[]> {
  const rows = await db.knex('cdp_sync_runs').where({ project, sync }).orderBy('started_at', 'desc').limit(limit);
  return z.array(syncRunRecordSchema).parse(rows);
}
