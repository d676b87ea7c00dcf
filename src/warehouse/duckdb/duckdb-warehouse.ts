/**
 * The DuckDB adapter: one in-process database (a file in the project, or ':memory:') behind
 * the `Warehouse` contract, through `@duckdb/node-api`.
 *
 * Concurrency design: a DuckDB connection runs one statement at a time and a streaming
 * result occupies its connection until it is read to the end, but many connections of one
 * instance run in parallel (DuckDB's MVCC isolates them). So the adapter keeps a small pool
 * of connections on one instance: every operation (execute, query, a whole stream, a whole
 * load, a whole executeAll transaction) borrows a connection exclusively and returns it when
 * done. Connections are created lazily up to `MAX_CONNECTIONS`; callers beyond that wait in
 * FIFO order. The cap is generous because nested use is normal (a sync streams a diff on one
 * connection while loading acknowledged rows on another) and a tight cap could deadlock it.
 *
 * Invariants: values leave as the value contract (result-values.ts); every driver error
 * leaves as a CdpError with code WAREHOUSE; `stream` never ends early as if complete and
 * holds at most one block of rows (64 KB of JSON, or one DuckDB chunk) plus one batch in
 * memory; `load` and `executeAll` are all-or-nothing.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import {
  DuckDBConnection,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBInstance,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTypeId,
  JsonDuckDBValueConverter,
  type DuckDBAppender,
  type DuckDBResult,
  type DuckDBValueConverter,
} from '@duckdb/node-api';
import { CdpError, messageOf, warehouseError } from '../../errors';
import type { DuckdbConfig } from '../config';
import type { Column, ColumnarAccess, Row, Scalar, TableRef, Warehouse } from '../types';
import {
  booleanInput,
  dateFromEpochMicros,
  dateInput,
  floatInput,
  integerInput,
  integerToScalar,
  rowsFromArrays,
  stringInput,
  timestampInput,
} from '../result-values';
import { DuckdbDialect } from './duckdb-dialect';
import { duckdbColumnar } from './duckdb-columnar';
import { jsonTransports, streamThroughFile, type StreamColumns } from './duckdb-stream';

const MAX_CONNECTIONS = 16;
let streamCounter = 0;
const SQL_HINT = 'check the compiled SQL in target/compiled/';

export async function connectDuckdb(config: DuckdbConfig, projectDir: string): Promise<Warehouse> {
  const file = config.path === ':memory:' ? ':memory:' : path.resolve(projectDir, config.path);
  // DuckDB's allocator keeps freed memory until its threads decay it; a background thread
  // returns it to the OS as it goes, so a long-running process (a sync, `cdp serve`) does not
  // carry the peak of its largest query (a 1M-row sync plan) for the rest of its life, and a
  // query that frees more than 32 MB at once (a plan's hash tables) hands it back right away
  // rather than a second later, when the sync's delivery is already adding its own memory.
  const options: Record<string, string> = { allocator_background_threads: 'true', allocator_bulk_deallocation_flush_threshold: '32MB' };
  if (config.threads !== undefined) options.threads = String(config.threads);
  if (config.memory_limit !== undefined) options.memory_limit = config.memory_limit;

  let instance: DuckDBInstance;
  try {
    if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
    instance = await DuckDBInstance.create(file, options);
  } catch (error) {
    throw openError(file, error);
  }
  const warehouse = new DuckdbWarehouse(instance, config.schema);
  await warehouse.check();
  return warehouse;
}

function openError(file: string, error: unknown): CdpError {
  const message = firstLine(error);
  let hint = `check warehouse.path in cdp.yml (${file})`;
  if (/lock/i.test(message)) {
    hint = 'another process holds the DuckDB file (a running `cdp serve` or worker?); stop it or point warehouse.path elsewhere';
  } else if (/memory_limit|threads/i.test(message)) {
    hint = 'check warehouse.threads / warehouse.memory_limit in cdp.yml';
  }
  return warehouseError('duckdb', `cannot open ${file}: ${message}`, hint, error);
}

/** A SQL or driver failure: the database's first line, and where to look. */
function sqlError(error: unknown): CdpError {
  if (error instanceof CdpError) return error;
  return warehouseError('duckdb', firstLine(error), SQL_HINT, error);
}

