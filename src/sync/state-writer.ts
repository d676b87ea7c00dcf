/**
 * Commits outcomes to the warehouse in batches (sync invariants 2 and 3). Outcomes are
 * buffered; a flush bulk-loads them into `<sync>__acks` (the journal) and then, in one
 * transaction, folds them into state and rejected (hashes come from the plan table by key,
 * so they never round-trip through Node), appends the row log and empties the journal.
 *
 * A crash after the load but before the fold leaves the journal full: `recoverJournal`
 * folds it at the start of the next run, against the plan it was made from. A crash before
 * the load loses only outcomes the state never recorded, so those rows are sent again
 * (at-least-once). Flushes run one at a time, in order; `add` waits when too much is
 * buffered (bounded memory).
 */
import type { BatchOp } from '../../connectors/kit';
import type { Row, Warehouse } from '../warehouse';
import { ackColumns, relationExists, type SyncTables } from './state-tables';

export interface AckRow {
  key: string;
  op: BatchOp;
  status: 'ok' | 'rejected';
  reason: string | null;
  externalId: string | null;
  created: boolean | null;
}

export interface StateWriterOptions {
  runId: string;
  withLog: boolean;
  /** Rows buffered before a flush starts. */
  flushRows: number;
  /**
   * Insert mode: each batch's outcomes are committed before `add` returns, so the batch's
   * concurrency slot is held until then — only batches in flight can repeat after a crash.
   */
  commitEachBatch?: boolean;
  onFlushed?: (rows: number) => void;
}

const WRITE_OPS = new Set<BatchOp>(['upsert', 'update', 'insert', 'add']);

