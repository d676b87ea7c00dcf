/**
 * Runs one recorded job — a sync run, a models build or a segments build — on this worker:
 * marks it running (a redelivered job of a dead worker is picked up again, and the sync's
 * own lock marks the interrupted run and resumes from what the destination acknowledged),
 * folds a fire into a newer one already waiting in its lane (a backlog after a slow run is
 * one catch-up run, not a burst), records the outcome, raises or clears alerts, and tells the
 * scheduler what succeeded so `after:` chains continue (models → segments → syncs).
 *
 * A failed run is recorded, never thrown to the queue: the next fire is the retry, and the
 * queue's own redelivery is kept for crashes only.
 */
import { selectModels } from '../compiler';
import { finishRun, recordModelResult, startRun } from '../control';
import { isCdpError, messageOf } from '../errors';
import { runModels } from '../runner';
import { runSync, type SyncRunResult } from '../sync';
import { applyAlerts, evaluateSyncRun, type AlertSender, type AlertsConfig } from './alerts';
import { finishJob, markJobRunning, newerQueuedFire, optionsOf, type JobRecord, type JobStatus } from './job-records';
import type { JobHandler } from './job-queue';
import type { Logger } from './logger';
import type { CdpRuntime } from './runtime';
import { buildSegments } from './segments-adapter';

export interface JobRunContext {
  runtime: CdpRuntime;
  log: Logger;
  workerId: string;
  alerts: { config: AlertsConfig; send: AlertSender };
  /** Names of what succeeded (`models`, model names, `segments`, segment names, `sync:x`) for `after:` schedules. */
  onSucceeded(tokens: string[]): Promise<void>;
  /** Tests shorten the sync engine's retry backoff. */
  retryBaseMs?: number;
}

interface Outcome {
  status: JobStatus;
  runId?: string;
  message?: string;
  tokens: string[];
}

export function createJobHandler(ctx: JobRunContext): JobHandler {
  const db = ctx.runtime.control;
  return async (jobId, signal) => {
    const job = await markJobRunning(db, jobId, ctx.workerId);
    if (!job) return; // finished already (a redelivery after completion)
    // A redelivered job (its worker died mid-run) resumes at once; only a first delivery may fold into a newer fire.
    if (job.attempts === 1 && (await newerQueuedFire(db, job))) {
      await finishJob(db, jobId, { status: 'coalesced', message: 'a newer fire of this schedule was already waiting; it runs instead' });
      return;
    }
    ctx.log.info('job started', { job: jobId, kind: job.kind, target: job.target, trigger: job.trigger, attempt: job.attempts });
    let outcome: Outcome;
    try {
      outcome = await execute(ctx, job, signal);
    } catch (error) {
      outcome = { status: 'failed', message: isCdpError(error) ? error.toLine() : `internal error: ${messageOf(error)}`, tokens: [] };
    }
    await finishJob(db, jobId, outcome);
    ctx.log[outcome.status === 'failed' ? 'warn' : 'info']('job finished', { job: jobId, kind: job.kind, target: job.target, status: outcome.status, run: outcome.runId, message: outcome.message });
    if (outcome.tokens.length) await ctx.onSucceeded(outcome.tokens).catch((error: unknown) => ctx.log.error('after-chain failed', { error: messageOf(error) }));
  };
}

async function execute(ctx: JobRunContext, job: JobRecord, signal: AbortSignal): Promise<Outcome> {
  const options = optionsOf(job);
  const runtime = ctx.runtime;
  if (job.kind === 'sync') {
    const target = await runtime.syncTarget(job.target);
    let result: SyncRunResult;
    try {
      result = await runSync({ warehouse: runtime.warehouse, control: runtime.control, project: runtime.name, projectDir: runtime.project.dir }, target, {
        trigger: `scheduler:${job.trigger}`,
        signal,
        full: options.full,
        retryRejected: options.retry_rejected,
        allowDeletions: options.allow_deletions,
        retryBaseMs: ctx.retryBaseMs,
      });
    } catch (error) {
      const failed = { status: 'failed' as const, counts: { planned: 0, added: 0, changed: 0, removed: 0, succeeded: 0, rejected: 0, retried: 0, skipped_consent: 0, invalid: 0, skipped_rejected: 0, unsent: 0, unchanged: 0 }, message: isCdpError(error) ? error.toLine() : messageOf(error) };
      await applyAlerts(runtime.control, runtime.name, `sync:${job.target}`, evaluateSyncRun(ctx.alerts.config, failed), ctx.alerts.send);
      throw error;
    }
    await applyAlerts(runtime.control, runtime.name, `sync:${job.target}`, evaluateSyncRun(ctx.alerts.config, result), ctx.alerts.send);
    const status: JobStatus = result.status === 'success' || result.status === 'partial' ? 'success' : result.status === 'cancelled' ? 'cancelled' : 'failed';
    return { status, runId: result.runId, message: [result.status, result.message, ...result.notes].filter(Boolean).join(' | '), tokens: result.status === 'success' ? [`sync:${job.target}`] : [] };
  }
  if (job.kind === 'models') {
    const compiled = runtime.compiled();
    const selected = selectModels(compiled.graph, compiled.nodes, options.select ?? []);
    const runId = await startRun(runtime.control, { project: runtime.name, kind: 'models', selector: options.select?.join(' ') || undefined, warehouseType: runtime.warehouse.dialect.name });
    const writes: Promise<void>[] = [];
    try {
      const summary = await runModels(runtime.warehouse, compiled, { selected, threads: runtime.project.config.threads, onResult: (r) => writes.push(recordModelResult(runtime.control, runId, r)) });
      await Promise.all(writes);
      await finishRun(runtime.control, runId, summary);
      const built = summary.results.filter((r) => r.status === 'success').map((r) => r.model);
      return { status: summary.ok ? 'success' : 'failed', runId, message: `${summary.counts.success} built, ${summary.counts.error} failed, ${summary.counts.skipped} skipped`, tokens: summary.ok ? ['models', ...built] : built };
    } catch (error) {
      await Promise.allSettled(writes);
      await finishRun(runtime.control, runId, { error: messageOf(error) });
      throw error;
    }
  }
  const built = await buildSegments(runtime, signal);
  return { status: built.ok ? 'success' : 'failed', message: built.message, tokens: built.ok ? ['segments', ...built.segments] : built.segments };
}