/**
 * The first line of a driver message. DuckDB appends "Did you mean …" and a caret under the
 * SQL on later lines; a user error is one line. (messageOf only splits true Error instances,
 * and errors from the native binding are not always of this realm's Error.)
 */
function firstLine(error: unknown): string {
  return messageOf(error).split('\n')[0].trim();
}

class ConnectionPool {
  private readonly idle: DuckDBConnection[] = [];
  private readonly all: DuckDBConnection[] = [];
  private readonly waiters: ((connection: DuckDBConnection) => void)[] = [];
  private creating = 0;
  private closed = false;

  constructor(private readonly instance: DuckDBInstance) {}

  async use<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    const connection = await this.acquire();
    try {
      return await work(connection);
    } finally {
      this.release(connection);
    }
  }

  async acquire(): Promise<DuckDBConnection> {
    if (this.closed) throw warehouseError('duckdb', 'the warehouse connection is closed', 'this is a bug: an operation ran after close()');
    const ready = this.idle.pop();
    if (ready) return ready;
    if (this.all.length + this.creating < MAX_CONNECTIONS) {
      this.creating++;
      try {
        const connection = await this.instance.connect();
        // TIMESTAMPTZ arithmetic and casts follow the session zone; the contract is UTC everywhere.
        await connection.run("SET TimeZone = 'UTC'");
        this.all.push(connection);
        return connection;
      } finally {
        this.creating--;
      }
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(connection: DuckDBConnection): void {
    const next = this.waiters.shift();
    if (next) next(connection);
    else this.idle.push(connection);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const connection of this.all) connection.closeSync();
    this.all.length = 0;
    this.idle.length = 0;
  }
}

class DuckdbWarehouse implements Warehouse {
  readonly dialect = new DuckdbDialect();
  private readonly pool: ConnectionPool;

  /** Typed-array reads and appends for in-process algorithms (see duckdb-columnar.ts). */
  readonly columnar: ColumnarAccess;

  constructor(
    private readonly instance: DuckDBInstance,
    readonly defaultSchema: string,
  ) {
    this.pool = new ConnectionPool(instance);
    this.columnar = duckdbColumnar((work) => this.pool.use(work), this.dialect, defaultSchema);
  }

  async check(): Promise<void> {
    await this.query('SELECT 1 AS ok');
  }

  async execute(sql: string): Promise<void> {
    await retryOnConflict(() =>
      this.pool.use(async (connection) => {
        try {
          await connection.run(sql);
        } catch (error) {
          // A failed single statement left nothing behind, so it may be retried; of several
          // statements the earlier ones are committed already, so those are not.
          if (isConflict(error) && (await connection.extractStatements(sql)).count === 1) throw new ConflictRetry(error);
          throw sqlError(error);
        }
      }),
    );
  }

  async executeAll(statements: string[]): Promise<void> {
    await retryOnConflict(() =>
      this.pool.use((connection) =>
        inTransaction(connection, async () => {
          for (const sql of statements) await connection.run(sql);
        }),
      ),
    );
  }

  async query<T extends Row = Row>(sql: string): Promise<T[]> {
    return this.pool.use(async (connection) => {
      try {
        const result = await connection.run(sql);
        const rows: Row[] = [];
        for (const chunk of await result.fetchAllChunks()) {
          for (const row of rowsFromArrays(result.columnNames(), chunk.convertRows(duckdbScalarConverter))) rows.push(row);
        }
        return rows as T[];
      } catch (error) {
        throw sqlError(error);
      }
    });
  }

