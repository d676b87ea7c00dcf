/**
 * Sends a plan: streams the plan table op by op (removals first), cuts destination batches,
 * keeps up to `concurrency` batches in flight (the stream waits — bounded memory, invariant
 * 5), and hands every outcome to the StateWriter, which records only acknowledged rows
 * (invariant 2). Per batch:
 *  - a retryable failure (429, 5xx, timeout, or rows answered `retry`) is retried with
 *    exponential backoff and jitter, never sooner than Retry-After; after `maxAttempts` the
 *    rows are left unsent (not in state, so the next run sends them);
 *  - a 'permanent' whole-batch failure is split in halves until the bad rows stand alone,
 *    and a lone bad row is rejected with the destination's message;
 *  - 'auth' or 'config' stops the run: every batch would fail the same way.
 * Cancellation (AbortSignal) stops cutting new batches; batches in flight finish or abort,
 * and what was acknowledged is still committed.
 */
import { checkOutcomes, ConnectorError, type Batch, type BatchOp, type ConnectorContext, type DestinationDefinition, type OutboundRow, type RowOutcome } from '../../connectors/kit';
import { isCdpError } from '../errors';
import type { Row, Warehouse } from '../warehouse';
import { AckBatch, type StateWriter } from './state-writer';
import type { SyncTarget } from './planner';

export interface ExecuteOptions {
  /** Rows per destination request. */
  batchRows: number;
  concurrency: number;
  maxAttempts: number;
  /** First backoff; doubles per attempt, with jitter, capped at 60 s. */
  retryBaseMs: number;
  signal: AbortSignal;
  /** Ops to send, in order. */
  ops: BatchOp[];
  onProgress?: (progress: ExecuteProgress) => void;
}

export interface ExecuteProgress {
  sent: number;
  succeeded: number;
  rejected: number;
  retried: number;
  unsent: number;
}

export interface ExecuteResult extends ExecuteProgress {
  /** Why the run stopped early ('auth'/'config' failure or an internal error). */
  fatal?: unknown;
  cancelled: boolean;
  sendMs: number;
}

const MAX_BACKOFF_MS = 60_000;

