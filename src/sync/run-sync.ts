/**
 * One sync run, start to finish: take the sync's lock (invariant 4), open a run record,
 * fold a journal left by a crashed run, plan in the warehouse, stop on the circuit breaker
 * (invariant 7), do state bookkeeping that needs no send, send through the executor with
 * the account's shared request budget, commit outcomes as they come (invariant 2), and
 * close the run record with counts, timings and errors. Always releases the lock.
 *
 * Resuming after a crash needs nothing special: acknowledged rows are in state (or in the
 * journal, folded first), so the next plan contains exactly what the destination is still
 * missing. In insert mode a resend would duplicate, so outcomes are committed after every
 * batch and a run following an interrupted one says how many rows may repeat.
 */
import type { BatchOp, ConnectorContext } from '../../connectors/kit';
import { ConnectorError, createConnectorContext, parseRetryAfter } from '../../connectors/kit';
import { matchRateReport, type AdBatchReport, type MatchRateReport } from '../../connectors/kit/match-rate';
import type { ControlDb } from '../control';
import { messageOf, isCdpError } from '../errors';
import type { Warehouse } from '../warehouse';
import { executePlan } from './executor';
import type { LoadedDestination } from './load-syncs';
import { planSamples, planSync, type PlanSample, type SyncPlan, type SyncTarget } from './planner';
import { budgetFor } from './rate-budget';
import { emptyCounts, type SyncCounts } from './sync-counts';
import { acquireSyncLock, finishSyncRun, newRunId, startSyncRun, updateSyncRunCounts, type SyncRunStatus } from './sync-records';
import { ensureSyncTables } from './state-tables';
import { bookkeepingStatements, recoverJournal, StateWriter } from './state-writer';

export interface SyncRunOptions {
  full?: boolean;
  retryRejected?: boolean;
  /** Proceed although the circuit breaker tripped. */
  allowDeletions?: boolean;
  trigger?: string;
  signal?: AbortSignal;
  /** First retry backoff (tests shorten it). */
  retryBaseMs?: number;
  /** Outcomes buffered before a state commit (default 10 000; insert mode: one batch). */
  commitRows?: number;
  onProgress?: (text: string) => void;
}

export interface SyncRunEnv {
  warehouse: Warehouse;
  control: ControlDb;
  project: string;
  /** Relative paths of file destinations resolve against this. */
  projectDir: string;
}

export interface SyncRunResult {
  runId: string;
  sync: string;
  status: SyncRunStatus;
  counts: SyncCounts;
  timings: Record<string, number>;
  message?: string;
  /** Ad-audience syncs: the connector's match-rate reports summed over the run (issue 9). */
  matchRate?: MatchRateReport;
  /** Things the user should know (an interrupted previous run, recovered outcomes …). */
  notes: string[];
}

const REMOVAL_OPS: BatchOp[] = ['delete', 'remove'];
const WRITE_OPS: BatchOp[] = ['insert', 'upsert', 'update', 'add'];