  /**
   * DuckDB's streaming fetch cannot tell "the query failed mid-way" from "the result ended":
   * both come back as no chunk (duckdb_stream_fetch_chunk returns NULL and node-api exposes
   * no result error), so streaming the query itself could silently truncate a sync's diff.
   * Instead the query runs to completion first, so a failure anywhere surfaces before any
   * row is yielded, and the rows handed out are counted against what it produced:
   *  - usually `COPY`ed to a temp file as JSON and read back in blocks (duckdb-stream.ts:
   *    DuckDB writes it on its own threads; reading it costs a fraction of converting chunks);
   *  - when a column has a type that path does not carry (lists, structs, intervals …),
   *    into a connection-private temp table that is then read chunk by chunk (DuckDB spills
   *    it to its temp directory rather than holding it in memory).
   */
  stream(sql: string, batchRows: number): AsyncIterable<Row[]> {
    if (!Number.isInteger(batchRows) || batchRows < 1) throw new Error(`batchRows must be a positive integer, got ${batchRows}`);
    const pool = this.pool;
    const temp = `temp.main.${this.dialect.quoteIdent(`cdp_stream_${process.pid}_${++streamCounter}`)}`;
    const body = sql.replace(/[\s;]+$/, '');
    const short = (seen: number, expected: number) =>
      warehouseError('duckdb', `the result stream ended after ${seen} of ${expected} rows`, 'rerun; if it persists, DuckDB may be out of memory or disk for its temp directory');
    return {
      async *[Symbol.asyncIterator]() {
        const connection = await pool.acquire();
        let held = true;
        const release = () => {
          if (held) pool.release(connection);
          held = false;
        };
        try {
          let columns: StreamColumns;
          try {
            const prepared = await connection.prepare(body);
            columns = { names: [], typeIds: [] };
            for (let i = 0; i < prepared.columnCount; i++) {
              columns.names.push(prepared.columnName(i));
              columns.typeIds.push(prepared.columnTypeId(i));
            }
            prepared.destroySync();
          } catch (error) {
            throw sqlError(error);
          }
          const transports = jsonTransports(columns);
          if (transports) {
            // The connection is needed only for the COPY; reading the file needs none.
            // Without insertion order DuckDB writes each thread's rows as they come instead of
            // buffering them to restore the table's order (a 1M-row sync diff: ~60 MB less
            // RSS, first batch ~2x sooner); an ORDER BY in the query is still honoured.
            const copy = async (statement: string) => {
              try {
                await connection.run('SET SESSION preserve_insertion_order = false');
                return Number((await connection.run(statement)).rowsChanged);
              } finally {
                // A failed reset leaves only this connection's row order free; nothing to report.
                await connection.run('RESET SESSION preserve_insertion_order').catch(() => undefined);
                release();
              }
            };
            yield* streamThroughFile(copy, body, columns, transports, batchRows, sqlError, short);
            return;
          }
          let result: DuckDBResult;
          let expected: number;
          try {
            // The newline keeps a trailing `-- comment` in `sql` from swallowing nothing we add.
            await connection.run(`CREATE TEMP TABLE ${temp} AS\n${body}\n`);
            const counted = await connection.run(`SELECT COUNT(*) FROM ${temp}`);
            expected = Number((await counted.getRows())[0][0]);
            result = await connection.stream(`SELECT * FROM ${temp}`);
          } catch (error) {
            throw sqlError(error);
          }
          const names = result.columnNames();
          let batch: Row[] = [];
          let seen = 0;
          for (;;) {
            let rows: Row[];
            try {
              const chunk = await result.fetchChunk();
              if (!chunk || chunk.rowCount === 0) break;
              rows = rowsFromArrays(names, chunk.convertRows(duckdbScalarConverter));
            } catch (error) {
              throw sqlError(error);
            }
            seen += rows.length;
            for (const row of rows) {
              batch.push(row);
              if (batch.length === batchRows) {
                yield batch;
                batch = [];
              }
            }
          }
          if (seen !== expected) throw short(seen, expected);
          if (batch.length > 0) yield batch;
        } finally {
          if (held) {
            // Also discards an unfinished streaming result on this connection.
            await connection.run(`DROP TABLE IF EXISTS ${temp}`).catch(() => undefined);
            release();
          }
        }
      },
    };
  }

