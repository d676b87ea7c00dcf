/**
 * The Snowflake adapter: one snowflake-sdk session per warehouse object. Invariants:
 *  - session setup happens once, at connect: UTC time zone, TIMESTAMP means TIMESTAMP_NTZ,
 *    a statement timeout (the server cancels runaway statements) and a query tag;
 *  - `stream` uses `streamResult` + `streamRows()` and iterates the row stream with
 *    `for await`, which pauses the stream while a batch is being consumed: memory holds one
 *    batch plus the stream's small buffer, not the result;
 *  - numbers are fetched as text and converted per column (integers beyond 2^53 stay text),
 *    dates → 'YYYY-MM-DD', timestamps → Date (UTC), VARIANT → JSON text; column names are
 *    folded to lower case (the value contract of `types.ts`);
 *  - `load` is chunked, bound `INSERT … SELECT … FROM VALUES` inside one transaction: a failed
 *    load leaves the table as it was;
 *  - `executeAll` wraps the statements in BEGIN … COMMIT and rolls back on failure; Snowflake
 *    DDL auto-commits, so only DML after the last DDL statement is undone (see dialect's
 *    `transactionalDdl: false`);
 *  - every driver error leaves as `warehouseError('snowflake', …)` with a hint.
 * The connection is injected (`createSnowflakeWarehouse`), so tests stub the SDK at its boundary.
 */
import type { Readable } from 'node:stream';
import type { ConnectionOptions } from 'snowflake-sdk';
import { CdpError, isCdpError, messageOf, warehouseError } from '../../errors';
import type { SnowflakeConfig } from '../config';
import {
  booleanInput,
  dateInput,
  floatInput,
  integerInput,
  integerTextToScalar,
  stringInput,
  timestampInput,
  toScalar,
} from '../result-values';
import type { Column, ColumnType, Row, Scalar, TableRef, Warehouse } from '../types';
import { SnowflakeDialect, utcWallClock } from './snowflake-dialect';

// ---------------------------------------------------------------------------------------
// The SDK surface this adapter uses, narrowed. snowflake-sdk's `Connection` satisfies it
// (checked in connectSnowflake); tests pass a fake implementing exactly these methods.

export type SnowflakeBind = string | number | boolean | null;

export interface SnowflakeColumnLike {
  getName(): string;
  /** 'fixed' | 'real' | 'text' | 'boolean' | 'date' | 'time' | 'timestamp_ntz' | … */
  getType(): string;
  getScale(): number;
}

export interface SnowflakeStatementLike {
  getColumns(): SnowflakeColumnLike[] | undefined;
  streamRows(): Readable;
}

export interface SnowflakeErrorLike extends Error {
  code?: unknown;
  sqlState?: string;
}

export interface SnowflakeExecuteOptions {
  sqlText: string;
  binds?: readonly SnowflakeBind[];
  streamResult?: boolean;
  fetchAsString?: 'Number'[];
  complete(err: SnowflakeErrorLike | undefined, stmt: SnowflakeStatementLike, rows?: unknown[]): void;
}

export interface SnowflakeConnectionLike {
  execute(options: SnowflakeExecuteOptions): unknown;
  destroy(callback: (err: SnowflakeErrorLike | undefined, conn: unknown) => void): void;
}

/** Most bind values in one INSERT; VALUES itself allows at most 16,384 rows. */
const MAX_BINDS_PER_INSERT = 15_000;
const MAX_ROWS_PER_INSERT = 1_000;

// ---------------------------------------------------------------------------------------

export async function connectSnowflake(config: SnowflakeConfig): Promise<Warehouse> {
  const snowflake = await import('snowflake-sdk');
  // The driver logs to ./snowflake.log and the console by default; we report errors ourselves.
  snowflake.configure({ logLevel: 'OFF', additionalLogToConsole: false });
  const connection = snowflake.createConnection(snowflakeConnectionOptions(config));
  try {
    await connection.connectAsync();
  } catch (error) {
    throw wrapSnowflakeError(error, config, 'connecting');
  }
  const narrowed: SnowflakeConnectionLike = connection;
  return createSnowflakeWarehouse(narrowed, config);
}

