/**
 * Commits outcomes to the warehouse in batches (sync invariants 2 and 3), in two steps:
 *  - journal: buffered outcomes are bulk-loaded into `<sync>__acks` (one load, one
 *    transaction). From then on they are durable: a crash cannot lose them;
 *  - fold: in one transaction, the journal is folded into state and rejected (hashes come
 *    from the plan table by key, so they never round-trip through Node), the row log is
 *    appended and the journal emptied. A fold reads the plan, so it runs once per `foldRows`
 *    journaled outcomes (and at close), not once per journal load.
 *
 * A crash after a load but before its fold leaves the journal full: `recoverJournal` folds
 * it at the start of the next run, against the plan it was made from. A crash before the
 * load loses only outcomes the state never recorded, so those rows are sent again
 * (at-least-once). Flushes run one at a time, in order; `add` waits when too much is
 * buffered (bounded memory).
 */
import type { BatchOp, RowOutcome } from '../../connectors/kit';
import type { Row, Warehouse } from '../warehouse';
import { ackColumns, relationExists, type SyncTables } from './state-tables';

/** A row's final outcome in an AckBatch: unsent rows are not journaled (the next run sends them). */
const ACK_UNSENT = 0;
const ACK_OK = 1;
const ACK_REJECTED = 2;

/**
 * One delivered batch's final outcomes, kept compact until they are journaled: the keys (the
 * strings the batch already held), one status byte per row, and the few outcomes that carry
 * more than "ok". Journal rows are built only while they are written, so a buffer of 10 000
 * outcomes is a few arrays, not 10 000 long-lived objects for the garbage collector to promote.
 */
export class AckBatch {
  readonly keys: string[];
  /** ACK_* per row. */
  readonly status: Uint8Array;
  /** Rejection reasons, external ids and created flags, by row index. */
  readonly extra = new Map<number, { reason?: string; externalId?: string; created?: boolean }>();
  journalRows = 0;
  succeeded = 0;
  rejected = 0;

  constructor(
    readonly op: BatchOp,
    keys: string[],
    outcomes: readonly RowOutcome[],
  ) {
    this.keys = keys;
    this.status = new Uint8Array(keys.length);
    outcomes.forEach((outcome, i) => {
      if (outcome.status === 'ok') {
        this.status[i] = ACK_OK;
        this.succeeded++;
        if (outcome.externalId !== undefined || outcome.created !== undefined) this.extra.set(i, { externalId: outcome.externalId, created: outcome.created });
      } else if (outcome.status === 'rejected') {
        this.status[i] = ACK_REJECTED;
        this.rejected++;
        this.extra.set(i, { reason: outcome.reason });
      }
    });
    this.journalRows = this.succeeded + this.rejected;
  }

  /** The journal rows (`ackColumns`) of this batch; unsent rows have none. */
  *rows(): Generator<Row> {
    for (let i = 0; i < this.keys.length; i++) {
      const status = this.status[i];
      if (status === ACK_UNSENT) continue;
      const extra = this.extra.get(i);
      yield {
        key: this.keys[i]!,
        op: this.op,
        status: status === ACK_OK ? 'ok' : 'rejected',
        reason: extra?.reason ?? null,
        external_id: extra?.externalId ?? null,
        created: extra?.created ?? null,
      };
    }
  }
}

export interface StateWriterOptions {
  runId: string;
  withLog: boolean;
  /** Outcomes buffered before they are journaled. */
  flushRows: number;
  /** Journaled outcomes before they are folded into state (default 100 000; always at close). */
  foldRows?: number;
  /**
   * Insert mode: each batch's outcomes are journaled before `add` returns, so the batch's
   * concurrency slot is held until then — only batches in flight can repeat after a crash.
   */
  commitEachBatch?: boolean;
  onFlushed?: (rows: number) => void;
}

const WRITE_OPS = new Set<BatchOp>(['upsert', 'update', 'insert', 'add']);
const DEFAULT_FOLD_ROWS = 100_000;

export class StateWriter {
  private buffer: AckBatch[] = [];
  private buffered = 0;
  private flushing: Promise<void> = Promise.resolve();
  private failure: unknown;
  /** Rows in the journal, not yet folded. */
  private journaled = 0;
  flushedRows = 0;
  commitMs = 0;

  constructor(
    private readonly warehouse: Warehouse,
    private readonly tables: SyncTables,
    private readonly options: StateWriterOptions,
  ) {}

  /**
   * Buffers a batch's outcomes; when enough are buffered, waits for the flush in flight (at
   * most one runs, so memory stays near two flushes' worth) and starts the next.
   */
  async add(batch: AckBatch): Promise<void> {
    if (this.failure) throw this.failure;
    if (batch.journalRows > 0) {
      this.buffer.push(batch);
      this.buffered += batch.journalRows;
    }
    if (this.options.commitEachBatch) {
      this.startFlush();
      await this.flushing;
    } else if (this.buffered >= this.options.flushRows) {
      await this.flushing;
      this.startFlush();
    }
    if (this.failure) throw this.failure;
  }

  /** Journals everything buffered, folds the journal, and waits for both. */
  async close(): Promise<void> {
    this.startFlush(true);
    await this.flushing;
    if (this.failure) throw this.failure;
  }

  private startFlush(final = false): void {
    if (this.buffered === 0 && !final) return;
    const batches = this.buffer;
    const rows = this.buffered;
    this.buffer = [];
    this.buffered = 0;
    const foldRows = this.options.foldRows ?? DEFAULT_FOLD_ROWS;
    this.flushing = this.flushing.then(async () => {
      if (this.failure) return;
      const started = Date.now();
      try {
        if (rows > 0) {
          await writeJournal(this.warehouse, this.tables, batches);
          this.journaled += rows;
          this.flushedRows += rows;
          this.options.onFlushed?.(rows);
        }
        if (this.journaled > 0 && (final || this.journaled >= foldRows)) {
          await foldJournal(this.warehouse, this.tables, this.options.runId, this.options.withLog);
          this.journaled = 0;
        }
      } catch (error) {
        this.failure = error;
      } finally {
        this.commitMs += Date.now() - started;
      }
    });
  }
}

/** Rows handed to `load` at a time while journaling (built just before they are written). */
const JOURNAL_CHUNK_ROWS = 4096;

async function writeJournal(warehouse: Warehouse, tables: SyncTables, batches: AckBatch[]): Promise<void> {
  await warehouse.load(tables.acks, ackColumns, (async function* () {
    let chunk: Row[] = [];
    for (const batch of batches) {
      for (const row of batch.rows()) {
        chunk.push(row);
        if (chunk.length === JOURNAL_CHUNK_ROWS) {
          yield chunk;
          chunk = [];
        }
      }
    }
    if (chunk.length > 0) yield chunk;
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
