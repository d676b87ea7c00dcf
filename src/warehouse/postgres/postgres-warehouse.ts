/**
 * The PostgreSQL adapter: the `Warehouse` contract over a knex-managed pool of `pg` clients.
 *
 * knex owns the pool (sizing, idle eviction, acquire timeouts); statements go straight to
 * the borrowed `pg` client, never through knex's query builder, because knex rewrites `?`
 * in raw SQL into bind parameters and prefixes errors with the whole statement — compiled
 * model SQL must reach the server byte for byte and errors must stay one line.
 *
 * Invariants:
 *  - every session runs in UTC with this config's statement_timeout and application_name,
 *    set as connection parameters (no extra round trip, no session can miss them);
 *  - values leave as the value contract through per-client type parsers (pg's global
 *    parsers are left alone, so another pg user in the process is not affected);
 *  - `stream` reads through a server-side cursor: at most one batch in memory;
 *  - `load` and `executeAll` are one transaction each: all or nothing;
 *  - every driver error leaves as a CdpError (code WAREHOUSE) with a hint; an unreachable
 *    server fails within the 5 s connect timeout instead of hanging.
 */
import { knex, type Knex } from 'knex';
import type { Client, ClientConfig, CustomTypesConfig, QueryResult } from 'pg';
import Cursor from 'pg-cursor';
import { CdpError, messageOf, warehouseError } from '../../errors';
import type { PostgresConfig } from '../config';
import type { Column, ColumnType, Row, Scalar, TableRef, Warehouse } from '../types';
import {
  booleanInput,
  dateInput,
  floatInput,
  foldRowKeys,
  integerInput,
  integerTextToScalar,
  stringInput,
  timestampInput,
} from '../result-values';
import { PostgresDialect } from './postgres-dialect';

const CONNECT_TIMEOUT_MS = 5000;
/** Rows per INSERT … SELECT FROM unnest(…) statement: one array parameter per column. */
const LOAD_CHUNK_ROWS = 5000;
const SQL_HINT = 'check the compiled SQL in target/compiled/';

export async function connectPostgres(config: PostgresConfig): Promise<Warehouse> {
  const endpoint = describeEndpoint(config);
  const pool = knex({
    client: 'pg',
    connection: clientConfig(config) as Knex.PgConnectionConfig,
    pool: { min: 0, max: config.pool_max },
    // Waiting for a free connection is normal while long models run (threads > pool_max);
    // an unreachable server is caught by connectionTimeoutMillis, not by this.
    acquireConnectionTimeout: config.statement_timeout_ms + 60_000,
    // We wrap and report errors ourselves; knex's own warnings would print them twice.
    log: { warn: () => undefined, error: () => undefined, deprecate: () => undefined, debug: () => undefined },
  });
  const warehouse = new PostgresWarehouse(pool, config, endpoint);
  try {
    await warehouse.check();
  } catch (error) {
    await pool.destroy().catch(() => undefined);
    throw error;
  }
  return warehouse;
}

function clientConfig(config: PostgresConfig): ClientConfig {
  const session: ClientConfig = {
    application_name: 'warehouse-cdp',
    statement_timeout: config.statement_timeout_ms,
    options: '-c TimeZone=UTC',
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    keepAlive: true,
    types: contractTypes,
    ssl: config.ssl,
  };
  if (config.url) return { connectionString: config.url, ...session };
  return { host: config.host, port: config.port, user: config.user, password: config.password, database: config.database, ...session };
}

/** host:port for messages, never the password that a URL may carry. */
function describeEndpoint(config: PostgresConfig): string {
  if (config.url) {
    try {
      const url = new URL(config.url);
      return `${url.hostname}:${url.port || '5432'}`;
    } catch {
      return 'the configured url';
    }
  }
  return `${config.host}:${config.port}`;
}

// -- value contract: text-format parsers per type oid -----------------------------------

const OID = {
  bool: 16,
  int8: 20,
  int2: 21,
  int4: 23,
  oid: 26,
  float4: 700,
  float8: 701,
  numeric: 1700,
  date: 1082,
  timestamp: 1114,
  timestamptz: 1184,
} as const;

const identity = (text: string): string => text;

function parserFor(oid: number): (text: string) => Scalar {
  switch (oid) {
    case OID.bool:
      return (text) => text === 't';
    case OID.int2:
    case OID.int4:
    case OID.oid:
      return (text) => Number(text);
    case OID.int8:
      return integerTextToScalar;
    case OID.float4:
    case OID.float8:
    case OID.numeric:
      // Number() reads 'NaN', 'Infinity' and '-Infinity' as PostgreSQL prints them.
      return (text) => Number(text);
    case OID.timestamp:
    case OID.timestamptz:
      return parseTimestamp;
    default:
      // date stays 'YYYY-MM-DD'; json/jsonb stay text; arrays, intervals, uuid … their text.
      return identity;
  }
}