/** Driver options from config: key-pair auth when a private key is given, password otherwise. */
export function snowflakeConnectionOptions(config: SnowflakeConfig): ConnectionOptions {
  const options: ConnectionOptions = {
    account: config.account,
    username: config.username,
    warehouse: config.warehouse,
    database: config.database,
    schema: config.schema,
    application: 'warehouse-cdp',
  };
  if (config.role) options.role = config.role;
  if (config.access_url) options.accessUrl = config.access_url;
  if (config.private_key) {
    options.authenticator = config.authenticator ?? 'SNOWFLAKE_JWT';
    options.privateKey = config.private_key;
  } else {
    if (config.authenticator) options.authenticator = config.authenticator;
    if (config.password) options.password = config.password;
  }
  return options;
}

/** Statements run once per session, at connect (DESIGN §8.10). Exported for tests. */
export function sessionSetupSql(config: SnowflakeConfig, dialect = new SnowflakeDialect()): string {
  return (
    `ALTER SESSION SET TIMEZONE = 'UTC' TIMESTAMP_TYPE_MAPPING = 'TIMESTAMP_NTZ' ` +
    `STATEMENT_TIMEOUT_IN_SECONDS = ${config.statement_timeout_seconds} QUERY_TAG = ${dialect.literal(config.query_tag)}`
  );
}

export async function createSnowflakeWarehouse(connection: SnowflakeConnectionLike, config: SnowflakeConfig): Promise<Warehouse> {
  const dialect = new SnowflakeDialect();
  let closed = false;

  function run(sqlText: string, binds?: readonly SnowflakeBind[]): Promise<{ stmt: SnowflakeStatementLike; rows: unknown[] }> {
    return new Promise((resolve, reject) => {
      const options: SnowflakeExecuteOptions = {
        sqlText,
        // Numbers as text: the driver's Number() would round integers beyond 2^53.
        fetchAsString: ['Number'],
        complete: (err, stmt, rows) => (err ? reject(wrapSnowflakeError(err, config, 'running a statement', sqlText)) : resolve({ stmt, rows: rows ?? [] })),
      };
      if (binds) options.binds = binds;
      try {
        connection.execute(options);
      } catch (error) {
        reject(wrapSnowflakeError(error, config, 'running a statement', sqlText));
      }
    });
  }

  function startStream(sqlText: string): Promise<SnowflakeStatementLike> {
    return new Promise((resolve, reject) => {
      try {
        connection.execute({
          sqlText,
          streamResult: true,
          fetchAsString: ['Number'],
          complete: (err, stmt) => (err ? reject(wrapSnowflakeError(err, config, 'running a query', sqlText)) : resolve(stmt)),
        });
      } catch (error) {
        reject(wrapSnowflakeError(error, config, 'running a query', sqlText));
      }
    });
  }

  /** BEGIN … COMMIT around `work`; ROLLBACK (best effort) and rethrow on failure. */
  async function inTransaction<T>(work: () => Promise<T>): Promise<T> {
    await run('BEGIN');
    try {
      const result = await work();
      await run('COMMIT');
      return result;
    } catch (error) {
      // The original error matters; a failed rollback is the lesser news (the session ends
      // the transaction anyway when it closes).
      await run('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  try {
    await run(sessionSetupSql(config, dialect));
  } catch (error) {
    // Init once, close once: a session we cannot set up is not handed out, nor left open.
    await new Promise<void>((resolve) => connection.destroy(() => resolve()));
    throw error;
  }

  const warehouse: Warehouse = {
    dialect,
    defaultSchema: config.schema,

    async execute(sql) {
      await run(sql);
    },

    async executeAll(statements) {
      if (statements.length === 0) return;
      await inTransaction(async () => {
        for (const sql of statements) await run(sql);
      });
    },

    async query<T extends Row = Row>(sql: string): Promise<T[]> {
      const { stmt, rows } = await run(sql);
      const normalise = rowNormaliser(stmt.getColumns());
      return rows.map(normalise) as T[];
    },

    async *stream(sql, batchRows) {
      if (!Number.isInteger(batchRows) || batchRows < 1) throw new Error(`batchRows must be a positive integer, got ${batchRows}`);
      const stmt = await startStream(sql);
      const normalise = rowNormaliser(stmt.getColumns());
      const rows = stmt.streamRows();
      let batch: Row[] = [];
      try {
        // `for await` reads one row at a time and the stream stays paused while we are
        // suspended at `yield`: that is the backpressure keeping memory bounded.
        for await (const raw of rows) {
          batch.push(normalise(raw));
          if (batch.length >= batchRows) {
            yield batch;
            batch = [];
          }
        }
      } catch (error) {
        throw wrapSnowflakeError(error, config, 'reading query results', sql);
      } finally {
        rows.destroy();
      }
      if (batch.length > 0) yield batch;
    },

    async load(table, columns, batches) {
      if (columns.length === 0) throw warehouseError('snowflake', `load into ${dialect.qualify(table)} names no columns`);
      const rowsPerInsert = Math.max(1, Math.min(MAX_ROWS_PER_INSERT, Math.floor(MAX_BINDS_PER_INSERT / columns.length)));
      return inTransaction(async () => {
        let written = 0;
        let pending: Row[] = [];
        const flush = async (rows: Row[]) => {
          const { sql, binds } = insertStatement(dialect, table, columns, rows);
          await run(sql, binds);
          written += rows.length;
        };
        for await (const batch of batches) {
          for (const row of batch) {
            pending.push(row);
            if (pending.length >= rowsPerInsert) {
              await flush(pending);
              pending = [];
            }
          }
        }
        if (pending.length > 0) await flush(pending);
        return written;
      });
    },

    async check() {
      await warehouse.query('SELECT 1 AS ok');
    },

    async close() {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolve, reject) =>
        connection.destroy((err) => (err ? reject(wrapSnowflakeError(err, config, 'closing the connection')) : resolve())),
      );
    },
  };
  return warehouse;
}

