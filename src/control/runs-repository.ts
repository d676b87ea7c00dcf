/**
 * Records of runs and their per-model results. Written as the run goes, so a crashed run
 * shows as `running` with the models it finished.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { ModelResult, RunSummary } from '../runner';
import type { ControlDb } from './control-db';

export const runRecordSchema = z.object({
  id: z.string(),
  project: z.string(),
  kind: z.string(),
  status: z.enum(['running', 'success', 'error']),
  selector: z.string().nullable(),
  warehouse_type: z.string().nullable(),
  started_at: z.coerce.date(),
  finished_at: z.coerce.date().nullable(),
  counts: z.string().nullable(),
  message: z.string().nullable(),
});
export type RunRecord = z.infer<typeof runRecordSchema>;

export const modelRunRecordSchema = z.object({
  run_id: z.string(),
  model: z.string(),
  status: z.enum(['success', 'error', 'skipped']),
  build_kind: z.string().nullable(),
  rows: z.coerce.number().nullable(),
  started_at: z.coerce.date(),
  duration_ms: z.coerce.number(),
  message: z.string().nullable(),
});
export type ModelRunRecord = z.infer<typeof modelRunRecordSchema>;

export async function startRun(db: ControlDb, run: { project: string; kind: string; selector?: string; warehouseType: string }): Promise<string> {
  const id = randomUUID();
  await db.knex('cdp_runs').insert({
    id,
    project: run.project,
    kind: run.kind,
    status: 'running',
    selector: run.selector ?? null,
    warehouse_type: run.warehouseType,
    started_at: new Date(),
  });
  return id;
}

export async function recordModelResult(db: ControlDb, runId: string, result: ModelResult): Promise<void> {
  await db.knex('cdp_model_runs').insert({
    run_id: runId,
    model: result.model,
    status: result.status,
    build_kind: result.kind ?? null,
    rows: result.rows ?? null,
    started_at: result.startedAt,
    duration_ms: result.durationMs,
    message: result.message ?? null,
  });
}

export async function finishRun(db: ControlDb, runId: string, summary: RunSummary | { error: string }): Promise<void> {
  const failed = 'error' in summary;
  await db.knex('cdp_runs').where({ id: runId }).update({
    status: failed || !summary.ok ? 'error' : 'success',
    finished_at: new Date(),
    counts: failed ? null : JSON.stringify(summary.counts),
    message: failed ? summary.error : null,
  });
}

export async function recentRuns(db: ControlDb, project: string, limit = 20): Promise<RunRecord[]> {
  const rows = await db.knex('cdp_runs').where({ project }).orderBy('started_at', 'desc').limit(limit);
  return z.array(runRecordSchema).parse(rows);
}

export async function modelRunsOf(db: ControlDb, runId: string): Promise<ModelRunRecord[]> {
  const rows = await db.knex('cdp_model_runs').where({ run_id: runId }).orderBy('id');
  return z.array(modelRunRecordSchema).parse(rows);
}