export class StateWriter {
  private buffer: AckRow[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private failure: unknown;
  flushedRows = 0;
  commitMs = 0;

  constructor(
    private readonly warehouse: Warehouse,
    private readonly tables: SyncTables,
    private readonly options: StateWriterOptions,
  ) {}

  /**
   * Buffers outcomes; when enough are buffered, waits for the flush in flight (at most one
   * runs, so memory stays near two flushes' worth) and starts the next.
   */
  async add(rows: AckRow[]): Promise<void> {
    if (this.failure) throw this.failure;
    for (const row of rows) this.buffer.push(row);
    if (this.options.commitEachBatch) {
      this.startFlush();
      await this.flushing;
    } else if (this.buffer.length >= this.options.flushRows) {
      await this.flushing;
      this.startFlush();
    }
    if (this.failure) throw this.failure;
  }

  /** Flushes everything buffered and waits for it. */
  async close(): Promise<void> {
    this.startFlush();
    await this.flushing;
    if (this.failure) throw this.failure;
  }

  private startFlush(): void {
    if (this.buffer.length === 0) return;
    const rows = this.buffer;
    this.buffer = [];
    this.flushing = this.flushing.then(async () => {
      if (this.failure) return;
      const started = Date.now();
      try {
        await writeJournal(this.warehouse, this.tables, rows);
        await foldJournal(this.warehouse, this.tables, this.options.runId, this.options.withLog);
        this.flushedRows += rows.length;
        this.options.onFlushed?.(rows.length);
      } catch (error) {
        this.failure = error;
      } finally {
        this.commitMs += Date.now() - started;
      }
    });
  }
}

async function writeJournal(warehouse: Warehouse, tables: SyncTables, rows: AckRow[]): Promise<void> {
  const asRows: Row[] = rows.map((r) => ({ key: r.key, op: r.op, status: r.status, reason: r.reason, external_id: r.externalId, created: r.created }));
  await warehouse.load(tables.acks, ackColumns, (async function* () {
    yield asRows;
  })());
}

/** The statements folding the journal into state/rejected/log, then emptying it. */
export function foldStatements(warehouse: Warehouse, tables: SyncTables, runId: string, withLog: boolean): string[] {
  const d = warehouse.dialect;
  const acks = d.qualify(tables.acks);
  const state = d.qualify(tables.state);
  const rejected = d.qualify(tables.rejected);
  const plan = d.qualify(tables.plan);
  const run = d.literal(runId);
  const writeOps = [...WRITE_OPS].map((op) => d.literal(op)).join(', ');
  const statements = [
    // Acknowledged: the destination now has this row as planned (or no longer has it).
    `DELETE FROM ${state} WHERE key IN (SELECT key FROM ${acks} WHERE status = 'ok')`,
    `INSERT INTO ${state} (key, row_hash, external_id, created, synced_at, run_id)
     SELECT a.key, p.__hash, COALESCE(a.external_id, p.__external_id), COALESCE(p.__prev_created, a.created, TRUE), ${d.now()}, ${run}
     FROM ${acks} AS a JOIN ${plan} AS p ON p.__key = a.key AND p.__op = a.op
     WHERE a.status = 'ok' AND a.op IN (${writeOps})`,
    `DELETE FROM ${rejected} WHERE key IN (SELECT key FROM ${acks})`,
    `INSERT INTO ${rejected} (key, row_hash, op, reason, run_id, rejected_at)
     SELECT a.key, p.__hash, a.op, a.reason, ${run}, ${d.now()}
     FROM ${acks} AS a JOIN ${plan} AS p ON p.__key = a.key AND p.__op = a.op
     WHERE a.status = 'rejected'`,
  ];
  if (withLog) {
    statements.push(`INSERT INTO ${d.qualify(tables.log)} (run_id, key, op, status, reason, logged_at) SELECT ${run}, key, op, status, reason, ${d.now()} FROM ${acks}`);
  }
  statements.push(`DELETE FROM ${acks}`);
  return statements;
}

async function foldJournal(warehouse: Warehouse, tables: SyncTables, runId: string, withLog: boolean): Promise<void> {
  await warehouse.executeAll(foldStatements(warehouse, tables, runId, withLog));
}

/**
 * Folds outcomes journaled by a run that died between loading and folding them. Must run
 * before the next plan replaces the plan table they refer to. Returns the rows recovered.
 */
export async function recoverJournal(warehouse: Warehouse, tables: SyncTables, runId: string, withLog: boolean): Promise<number> {
  if (!(await relationExists(warehouse, tables.acks))) return 0;
  const [{ n }] = await warehouse.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${warehouse.dialect.qualify(tables.acks)}`);
  if (Number(n) === 0) return 0;
  if (!(await relationExists(warehouse, tables.plan))) {
    await warehouse.execute(`DELETE FROM ${warehouse.dialect.qualify(tables.acks)}`);
    return 0;
  }
  await foldJournal(warehouse, tables, runId, withLog);
  return Number(n);
}

/** State bookkeeping that needs no send: rows whose kind has no op in this mode. */
export function bookkeepingStatements(warehouse: Warehouse, tables: SyncTables, runId: string, trackAdded: boolean): string[] {
  const d = warehouse.dialect;
  const state = d.qualify(tables.state);
  const plan = d.qualify(tables.plan);
  const run = d.literal(runId);
  const statements = [
    // Changed with no op (insert, add_remove): the destination keeps what it had; remember the new hash so it stays quiet.
    `UPDATE ${state} AS st SET row_hash = p.__hash FROM ${plan} AS p WHERE p.__key = st.key AND p.__kind = 'changed' AND p.__op IS NULL`,
    // Removed with no op (upsert mode, or not created by this sync): forget it, never delete it.
    `DELETE FROM ${state} WHERE key IN (SELECT __key FROM ${plan} WHERE __kind = 'removed' AND __op IS NULL)`,
  ];
  if (trackAdded) {
    // archive: nothing is sent for new audience members, but they are tracked so leaving deletes them.
    statements.push(
      `INSERT INTO ${state} (key, row_hash, external_id, created, synced_at, run_id)
       SELECT __key, __hash, NULL, TRUE, ${d.now()}, ${run} FROM ${plan} WHERE __kind = 'added' AND __op IS NULL`,
    );
  }
  return statements;
}