// ---------------------------------------------------------------------------------------
// Load

/**
 * `INSERT INTO t (cols) SELECT <typed columnN> FROM VALUES (?, …), …` with every value bound
 * as text (or NULL). Binding text only keeps each VALUES column one type across rows; the
 * SELECT converts it, and is the only place PARSE_JSON may appear (VALUES accepts constants
 * only). Exported for tests.
 */
export function insertStatement(dialect: SnowflakeDialect, table: TableRef, columns: Column[], rows: Row[]): { sql: string; binds: SnowflakeBind[] } {
  const names = columns.map((c) => dialect.quoteIdent(c.name)).join(', ');
  const selects = columns.map((c, i) => selectExpression(dialect, c.type, `column${i + 1}`)).join(', ');
  const placeholders = `(${columns.map(() => '?').join(', ')})`;
  const binds: SnowflakeBind[] = [];
  for (const row of rows) {
    for (const column of columns) binds.push(bindValue(column, row[column.name] ?? null));
  }
  const values = rows.map(() => placeholders).join(', ');
  return { sql: `INSERT INTO ${dialect.qualify(table)} (${names}) SELECT ${selects} FROM VALUES ${values}`, binds };
}

function selectExpression(dialect: SnowflakeDialect, type: ColumnType, column: string): string {
  if (type === 'string') return column;
  if (type === 'json') return `PARSE_JSON(${column})`;
  return dialect.cast(column, type);
}

function bindValue(column: Column, value: Scalar): SnowflakeBind {
  if (value === null) return null;
  try {
    switch (column.type) {
      case 'string':
        return stringInput(value);
      case 'integer':
        return integerInput(value).toString();
      case 'float': {
        const n = floatInput(value);
        if (Number.isNaN(n)) return 'NaN';
        if (!Number.isFinite(n)) return n > 0 ? 'inf' : '-inf';
        return String(n);
      }
      case 'boolean':
        return booleanInput(value) ? 'true' : 'false';
      case 'timestamp':
        return utcWallClock(timestampInput(value));
      case 'date':
        return dateInput(value);
      case 'json':
        return typeof value === 'string' ? value : JSON.stringify(value);
    }
  } catch (error) {
    throw warehouseError('snowflake', `column ${column.name}: ${messageOf(error)}`, `${column.type} columns take ${column.type} values`, error);
  }
}

// ---------------------------------------------------------------------------------------
// Values

type Reader = (value: unknown) => Scalar;

/** One reader per column, chosen once per result from the column's type. */
function rowNormaliser(columns: SnowflakeColumnLike[] | undefined): (raw: unknown) => Row {
  const readers = (columns ?? []).map((c) => ({ name: c.getName(), key: c.getName().toLowerCase(), read: readerFor(c) }));
  return (raw) => {
    const row: Row = {};
    if (typeof raw !== 'object' || raw === null) return row;
    const source = raw as Record<string, unknown>;
    if (readers.length === 0) {
      for (const [name, value] of Object.entries(source)) row[name.toLowerCase()] = toScalar(value);
      return row;
    }
    for (const { name, key, read } of readers) {
      const value = source[name];
      row[key] = value === null || value === undefined ? null : read(value);
    }
    return row;
  };
}