const contractTypes = {
  getTypeParser: (oid: number, format?: string) => (format === 'binary' ? identity : parserFor(oid)),
} as unknown as CustomTypesConfig;

const TIMESTAMP_TEXT = /^(\d{4,})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(\.\d+)?(?:([+-])(\d\d)(?::?(\d\d))?(?::?(\d\d))?)?$/;

/**
 * PostgreSQL timestamp text → Date. Text without an offset (timestamp without time zone) is
 * UTC by contract; with the session in UTC, timestamptz text carries '+00'. Values a Date
 * cannot hold ('infinity', BC) keep their text.
 */
function parseTimestamp(text: string): Date | string {
  const m = TIMESTAMP_TEXT.exec(text);
  if (!m) return text;
  const ms = m[7] ? Math.floor(Number(m[7]) * 1000) : 0;
  const date = new Date(Date.UTC(2000, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), ms));
  date.setUTCFullYear(Number(m[1]));
  if (m[8]) {
    const offsetSeconds = Number(m[9]) * 3600 + Number(m[10] ?? 0) * 60 + Number(m[11] ?? 0);
    date.setTime(date.getTime() - (m[8] === '-' ? -1 : 1) * offsetSeconds * 1000);
  }
  return Number.isNaN(date.getTime()) ? text : date;
}

// -- the warehouse ------------------------------------------------------------------------

/** knex's pool, typed: its public types declare `client` as any. */
interface PgPool {
  acquireConnection(): Promise<Client>;
  releaseConnection(connection: Client): Promise<void>;
}

class PostgresWarehouse implements Warehouse {
  readonly dialect = new PostgresDialect();
  readonly defaultSchema: string;
  private readonly pool: PgPool;

  constructor(
    private readonly knexInstance: Knex,
    private readonly config: PostgresConfig,
    private readonly endpoint: string,
  ) {
    this.defaultSchema = config.schema;
    this.pool = knexInstance.client as PgPool;
  }

  async check(): Promise<void> {
    await this.query('SELECT 1 AS ok');
  }

  async execute(sql: string): Promise<void> {
    await this.use((client) => this.run(client, sql));
  }

  async executeAll(statements: string[]): Promise<void> {
    await this.use((client) =>
      this.inTransaction(client, async () => {
        for (const sql of statements) await this.run(client, sql);
      }),
    );
  }

  async query<T extends Row = Row>(sql: string): Promise<T[]> {
    return this.use(async (client) => {
      const result = await this.run(client, sql);
      // Several statements in one string give one result each; the last one is the answer.
      const last: QueryResult | undefined = Array.isArray(result) ? result[result.length - 1] : result;
      return foldRowKeys(last?.rows ?? []) as T[];
    });
  }

  stream(sql: string, batchRows: number): AsyncIterable<Row[]> {
    if (!Number.isInteger(batchRows) || batchRows < 1) throw new Error(`batchRows must be a positive integer, got ${batchRows}`);
    return {
      [Symbol.asyncIterator]: () => this.streamBatches(sql, batchRows),
    };
  }

  private async *streamBatches(sql: string, batchRows: number): AsyncGenerator<Row[]> {
    const client = await this.acquire();
    // A cursor's portal only lives inside a transaction; BEGIN also gives a consistent snapshot.
    let failed = false;
    try {
      await this.run(client, 'BEGIN');
      const cursor = client.query(new Cursor<Record<string, unknown>>(sql, undefined, { types: contractTypes }));
      try {
        for (;;) {
          let rows: Record<string, unknown>[];
          try {
            rows = await cursor.read(batchRows);
          } catch (error) {
            throw this.wrap(error);
          }
          if (rows.length === 0) break;
          yield foldRowKeys(rows);
        }
      } finally {
        await cursor.close().catch(() => undefined);
      }
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      // COMMIT also ends an aborted transaction (as a rollback); the client is then clean.
      await client.query(failed ? 'ROLLBACK' : 'COMMIT').catch(() => undefined);
      await this.pool.releaseConnection(client);
    }
  }