export async function runSync(env: SyncRunEnv, target: SyncTarget, options: SyncRunOptions = {}): Promise<SyncRunResult> {
  const { warehouse, control } = env;
  const sync = target.sync;
  const spec = sync.spec;
  const destination = sync.destination;
  const runId = newRunId();
  const startedAt = new Date();
  const lock = await acquireSyncLock(control, env.project, sync.name, runId);
  const notes: string[] = [];
  const counts = emptyCounts();
  const timings: Record<string, number> = {};
  const batchRows = Math.min(spec.options.batch_size ?? destination.limits.batchRows, destination.limits.batchRows);
  const heartbeat = setInterval(() => void lock.heartbeat().catch(() => undefined), 30_000);
  heartbeat.unref();
  let status: SyncRunStatus = 'running';
  let message: string | undefined;
  const batchReports: AdBatchReport[] = [];
  const matchRate = (): MatchRateReport | undefined => (batchReports.length > 0 ? matchRateReport(batchReports) : undefined);
  try {
    await startSyncRun(control, { id: runId, project: env.project, sync: sync.name, trigger: options.trigger ?? 'cli', full: Boolean(options.full), retryRejected: Boolean(options.retryRejected), startedAt });
    if (lock.interruptedRunId) {
      notes.push(`the previous run ${lock.interruptedRunId} was interrupted; this run resumes from what the destination acknowledged`);
      if (sync.mode === 'insert') {
        const inFlight = batchRows * destination.limits.concurrency;
        notes.push(`insert mode: up to ${inFlight} rows that were in flight at the interruption may have been inserted twice (the destination gave no acknowledgement we could record)`);
      }
    }
    await ensureSyncTables(warehouse, target.tables, spec.options.sync_log);
    const recovered = await recoverJournal(warehouse, target.tables, lock.interruptedRunId ?? runId, spec.options.sync_log);
    if (recovered) notes.push(`recovered ${recovered} acknowledged outcomes journaled by the interrupted run`);

    options.onProgress?.(`planning ${sync.name}`);
    const plan = await planSync(warehouse, target, { full: Boolean(options.full), retryRejected: Boolean(options.retryRejected) });
    timings.plan_ms = plan.durationMs;
    Object.assign(counts, plan.counts);
    await updateSyncRunCounts(control, runId, counts);

    if (plan.breaker && !options.allowDeletions) {
      status = 'stopped';
      message = plan.breaker.message;
      return { runId, sync: sync.name, status, counts, timings, message, notes };
    }

    const bookkeepingStarted = Date.now();
    const trackAdded = plan.bookkeeping > 0 && sync.mode === 'archive';
    if (plan.bookkeeping > 0) await warehouse.executeAll(bookkeepingStatements(warehouse, target.tables, runId, trackAdded));
    timings.bookkeeping_ms = Date.now() - bookkeepingStarted;

    const signal = options.signal ?? new AbortController().signal;
    const budget = budgetFor(destination.name, destination.limits.requests);
    const context: ConnectorContext<unknown> = createConnectorContext(destination.name, destination.config, {
      timeoutMs: spec.options.timeout_ms,
      signal,
      run: { id: runId, sync: sync.name, startedAt },
      baseDir: env.projectDir,
      report: (report) => void batchReports.push(report),
      beforeRequest: () => budget.take(signal),
      afterResponse: (response) => {
        if (response.status === 429) budget.pause(parseRetryAfter(response.headers.get('retry-after')) ?? 1000);
      },
    });
    const writer = new StateWriter(warehouse, target.tables, {
      runId,
      withLog: spec.options.sync_log,
      flushRows: options.commitRows ?? 10_000,
      commitEachBatch: sync.mode === 'insert',
    });
    const ops = [...REMOVAL_OPS, ...WRITE_OPS].filter((op) => (plan.byOp[op] ?? 0) > 0);
    const result = await executePlan(warehouse, target, destination.definition, context, writer, {
      batchRows,
      concurrency: destination.limits.concurrency,
      maxAttempts: spec.options.max_attempts,
      retryBaseMs: options.retryBaseMs ?? 500,
      signal,
      ops,
      onProgress: (p) => options.onProgress?.(`${sync.name}: sent ${p.sent}/${plan.counts.planned}, ok ${p.succeeded}, rejected ${p.rejected}, retried ${p.retried}`),
    });
    let commitError: unknown;
    await writer.close().catch((error: unknown) => (commitError = error));
    timings.send_ms = result.sendMs;
    timings.commit_ms = writer.commitMs;
    counts.succeeded = result.succeeded;
    counts.rejected = result.rejected;
    counts.retried = result.retried;
    counts.unsent = result.unsent + Math.max(0, plan.counts.planned - result.sent);
    const failure = result.fatal ?? commitError;
    if (failure !== undefined) {
      status = 'failed';
      message = failureLine(failure, destination);
    } else if (result.cancelled) {
      status = 'cancelled';
      message = 'cancelled; acknowledged rows were committed, the rest is sent by the next run';
    } else status = counts.unsent > 0 ? 'partial' : 'success';
    if (status === 'partial') message = `${counts.unsent} rows still failing after ${spec.options.max_attempts} attempts; the next run sends them`;
    return { runId, sync: sync.name, status, counts, timings, message, notes, ...(batchReports.length > 0 ? { matchRate: matchRate() } : {}) };
  } catch (error) {
    status = 'failed';
    message = failureLine(error, destination);
    throw error;
  } finally {
    clearInterval(heartbeat);
    timings.total_ms = Date.now() - startedAt.getTime();
    const recordMessage = [message, ...notes].filter(Boolean).join(' | ') || undefined;
    await finishSyncRun(control, runId, { status: status === 'running' ? 'failed' : status, counts, timings, message: recordMessage, matchRate: matchRate() }).catch(() => undefined);
    await lock.release().catch(() => undefined);
  }
}

/**
 * One line for the run record. A connector names itself by its type (`destination hubspot`),
 * which does not say which account failed when a project has several of that type: name
 * the destination as destinations.yml does, with its type (`destination crm_eu (hubspot)`).
 */
function failureLine(error: unknown, destination: LoadedDestination): string {
  if (error instanceof ConnectorError) {
    const where = destination.name === destination.type ? `destination ${destination.name}` : `destination ${destination.name} (${destination.type})`;
    const head = `${where}: ${error.message}`;
    return error.hint ? `${head} — ${error.hint}` : head;
  }
  return isCdpError(error) ? error.toLine() : messageOf(error);
}

/**
 * `cdp sync plan`: the same plan a run would make, with samples, and nothing sent. It takes
 * the lock (the plan table is shared with a run) and folds a crashed run's journal first
 * (a new plan would otherwise pair those outcomes with new data).
 */
export async function dryRunSync(env: SyncRunEnv, target: SyncTarget, options: { full?: boolean; retryRejected?: boolean; samples?: number } = {}): Promise<{ plan: SyncPlan; samples: PlanSample[] }> {
  const runId = newRunId();
  const lock = await acquireSyncLock(env.control, env.project, target.sync.name, runId);
  try {
    await ensureSyncTables(env.warehouse, target.tables, target.sync.spec.options.sync_log);
    await recoverJournal(env.warehouse, target.tables, lock.interruptedRunId ?? runId, target.sync.spec.options.sync_log);
    const plan = await planSync(env.warehouse, target, { full: Boolean(options.full), retryRejected: Boolean(options.retryRejected) });
    return { plan, samples: await planSamples(env.warehouse, target, options.samples ?? 3) };
  } finally {
    await lock.release().catch(() => undefined);
  }
}

export type { SyncPlan };