/** Exported for tests: the reader for a column of this Snowflake type and scale. */
export function readerFor(column: Pick<SnowflakeColumnLike, 'getType' | 'getScale'>): Reader {
  switch (column.getType()) {
    case 'fixed':
      if (column.getScale() === 0) return (v) => (typeof v === 'number' ? v : integerTextToScalar(String(v)));
      return (v) => Number(v);
    case 'real':
      return (v) => (typeof v === 'number' ? v : realFromText(String(v)));
    case 'boolean':
      return (v) => (typeof v === 'boolean' ? v : String(v).toLowerCase() === 'true');
    case 'date':
      return (v) => (v instanceof Date ? v.toISOString().slice(0, 10) : String(v).slice(0, 10));
    case 'timestamp_ntz':
    case 'timestamp_ltz':
    case 'timestamp_tz':
      // The driver's SfDate is a Date subclass; a plain Date keeps rows comparable.
      return (v) => (v instanceof Date ? new Date(v.getTime()) : new Date(String(v)));
    case 'time':
      return (v) => String(v);
    case 'variant':
    case 'object':
    case 'array':
    case 'map':
      // The driver parsed the JSON; the contract wants the text back.
      return (v) => JSON.stringify(v);
    case 'binary':
      return (v) => (Buffer.isBuffer(v) ? v.toString('hex') : toScalar(v));
    default:
      return toScalar;
  }
}

function realFromText(text: string): number {
  const lower = text.toLowerCase();
  if (lower === 'inf' || lower === 'infinity') return Infinity;
  if (lower === '-inf' || lower === '-infinity') return -Infinity;
  return Number(text);
}

// ---------------------------------------------------------------------------------------
// Errors

/** Driver errors → WarehouseError with a hint; a CdpError passes through. Exported for tests. */
export function wrapSnowflakeError(error: unknown, config: SnowflakeConfig, action: string, sql?: string): CdpError {
  if (isCdpError(error)) return error;
  const message = wholeMessage(error);
  const code = typeof error === 'object' && error !== null ? String((error as { code?: unknown }).code ?? '') : '';
  const statement = sql === undefined ? '' : ` (${sql.trim().split('\n')[0].slice(0, 80)})`;
  return warehouseError('snowflake', `${action} failed: ${message}${statement}`, snowflakeHint(message, code, config), error);
}

/**
 * Snowflake puts the useful part on the second line ("SQL compilation error:\nObject 'X' does
 * not exist…"), so the lines are joined rather than cut at the first.
 */
function wholeMessage(error: unknown): string {
  return error instanceof Error ? error.message.replace(/\s*\n\s*/g, ' ').trim() : messageOf(error);
}

/** Always a hint: a user error names what to check, however unfamiliar the failure. */
function snowflakeHint(message: string, code: string, config: SnowflakeConfig): string {
  if (/incorrect username or password|jwt token is invalid|authenticat|private key|user .* locked/i.test(message) || ['390100', '390144', '394304', '390102'].includes(code)) {
    return 'check username and password (or private_key for key-pair auth) in cdp.yml, and that the user is not locked or disabled';
  }
  if (/no active warehouse|warehouse .*(does not exist|suspended|cannot be resumed)|suspended warehouse/i.test(message)) {
    return `check that warehouse ${config.warehouse} exists, is resumed (or has AUTO_RESUME) and that the role has USAGE on it`;
  }
  if (/timeout|timed out|reached its .*timeout|statement .*canceled/i.test(message)) {
    return `the statement exceeded statement_timeout_seconds (${config.statement_timeout_seconds}): raise it in cdp.yml or make the query cheaper`;
  }
  if (/does not exist or not authorized/i.test(message)) {
    return `check the database (${config.database}), schema and table names and the role's grants; unquoted names are upper case in Snowflake`;
  }
  if (/ENOTFOUND|ECONNREFUSED|ETIMEDOUT|getaddrinfo|network error/i.test(message)) {
    return `check account (${config.account}) — the account identifier, e.g. orgname-account or xy12345.eu-west-1 — and network access to Snowflake`;
  }
  if (/sql compilation error|syntax error/i.test(message)) return 'the SQL is not valid Snowflake SQL: check the statement (compiled models are under target/)';
  return `see Query History in Snowflake (query tag '${config.query_tag}') for details`;
}