  async load(table: TableRef, columns: Column[], rows: AsyncIterable<Row[]>): Promise<number> {
    const target: TableRef = { schema: table.schema ?? this.defaultSchema, name: table.name };
    const loadOnce = () =>
      this.pool.use((connection) =>
        inTransaction(connection, async () => {
          const existing = await readColumnNames(connection, this.dialect.columnsSql(target));
          if (existing.length === 0) {
            throw warehouseError('duckdb', `cannot load into ${this.dialect.qualify(target)}: the table does not exist`, 'create the table before loading into it');
          }
          // The appender writes every column of a table in order. When `columns` is exactly
          // that, append straight in; otherwise append into a temp table of `columns` and
          // insert from it, so a subset or a different order still works.
          const direct = existing.length === columns.length && existing.every((name, i) => name === columns[i].name);
          let appender: DuckDBAppender;
          let staging: TableRef | undefined;
          if (direct) {
            appender = await connection.createAppender(target.name, target.schema);
          } else {
            staging = { name: `cdp_load_${process.pid}_${Date.now()}_${Math.floor(Math.random() * 1e9)}` };
            await connection.run(this.dialect.createTable(staging, columns).replace(/^CREATE TABLE/, 'CREATE TEMP TABLE'));
            appender = await connection.createAppender(staging.name, 'main', 'temp');
          }
          let count = 0;
          try {
            for await (const batch of rows) {
              for (const row of batch) {
                appendRow(appender, columns, row);
                count++;
              }
            }
            appender.flushSync();
          } finally {
            appender.closeSync();
          }
          if (staging) {
            const cols = columns.map((c) => this.dialect.quoteIdent(c.name)).join(', ');
            const temp = `temp.main.${this.dialect.quoteIdent(staging.name)}`;
            await connection.run(`INSERT INTO ${this.dialect.qualify(target)} (${cols}) SELECT ${cols} FROM ${temp}`);
            await connection.run(`DROP TABLE ${temp}`);
          }
          return count;
        }),
      );
    return retryOnConflict(loadOnce, 1);
  }

  async close(): Promise<void> {
    this.pool.close();
    this.instance.closeSync();
  }
}

/** BEGIN … COMMIT around `work`; ROLLBACK and a wrapped error when anything fails. */
async function inTransaction<T>(connection: DuckDBConnection, work: () => Promise<T>): Promise<T> {
  try {
    await connection.run('BEGIN TRANSACTION');
  } catch (error) {
    throw sqlError(error);
  }
  try {
    const result = await work();
    await connection.run('COMMIT');
    return result;
  } catch (error) {
    try {
      await connection.run('ROLLBACK');
    } catch {
      // The transaction may already be aborted by DuckDB; the original error is what matters.
    }
    // A rolled-back transaction left nothing behind: a conflict with another one is retryable.
    if (isConflict(error)) throw new ConflictRetry(error);
    throw sqlError(error);
  }
}

/**
 * Parallel transactions on one DuckDB instance (the model runner's --threads) conflict when
 * they touch the same catalog entry — e.g. two models running `CREATE SCHEMA IF NOT EXISTS`
 * on one schema: "Catalog write-write conflict". DuckDB rolls the loser back, so running it
 * again shortly after is safe and almost always succeeds.
 */
class ConflictRetry extends Error {
  constructor(readonly original: unknown) {
    super(firstLine(original));
  }
}

function isConflict(error: unknown): boolean {
  return /write-write conflict|transaction conflict|conflict on (tuple|update)/i.test(messageOf(error));
}

const CONFLICT_ATTEMPTS = 6;

/** `attempts` 1: never retry (a load's input cannot be replayed), only report the conflict. */
async function retryOnConflict<T>(work: () => Promise<T>, attempts = CONFLICT_ATTEMPTS): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof ConflictRetry)) throw error;
      if (attempt >= attempts) {
        throw warehouseError('duckdb', firstLine(error.original), 'another statement running in parallel changed the same object; rerun, or run with fewer threads', error.original);
      }
      // Jittered exponential backoff, so the contenders do not collide again in lockstep.
      await new Promise((resolve) => setTimeout(resolve, (5 << attempt) * (0.5 + Math.random())));
    }
  }
}

async function readColumnNames(connection: DuckDBConnection, sql: string): Promise<string[]> {
  const result = await connection.run(sql);
  const names: string[] = [];
  for (const chunk of await result.fetchAllChunks()) {
    for (const row of chunk.convertRows(duckdbScalarConverter)) names.push(String(row[0]));
  }
  return names;
}