export async function executePlan(
  warehouse: Warehouse,
  target: SyncTarget,
  definition: DestinationDefinition,
  context: ConnectorContext<unknown>,
  writer: StateWriter,
  options: ExecuteOptions,
): Promise<ExecuteResult> {
  const started = Date.now();
  const progress: ExecuteProgress = { sent: 0, succeeded: 0, rejected: 0, retried: 0, unsent: 0 };
  let fatal: unknown;
  // Stops this run's sends on a fatal failure as well as on the caller's cancellation.
  const stop = new AbortController();
  const onAbort = () => stop.abort(options.signal.reason);
  options.signal.addEventListener('abort', onAbort, { once: true });
  const ctx: ConnectorContext<unknown> = { ...context, signal: AbortSignal.any([context.signal, stop.signal]) };
  const d = warehouse.dialect;
  const mapping = target.sync.mapping;
  const object = target.sync.spec.object;
  const objectOptions = target.sync.spec.object_options;
  const columns = ['__key', '__external_id', ...mapping.columns.map((c) => d.quoteIdent(c))].join(', ');

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (stop.signal.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        stop.signal.removeEventListener('abort', done);
        resolve();
      }
      stop.signal.addEventListener('abort', done, { once: true });
    });
  const backoff = (attempt: number, retryAfterMs = 0) => {
    const exp = Math.min(MAX_BACKOFF_MS, options.retryBaseMs * 2 ** (attempt - 1));
    return Math.max(retryAfterMs, exp * (0.5 + Math.random() * 0.5));
  };

  /** Delivers rows; resolves with one final outcome per row ('retry' = left unsent). */
  const deliver = async (op: BatchOp, rows: OutboundRow[]): Promise<RowOutcome[]> => {
    const outcomes: RowOutcome[] = new Array<RowOutcome>(rows.length);
    let pending = rows.map((_, i) => i);
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (stop.signal.aborted) break;
      const batch: Batch = { object, op, rows: pending.map((i) => rows[i]!), options: objectOptions };
      let answer: RowOutcome[];
      try {
        answer = checkOutcomes(definition.type, batch.rows.length, await definition.write(ctx, batch));
      } catch (error) {
        if (!(error instanceof ConnectorError)) throw error;
        if (error.failure === 'permanent') {
          if (batch.rows.length === 1) {
            outcomes[pending[0]!] = { status: 'rejected', reason: error.message };
          } else {
            // Split to isolate the bad rows; each half gets a fresh retry budget.
            const half = Math.ceil(pending.length / 2);
            const [left, right] = [pending.slice(0, half), pending.slice(half)];
            const [a, b] = await Promise.all([deliver(op, left.map((i) => rows[i]!)), deliver(op, right.map((i) => rows[i]!))]);
            left.forEach((i, j) => (outcomes[i] = a[j]!));
            right.forEach((i, j) => (outcomes[i] = b[j]!));
          }
          pending = [];
          break;
        }
        if (!error.retryable || stop.signal.aborted) throw error;
        if (attempt >= options.maxAttempts) break;
        progress.retried += pending.length;
        await sleep(backoff(attempt, error.retryAfterMs));
        continue;
      }
      const again: number[] = [];
      let retryAfter = 0;
      answer.forEach((outcome, j) => {
        const i = pending[j]!;
        outcomes[i] = outcome;
        if (outcome.status === 'retry') {
          again.push(i);
          retryAfter = Math.max(retryAfter, outcome.retryAfterMs ?? 0);
        }
      });
      pending = again;
      if (pending.length === 0 || attempt >= options.maxAttempts) break;
      progress.retried += pending.length;
      await sleep(backoff(attempt, retryAfter));
    }
    for (const i of pending) if (!outcomes[i]) outcomes[i] = { status: 'retry', reason: stop.signal.aborted ? 'cancelled' : 'gave up after retries' };
    for (let i = 0; i < rows.length; i++) if (!outcomes[i]) outcomes[i] = { status: 'retry', reason: 'cancelled' };
    return outcomes;
  };

  const handleBatch = async (op: BatchOp, rows: OutboundRow[]) => {
    const outcomes = await deliver(op, rows);
    const acks = new AckBatch(op, rows.map((r) => r.key), outcomes);
    progress.succeeded += acks.succeeded;
    progress.rejected += acks.rejected;
    progress.unsent += rows.length - acks.journalRows;
    progress.sent += rows.length;
    await writer.add(acks);
    options.onProgress?.({ ...progress });
  };

  const inFlight = new Set<Promise<void>>();
  const launch = (op: BatchOp, rows: OutboundRow[]) => {
    const task: Promise<void> = handleBatch(op, rows)
      .catch((error: unknown) => {
        if (fatal === undefined && !(stop.signal.aborted && isCancellation(error))) fatal = error;
        stop.abort(error);
      })
      .finally(() => inFlight.delete(task));
    inFlight.add(task);
  };

  try {
    for (const op of options.ops) {
      const sql = `SELECT ${columns} FROM ${d.qualify(target.tables.plan)} WHERE __op = ${d.literal(op)}`;
      const removal = op === 'delete' || op === 'remove';
      let pendingRows: OutboundRow[] = [];
      for await (const chunk of warehouse.stream(sql, Math.max(options.batchRows, 1000))) {
        for (const row of chunk) {
          pendingRows.push(toOutbound(row, removal ? undefined : mapping.apply));
          if (pendingRows.length >= options.batchRows) {
            launch(op, pendingRows);
            pendingRows = [];
            while (inFlight.size >= options.concurrency) await Promise.race(inFlight);
          }
        }
        if (stop.signal.aborted) break;
      }
      if (pendingRows.length && !stop.signal.aborted) launch(op, pendingRows);
      // Ops run in order: removals are done before writes begin.
      await Promise.all(inFlight);
      if (stop.signal.aborted) break;
    }
  } catch (error) {
    if (fatal === undefined) fatal = error;
    stop.abort(error);
  } finally {
    await Promise.allSettled(inFlight);
    options.signal.removeEventListener('abort', onAbort);
  }
  return { ...progress, fatal, cancelled: options.signal.aborted && fatal === undefined, sendMs: Date.now() - started };
}

function toOutbound(row: Row, apply: ((row: Row) => OutboundRow['fields']) | undefined): OutboundRow {
  const out: OutboundRow = { key: String(row.__key), fields: apply ? apply(row) : {} };
  if (row.__external_id !== null && row.__external_id !== undefined) out.externalId = String(row.__external_id);
  return out;
}

function isCancellation(error: unknown): boolean {
  return (isCdpError(error) && /cancelled/.test(error.message)) || (error instanceof Error && error.name === 'AbortError');
}