  async load(table: TableRef, columns: Column[], rows: AsyncIterable<Row[]>): Promise<number> {
    const target = this.dialect.qualify({ schema: table.schema ?? this.defaultSchema, name: table.name });
    const names = columns.map((c) => this.dialect.quoteIdent(c.name)).join(', ');
    const arrays = columns.map((c, i) => `$${i + 1}::${this.dialect.typeName(c.type)}[]`).join(', ');
    // One array parameter per column: any number of rows per statement, no 65535-parameter
    // limit, and the server parses each array once — far faster than row-by-row VALUES.
    const insert = `INSERT INTO ${target} (${names}) SELECT * FROM unnest(${arrays})`;
    return this.use((client) =>
      this.inTransaction(client, async () => {
        let count = 0;
        let pending: (string | null)[][] = columns.map(() => []);
        let pendingRows = 0;
        const flush = async () => {
          if (pendingRows === 0) return;
          await this.run(client, insert, pending);
          count += pendingRows;
          pending = columns.map(() => []);
          pendingRows = 0;
        };
        for await (const batch of rows) {
          for (const row of batch) {
            for (let c = 0; c < columns.length; c++) pending[c].push(loadText(columns[c], row[columns[c].name]));
            pendingRows++;
            if (pendingRows >= LOAD_CHUNK_ROWS) await flush();
          }
        }
        await flush();
        return count;
      }),
    );
  }

  async close(): Promise<void> {
    await this.knexInstance.destroy();
  }

  // -- plumbing ---------------------------------------------------------------------------

  private async use<T>(work: (client: Client) => Promise<T>): Promise<T> {
    const client = await this.acquire();
    try {
      return await work(client);
    } finally {
      await this.pool.releaseConnection(client);
    }
  }

  private async acquire(): Promise<Client> {
    try {
      return await this.pool.acquireConnection();
    } catch (error) {
      throw this.wrap(error, true);
    }
  }

  private async run(client: Client, sql: string, values?: unknown[]): Promise<QueryResult | QueryResult[]> {
    try {
      // pg types a multi-statement result as a single QueryResult; it is an array at runtime.
      return (await client.query(sql, values)) as QueryResult | QueryResult[];
    } catch (error) {
      throw this.wrap(error);
    }
  }

  private async inTransaction<T>(client: Client, work: () => Promise<T>): Promise<T> {
    await this.run(client, 'BEGIN');
    try {
      const result = await work();
      await this.run(client, 'COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw this.wrap(error);
    }
  }

  /**
   * Driver error → CdpError with a hint that names what to check. `connecting`: the error
   * came from opening a connection, so whatever it says, the server was not usable.
   */
  private wrap(error: unknown, connecting = false): CdpError {
    if (error instanceof CdpError) return error;
    // One line: messageOf splits only this realm's Error instances.
    const message = messageOf(error).split('\n')[0];
    const code = typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : '';
    const where = `cdp.yml (warehouse.${this.config.url ? 'url' : 'host/port'})`;
    const unreachable = ['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'EAI_AGAIN'].includes(code);
    if (unreachable || /connection terminated|connection timeout|timeout expired/i.test(message) || (connecting && !/^[0-9A-Z]{5}$/.test(code) && !isKnexTimeout(error))) {
      return warehouseError('postgres', `cannot connect to PostgreSQL at ${this.endpoint}: ${message}`, `is PostgreSQL running at ${this.endpoint}? check ${where}`, error);
    }
    if (code === '28P01' || code === '28000') {
      return warehouseError('postgres', message, 'check warehouse.user / warehouse.password in cdp.yml', error);
    }
    if (code === '3D000') {
      return warehouseError('postgres', message, 'check warehouse.database in cdp.yml, or create the database', error);
    }
    if (code === '57014') {
      return warehouseError('postgres', message, `a statement ran longer than warehouse.statement_timeout_ms (${this.config.statement_timeout_ms} ms); raise it in cdp.yml or make the model cheaper`, error);
    }
    if (isKnexTimeout(error)) {
      return warehouseError('postgres', 'timed out waiting for a free connection', 'raise warehouse.pool_max in cdp.yml or run fewer threads', error);
    }
    return warehouseError('postgres', message, code ? `${SQL_HINT} (SQLSTATE ${code})` : SQL_HINT, error);
  }
}

function isKnexTimeout(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'KnexTimeoutError';
}

/** A contract value → the text PostgreSQL parses for an element of the column's array type. */
function loadText(column: Column, value: Scalar | undefined): string | null {
  if (value === null || value === undefined) return null;
  try {
    return toText(column.type, value);
  } catch (error) {
    throw warehouseError('postgres', `column ${column.name}: ${messageOf(error).split('\n')[0]}`, `the value must fit the column's type (${column.type})`, error);
  }
}

function toText(type: ColumnType, value: Scalar): string {
  switch (type) {
    case 'string':
    case 'json':
      return stringInput(value);
    case 'integer':
      return integerInput(value).toString();
    case 'float':
      return String(floatInput(value));
    case 'boolean':
      return booleanInput(value) ? 'true' : 'false';
    case 'timestamp':
      // ISO with Z; a TIMESTAMP column ignores the zone, which is right because it is UTC.
      return timestampInput(value).toISOString();
    case 'date':
      return dateInput(value);
  }
}