const MS_PER_DAY = 86_400_000;
/** DuckDB's day number for DATE 'infinity' (negated: '-infinity'). */
const DATE_INFINITY_DAYS = 2_147_483_647;

function appendRow(appender: DuckDBAppender, columns: Column[], row: Row): void {
  for (const column of columns) {
    const value: Scalar | undefined = row[column.name];
    if (value === null || value === undefined) {
      appender.appendNull();
      continue;
    }
    try {
      switch (column.type) {
        case 'string':
        case 'json':
          appender.appendVarchar(stringInput(value));
          break;
        case 'integer':
          appender.appendBigInt(integerInput(value));
          break;
        case 'float':
          appender.appendDouble(floatInput(value));
          break;
        case 'boolean':
          appender.appendBoolean(booleanInput(value));
          break;
        case 'timestamp':
          appender.appendTimestamp(new DuckDBTimestampValue(BigInt(timestampInput(value).getTime()) * 1000n));
          break;
        case 'date': {
          const ms = Date.parse(`${dateInput(value)}T00:00:00Z`);
          if (Number.isNaN(ms)) throw new Error(`cannot read ${String(value)} as a date`);
          appender.appendDate(new DuckDBDateValue(Math.round(ms / MS_PER_DAY)));
          break;
        }
      }
    } catch (error) {
      throw warehouseError('duckdb', `column ${column.name}: ${firstLine(error)}`, `the value must fit the column's type (${column.type})`, error);
    }
  }
  appender.endRow();
}

/**
 * DuckDB values → the value contract. Exact integers beyond 2^53 (BIGINT sums are HUGEINT)
 * become text; DECIMAL becomes a number; infinite timestamps and dates keep their text
 * ('infinity'), which a JS Date cannot hold; nested and exotic types become JSON/text.
 */
const duckdbScalarConverter: DuckDBValueConverter<Scalar> = (value, type) => {
  if (value === null || value === undefined) return null;
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return value === true;
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE:
      return Number(value);
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
    case DuckDBTypeId.BIGNUM:
      return typeof value === 'bigint' ? integerToScalar(value) : String(value);
    case DuckDBTypeId.DECIMAL:
      return value instanceof DuckDBDecimalValue ? value.toDouble() : Number(value);
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_TZ:
      if (value instanceof DuckDBTimestampValue || value instanceof DuckDBTimestampTZValue) return dateFromEpochMicros(value.micros) ?? value.toString();
      return String(value);
    case DuckDBTypeId.TIMESTAMP_S:
      if (value instanceof DuckDBTimestampSecondsValue) return dateFromEpochMicros(value.seconds * 1_000_000n) ?? value.toString();
      return String(value);
    case DuckDBTypeId.TIMESTAMP_MS:
      if (value instanceof DuckDBTimestampMillisecondsValue) return dateFromEpochMicros(value.millis * 1000n) ?? value.toString();
      return String(value);
    case DuckDBTypeId.TIMESTAMP_NS:
      if (value instanceof DuckDBTimestampNanosecondsValue) return dateFromEpochMicros(value.nanos / 1000n) ?? value.toString();
      return String(value);
    case DuckDBTypeId.DATE:
      // DuckDBDateValue prints 'YYYY-MM-DD', but prints ±infinity as a far date: keep DuckDB's text.
      if (value instanceof DuckDBDateValue && Math.abs(value.days) === DATE_INFINITY_DAYS) return value.days > 0 ? 'infinity' : '-infinity';
      return String(value);
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.STRUCT:
    case DuckDBTypeId.MAP:
    case DuckDBTypeId.ARRAY:
    case DuckDBTypeId.UNION:
    case DuckDBTypeId.INTERVAL:
    case DuckDBTypeId.VARIANT:
      return JSON.stringify(JsonDuckDBValueConverter(value, type, JsonDuckDBValueConverter));
    default:
      // VARCHAR (and JSON, which is a VARCHAR), ENUM, UUID, TIME, BLOB, BIT …: their text.
      return typeof value === 'string' ? value : String(value);
  }
};
