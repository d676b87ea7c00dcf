/**
 * Snowflake adapter and dialect. Snowflake cannot be reached from here, so:
 *  - the SDK is stubbed at its boundary: a stateful fake connection implements exactly the
 *    snowflake-sdk methods the adapter calls (`execute` with `complete`, `streamResult` +
 *    `streamRows()`, `fetchAsString`, `destroy`), keeps session parameters, models
 *    transactions (BEGIN/COMMIT/ROLLBACK, DDL auto-commit) and stores inserted rows;
 *  - the dialect's SQL is asserted exactly (golden strings);
 *  - the live conformance suite runs only when SNOWFLAKE_TEST_ACCOUNT is set, and is
 *    reported as skipped otherwise.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { CdpError } from '../../src/errors';
import { describeWarehouseConformance } from './conformance';
import { snowflakeConfigSchema, type SnowflakeConfig } from '../../src/warehouse/config';
import type { Column, Row } from '../../src/warehouse/types';
import { SnowflakeDialect } from '../../src/warehouse/snowflake/snowflake-dialect';
import {
  connectSnowflake,
  createSnowflakeWarehouse,
  readerFor,
  sessionSetupSql,
  snowflakeConnectionOptions,
  type SnowflakeBind,
  type SnowflakeColumnLike,
  type SnowflakeConnectionLike,
  type SnowflakeErrorLike,
  type SnowflakeExecuteOptions,
} from '../../src/warehouse/snowflake/snowflake-warehouse';

// ---------------------------------------------------------------------------------------
// The fake SDK

class FakeColumn implements SnowflakeColumnLike {
  constructor(
    private readonly name: string,
    private readonly type: string,
    private readonly scale = 0,
  ) {}
  getName() {
    return this.name;
  }
  getType() {
    return this.type;
  }
  getScale() {
    return this.scale;
  }
}

interface FakeResult {
  columns: FakeColumn[];
  /** Rows as the driver builds them; NUMBER values as the text Snowflake sends. */
  rows: Record<string, unknown>[] | (() => Iterable<Record<string, unknown>>);
}

interface Effect {
  sql: string;
  binds: readonly SnowflakeBind[];
}

const DDL = /^\s*(CREATE|DROP|ALTER\s+(?!SESSION)|TRUNCATE)/i;

class FakeSnowflake implements SnowflakeConnectionLike {
  readonly session: Record<string, string> = {};
  readonly committed: Effect[] = [];
  private pending: Effect[] | null = null;
  readonly executed: string[] = [];
  /** Rows the row streams have produced (pulled from their source) so far. */
  produced = 0;
  lastStream?: Readable;
  destroyed = 0;
  results: (sql: string) => FakeResult | undefined = () => undefined;
  failOn: (sql: string) => SnowflakeErrorLike | undefined = () => undefined;

  get inTransaction(): boolean {
    return this.pending !== null;
  }

  /** Rows stored in `table` by committed INSERT … FROM VALUES statements, as bound. */
  tableRows(table: string): SnowflakeBind[][] {
    const rows: SnowflakeBind[][] = [];
    for (const effect of this.committed) {
      const m = /^INSERT INTO (\S+) \(.*?\) SELECT .* FROM VALUES (\([?, ]+\))/s.exec(effect.sql);
      if (!m || m[1] !== table) continue;
      const width = (m[2].match(/\?/g) ?? []).length;
      for (let i = 0; i < effect.binds.length; i += width) rows.push(effect.binds.slice(i, i + width));
    }
    return rows;
  }

  execute(options: SnowflakeExecuteOptions): unknown {
    const sql = options.sqlText;
    this.executed.push(sql);
    // The driver completes asynchronously.
    setImmediate(() => {
      const fail = this.failOn(sql);
      const result = this.results(sql) ?? { columns: [], rows: [] };
      const stmt = this.statement(result, options);
      if (fail) return options.complete(fail, stmt);
      this.apply(sql, options.binds ?? []);
      if (options.streamResult) return options.complete(undefined, stmt);
      const rows = [...this.source(result, options)];
      options.complete(undefined, stmt, rows);
    });
    return {};
  }

  destroy(callback: (err: SnowflakeErrorLike | undefined, conn: unknown) => void): void {
    this.destroyed++;
    setImmediate(() => callback(undefined, this));
  }

  private apply(sql: string, binds: readonly SnowflakeBind[]): void {
    const upper = sql.trim().toUpperCase();
    if (upper.startsWith('ALTER SESSION SET ')) {
      for (const m of sql.slice('ALTER SESSION SET '.length).matchAll(/(\w+)\s*=\s*('(?:[^'\\]|''|\\.)*'|\S+)/g)) {
        const value = m[2].startsWith("'") ? m[2].slice(1, -1).replace(/''/g, "'").replace(/\\(.)/g, '$1') : m[2];
        this.session[m[1].toUpperCase()] = value;
      }
    } else if (upper === 'BEGIN') {
      this.pending = this.pending ?? [];
    } else if (upper === 'COMMIT') {
      this.committed.push(...(this.pending ?? []));
      this.pending = null;
    } else if (upper === 'ROLLBACK') {
      this.pending = null;
    } else if (DDL.test(sql)) {
      // Snowflake: DDL commits the open transaction, then runs in its own.
      this.committed.push(...(this.pending ?? []), { sql, binds });
      this.pending = null;
    } else if (!upper.startsWith('SELECT')) {
      (this.pending ?? this.committed).push({ sql, binds });
    }
  }

  /** The driver's row source, honouring fetchAsString for NUMBER columns. */
  private *source(result: FakeResult, options: SnowflakeExecuteOptions): Iterable<Record<string, unknown>> {
    const numbersAsText = options.fetchAsString?.includes('Number') ?? false;
    const numeric = result.columns.filter((c) => c.getType() === 'fixed' || c.getType() === 'real').map((c) => c.getName());
    const rows = typeof result.rows === 'function' ? result.rows() : result.rows;
    for (const row of rows) {
      this.produced++;
      if (numbersAsText) {
        yield row;
      } else {
        const converted = { ...row };
        for (const name of numeric) if (converted[name] !== null) converted[name] = Number(converted[name]);
        yield converted;
      }
    }
  }

  private statement(result: FakeResult, options: SnowflakeExecuteOptions) {
    return {
      getColumns: () => result.columns,
      streamRows: () => {
        const stream = Readable.from(this.source(result, options), { objectMode: true });
        this.lastStream = stream;
        return stream;
      },
    };
  }
}

function config(overrides: Partial<SnowflakeConfig> = {}): SnowflakeConfig {
  return snowflakeConfigSchema.parse({
    type: 'snowflake',
    account: 'acme-xy12345',
    username: 'cdp',
    password: 'pw',
    warehouse: 'TRANSFORMING',
    database: 'ANALYTICS',
    ...overrides,
  });
}

async function setup(overrides: Partial<SnowflakeConfig> = {}) {
  const fake = new FakeSnowflake();
  const warehouse = await createSnowflakeWarehouse(fake, config(overrides));
  return { fake, warehouse };
}

function sfError(message: string, code?: string): SnowflakeErrorLike {
  return Object.assign(new Error(message), { code, sqlState: '42000' });
}

async function caught(promise: Promise<unknown>): Promise<CdpError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CdpError) return error;
    throw new Error(`expected a CdpError, got ${String(error)}`);
  }
  throw new Error('expected the promise to reject');
}

async function* batchesOf(...batches: Row[][]): AsyncIterable<Row[]> {
  for (const b of batches) yield b;
}

const numbers = (count: number): FakeResult => ({
  columns: [new FakeColumn('N', 'fixed')],
  rows: () => (function* () {
    for (let i = 0; i < count; i++) yield { N: String(i) };
  })(),
});

// ---------------------------------------------------------------------------------------

describe('SnowflakeDialect: golden SQL', () => {
  const d = new SnowflakeDialect();

  test('simple identifiers are upper-cased before quoting; others are quoted as given', () => {
    expect(d.quoteIdent('customers')).toBe('"CUSTOMERS"');
    expect(d.quoteIdent('firstName')).toBe('"FIRSTNAME"');
    expect(d.quoteIdent('_tmp$1')).toBe('"_TMP$1"');
    expect(d.quoteIdent('Order Total')).toBe('"Order Total"');
    expect(d.quoteIdent('1st')).toBe('"1st"');
    expect(d.quoteIdent('say "hi"')).toBe('"say ""hi"""');
    expect(d.qualify({ schema: 'analytics', name: 'customers' })).toBe('"ANALYTICS"."CUSTOMERS"');
    expect(d.qualify({ name: 'customers' })).toBe('"CUSTOMERS"');
  });

  test('literals escape quotes and backslashes; timestamps are the UTC wall clock as NTZ', () => {
    expect(d.literal("O'Brien \\ co")).toBe("'O''Brien \\\\ co'");
    expect(d.literal(new Date('2024-01-02T03:04:05.678Z'))).toBe("CAST('2024-01-02 03:04:05.678' AS TIMESTAMP_NTZ)");
    expect(d.literal(false)).toBe('FALSE');
  });

  test('hash is MD5 of the |-joined text with NULL as empty', () => {
    expect(d.hash(['email', 'first_name'])).toBe("MD5(COALESCE(CAST(email AS VARCHAR), '') || '|' || COALESCE(CAST(first_name AS VARCHAR), ''))");
  });

  test('dateAdd / now', () => {
    expect(d.dateAdd('day', -30, 'SYSDATE()')).toBe('DATEADD(day, (-30), SYSDATE())');
    expect(d.dateAdd('month', 'n', 'ts')).toBe('DATEADD(month, (n), ts)');
    expect(d.daysAgo(7)).toBe('DATEADD(day, (-7), SYSDATE())');
    expect(d.now()).toBe('SYSDATE()');
  });

  test('dateDiff counts whole elapsed units, not the boundaries DATEDIFF counts', () => {
    expect(d.dateDiff('hour', 'a', 'b')).toBe('CAST(TRUNC(DATEDIFF(millisecond, CAST(a AS TIMESTAMP_NTZ), CAST(b AS TIMESTAMP_NTZ)) / 3600000) AS NUMBER(38,0))');
    expect(d.dateDiff('week', 'a', 'b')).toBe('CAST(TRUNC(DATEDIFF(millisecond, CAST(a AS TIMESTAMP_NTZ), CAST(b AS TIMESTAMP_NTZ)) / 604800000) AS NUMBER(38,0))');
    const crossed = 'DATEDIFF(month, CAST(a AS TIMESTAMP_NTZ), CAST(b AS TIMESTAMP_NTZ))';
    const shifted = `DATEADD(month, ${crossed}, CAST(a AS TIMESTAMP_NTZ))`;
    expect(d.dateDiff('month', 'a', 'b')).toBe(
      `(CASE WHEN ${crossed} > 0 AND ${shifted} > CAST(b AS TIMESTAMP_NTZ) THEN ${crossed} - 1 ` +
        `WHEN ${crossed} < 0 AND ${shifted} < CAST(b AS TIMESTAMP_NTZ) THEN ${crossed} + 1 ELSE ${crossed} END)`,
    );
  });

  test('merge is one native MERGE statement', () => {
    expect(
      d.merge({
        target: { schema: 'analytics', name: 'customers' },
        source: { schema: 'analytics', name: 'customers__cdp_tmp' },
        uniqueKey: ['id'],
        columns: ['id', 'email'],
      }),
    ).toEqual([
      [
        'MERGE INTO "ANALYTICS"."CUSTOMERS" AS t',
        'USING "ANALYTICS"."CUSTOMERS__CDP_TMP" AS s',
        'ON t."ID" = s."ID"',
        'WHEN MATCHED THEN UPDATE SET t."EMAIL" = s."EMAIL"',
        'WHEN NOT MATCHED THEN INSERT ("ID", "EMAIL") VALUES (s."ID", s."EMAIL")',
      ].join('\n'),
    ]);
  });

  test('every other method', () => {
    const ref = { schema: 'analytics', name: 'orders' };
    expect({
      name: d.name,
      capabilities: d.capabilities,
      types: (['string', 'integer', 'float', 'boolean', 'timestamp', 'date', 'json'] as const).map((t) => d.typeName(t)),
      normalizeString: d.normalizeString('email'),
      castInt: d.cast('x', 'integer'),
      castJson: d.cast('payload', 'json'),
      toTimestamp: d.toTimestamp('seen_at'),
      createSchema: d.createSchemaIfNotExists('analytics'),
      createTableAs: d.createTableAs(ref, 'SELECT 1 AS x'),
      createOrReplace: d.createOrReplaceTableAs(ref, 'SELECT 1 AS x'),
      createView: d.createView(ref, 'SELECT 1 AS x'),
      createTable: d.createTable(ref, [
        { name: 'id', type: 'integer' },
        { name: 'traits', type: 'json' },
      ]),
      dropTable: d.dropTableIfExists(ref),
      dropView: d.dropViewIfExists(ref),
      rename: d.renameTable({ schema: 'analytics', name: 'orders__cdp_tmp' }, 'orders'),
      relationKind: d.relationKindSql(ref),
      relationKindNoSchema: d.relationKindSql({ name: 'Mixed Case' }),
      columns: d.columnsSql(ref),
    }).toEqual({
      name: 'snowflake',
      capabilities: { transactionalDdl: false, createOrReplaceTable: true, merge: true },
      types: ['VARCHAR', 'NUMBER(38,0)', 'FLOAT', 'BOOLEAN', 'TIMESTAMP_NTZ', 'DATE', 'VARIANT'],
      normalizeString: "NULLIF(lower(trim(email)), '')",
      castInt: 'CAST(x AS NUMBER(38,0))',
      castJson: 'PARSE_JSON(payload)',
      toTimestamp: "CAST(CONVERT_TIMEZONE('UTC', CAST(seen_at AS TIMESTAMP_TZ)) AS TIMESTAMP_NTZ)",
      createSchema: 'CREATE SCHEMA IF NOT EXISTS "ANALYTICS"',
      createTableAs: 'CREATE TABLE "ANALYTICS"."ORDERS" AS\nSELECT 1 AS x',
      createOrReplace: 'CREATE OR REPLACE TABLE "ANALYTICS"."ORDERS" AS\nSELECT 1 AS x',
      createView: 'CREATE VIEW "ANALYTICS"."ORDERS" AS\nSELECT 1 AS x',
      createTable: 'CREATE TABLE "ANALYTICS"."ORDERS" ("ID" NUMBER(38,0), "TRAITS" VARIANT)',
      dropTable: 'DROP TABLE IF EXISTS "ANALYTICS"."ORDERS"',
      dropView: 'DROP VIEW IF EXISTS "ANALYTICS"."ORDERS"',
      rename: 'ALTER TABLE "ANALYTICS"."ORDERS__CDP_TMP" RENAME TO "ORDERS"',
      relationKind:
        "SELECT CASE WHEN table_type = 'VIEW' THEN 'view' ELSE 'table' END AS kind FROM information_schema.tables WHERE table_schema = 'ANALYTICS' AND table_name = 'ORDERS'",
      relationKindNoSchema:
        "SELECT CASE WHEN table_type = 'VIEW' THEN 'view' ELSE 'table' END AS kind FROM information_schema.tables WHERE table_schema = CURRENT_SCHEMA() AND table_name = 'Mixed Case'",
      columns:
        "SELECT CASE WHEN REGEXP_LIKE(column_name, '[A-Z_][A-Z0-9_$]*') THEN LOWER(column_name) ELSE column_name END AS column_name, data_type " +
        "FROM information_schema.columns WHERE table_schema = 'ANALYTICS' AND table_name = 'ORDERS' ORDER BY ordinal_position",
    });
  });
});

// ---------------------------------------------------------------------------------------

describe('Snowflake adapter with the SDK stubbed', () => {
  test('connect sets up the session: UTC, NTZ timestamps, statement timeout, query tag', async () => {
    const { fake } = await setup({ statement_timeout_seconds: 120, query_tag: "acme's cdp" });
    expect(fake.session).toEqual({
      TIMEZONE: 'UTC',
      TIMESTAMP_TYPE_MAPPING: 'TIMESTAMP_NTZ',
      STATEMENT_TIMEOUT_IN_SECONDS: '120',
      QUERY_TAG: "acme's cdp",
    });
    expect(sessionSetupSql(config())).toBe(
      "ALTER SESSION SET TIMEZONE = 'UTC' TIMESTAMP_TYPE_MAPPING = 'TIMESTAMP_NTZ' STATEMENT_TIMEOUT_IN_SECONDS = 900 QUERY_TAG = 'warehouse-cdp'",
    );
  });

  test('a session setup failure fails the connect with a warehouse hint and closes the session', async () => {
    const fake = new FakeSnowflake();
    fake.failOn = (sql) => (sql.startsWith('ALTER SESSION') ? sfError("No active warehouse selected in the current session.  Select an active warehouse with the 'use warehouse' command.") : undefined);
    const error = await caught(createSnowflakeWarehouse(fake, config()));
    expect(error.code).toBe('WAREHOUSE');
    expect(error.where).toBe('warehouse snowflake');
    expect(error.hint).toMatch(/warehouse TRANSFORMING exists, is resumed/);
    expect(fake.destroyed).toBe(1);
  });

  test('query normalises driver values to the value contract and folds column names', async () => {
    const { fake, warehouse } = await setup();
    fake.results = (sql) =>
      sql.startsWith('SELECT')
        ? {
            columns: [
              new FakeColumn('ID', 'fixed'),
              new FakeColumn('BIG', 'fixed'),
              new FakeColumn('AMOUNT', 'fixed', 2),
              new FakeColumn('RATIO', 'real'),
              new FakeColumn('ACTIVE', 'boolean'),
              new FakeColumn('BORN_ON', 'date'),
              new FakeColumn('SEEN_AT', 'timestamp_ntz'),
              new FakeColumn('TRAITS', 'variant'),
              new FakeColumn('Mixed Name', 'text'),
              new FakeColumn('MISSING', 'text'),
            ],
            rows: [
              {
                ID: '42',
                BIG: '9007199254740993',
                AMOUNT: '12.50',
                RATIO: '0.25',
                ACTIVE: true,
                BORN_ON: new Date('1990-05-17T00:00:00Z'),
                SEEN_AT: new Date('2024-01-02T03:04:05.123Z'),
                TRAITS: { plan: 'pro', seats: 3 },
                'Mixed Name': 'x',
                MISSING: null,
              },
            ],
          }
        : undefined;
    const rows = await warehouse.query('SELECT …');
    expect(rows).toEqual([
      {
        id: 42,
        big: '9007199254740993', // fetched as text: the driver's Number() would have rounded it
        amount: 12.5,
        ratio: 0.25,
        active: true,
        born_on: '1990-05-17',
        seen_at: new Date('2024-01-02T03:04:05.123Z'),
        traits: '{"plan":"pro","seats":3}',
        'mixed name': 'x',
        missing: null,
      },
    ]);
  });

  test('stream batches rows to batchRows while reading the row stream lazily', async () => {
    const { fake, warehouse } = await setup();
    fake.results = (sql) => (sql === 'SELECT n FROM big' ? numbers(10_000) : undefined);
    const iterator = warehouse.stream('SELECT n FROM big', 100)[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.value).toEqual(Array.from({ length: 100 }, (_, n) => ({ n })));
    // Bounded memory: the source has produced one batch plus the stream's small buffer.
    expect(fake.produced).toBeLessThan(200);
    let batches = 1;
    let last: Row[] = [];
    for (let r = await iterator.next(); !r.done; r = await iterator.next()) {
      expect(r.value.length).toBe(100);
      batches++;
      last = r.value;
    }
    expect(batches).toBe(100);
    expect(last[99]).toEqual({ n: 9_999 });
  });

  test('a partial last batch is yielded; leaving early destroys the row stream', async () => {
    const { fake, warehouse } = await setup();
    fake.results = () => numbers(250);
    const sizes: number[] = [];
    for await (const batch of warehouse.stream('SELECT n', 100)) sizes.push(batch.length);
    expect(sizes).toEqual([100, 100, 50]);

    fake.results = () => numbers(100_000);
    fake.produced = 0;
    for await (const batch of warehouse.stream('SELECT n', 10)) {
      expect(batch).toHaveLength(10);
      break;
    }
    expect(fake.lastStream?.destroyed).toBe(true);
    expect(fake.produced).toBeLessThan(100);
  });

  test('a failed streamed query is a WAREHOUSE error naming the statement', async () => {
    const { fake, warehouse } = await setup();
    fake.failOn = (sql) => (sql.includes('nope') ? sfError("SQL compilation error:\nObject 'NOPE' does not exist or not authorized.", '002003') : undefined);
    const error = await caught((async () => {
      for await (const _ of warehouse.stream('SELECT * FROM nope', 10)) void _;
    })());
    expect(error.code).toBe('WAREHOUSE');
    expect(error.message).toBe("running a query failed: SQL compilation error: Object 'NOPE' does not exist or not authorized. (SELECT * FROM nope)");
    expect(error.hint).toMatch(/role's grants/);
  });

  test('executeAll commits all statements together, or none of them', async () => {
    const { fake, warehouse } = await setup();
    await warehouse.executeAll(['DELETE FROM s WHERE k = 1', 'INSERT INTO s VALUES (1)']);
    expect(fake.committed.map((e) => e.sql)).toEqual(['DELETE FROM s WHERE k = 1', 'INSERT INTO s VALUES (1)']);

    fake.failOn = (sql) => (sql === 'INSERT INTO s VALUES (2)' ? sfError('Numeric value \'x\' is not recognized', '100038') : undefined);
    const error = await caught(warehouse.executeAll(['DELETE FROM s WHERE k = 2', 'INSERT INTO s VALUES (2)']));
    expect(error.code).toBe('WAREHOUSE');
    expect(error.message).toMatch(/INSERT INTO s VALUES \(2\)/);
    // The DELETE was rolled back with the failed INSERT.
    expect(fake.committed.map((e) => e.sql)).toEqual(['DELETE FROM s WHERE k = 1', 'INSERT INTO s VALUES (1)']);
    expect(fake.inTransaction).toBe(false);
  });

  test('executeAll cannot undo DDL: Snowflake auto-commits it (hence transactionalDdl false)', async () => {
    const { fake, warehouse } = await setup();
    fake.failOn = (sql) => (sql.startsWith('INSERT') ? sfError('boom') : undefined);
    await caught(warehouse.executeAll(['DELETE FROM s', 'CREATE TABLE t (a INT)', 'INSERT INTO t VALUES (1)']));
    expect(fake.committed.map((e) => e.sql)).toEqual(['DELETE FROM s', 'CREATE TABLE t (a INT)']);
  });

  test('load inserts every row, converted per column type, in chunks inside one transaction', async () => {
    const { fake, warehouse } = await setup();
    const columns: Column[] = [
      { name: 'id', type: 'integer' },
      { name: 'email', type: 'string' },
      { name: 'score', type: 'float' },
      { name: 'vip', type: 'boolean' },
      { name: 'seen_at', type: 'timestamp' },
      { name: 'born_on', type: 'date' },
      { name: 'traits', type: 'json' },
    ];
    const written = await warehouse.load(
      { schema: 'cdp_state', name: 'sync_state' },
      columns,
      batchesOf(
        [
          { id: 1, email: 'a@x.io', score: 1.5, vip: true, seen_at: new Date('2024-01-02T03:04:05.006Z'), born_on: '1990-05-17', traits: '{"plan":"pro"}' },
          { id: '9007199254740993', email: "o'neil", score: null, vip: false, seen_at: '2024-01-02T05:04:05+02:00', born_on: null, traits: null },
        ],
        [{ id: 3, email: null, score: -Infinity, vip: null, seen_at: null, born_on: new Date('2000-01-01T00:00:00Z'), traits: null }],
      ),
    );
    expect(written).toBe(3);
    expect(fake.tableRows('"CDP_STATE"."SYNC_STATE"')).toEqual([
      ['1', 'a@x.io', '1.5', 'true', '2024-01-02 03:04:05.006', '1990-05-17', '{"plan":"pro"}'],
      ['9007199254740993', "o'neil", null, 'false', '2024-01-02 03:04:05.000', null, null],
      ['3', null, '-inf', null, null, '2000-01-01', null],
    ]);
    const insert = fake.committed.find((e) => e.sql.startsWith('INSERT'));
    expect(insert?.sql).toBe(
      'INSERT INTO "CDP_STATE"."SYNC_STATE" ("ID", "EMAIL", "SCORE", "VIP", "SEEN_AT", "BORN_ON", "TRAITS") ' +
        'SELECT CAST(column1 AS NUMBER(38,0)), column2, CAST(column3 AS FLOAT), CAST(column4 AS BOOLEAN), ' +
        'CAST(column5 AS TIMESTAMP_NTZ), CAST(column6 AS DATE), PARSE_JSON(column7) ' +
        'FROM VALUES (?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?)',
    );
  });

  test('a large load is split into several INSERTs, all committed', async () => {
    const { fake, warehouse } = await setup();
    const rows = Array.from({ length: 2_500 }, (_, i) => ({ id: i }));
    const written = await warehouse.load({ name: 'big' }, [{ name: 'id', type: 'integer' }], batchesOf(rows.slice(0, 1_200), rows.slice(1_200)));
    expect(written).toBe(2_500);
    const stored = fake.tableRows('"BIG"');
    expect(stored).toHaveLength(2_500);
    expect(stored[2_499]).toEqual(['2499']);
    expect(fake.committed.filter((e) => e.sql.startsWith('INSERT')).length).toBe(3);
  });

  test('a load that fails midway leaves the table unchanged', async () => {
    const { fake, warehouse } = await setup();
    let inserts = 0;
    fake.failOn = (sql) => (sql.startsWith('INSERT') && ++inserts === 2 ? sfError('Warehouse \'TRANSFORMING\' cannot be resumed because resource monitor has exceeded its quota.') : undefined);
    const rows = Array.from({ length: 1_500 }, (_, i) => ({ id: i }));
    const error = await caught(warehouse.load({ name: 'big' }, [{ name: 'id', type: 'integer' }], batchesOf(rows)));
    expect(error.code).toBe('WAREHOUSE');
    expect(error.hint).toMatch(/TRANSFORMING/);
    expect(fake.tableRows('"BIG"')).toEqual([]);
    expect(fake.inTransaction).toBe(false);
  });

  test('a value that does not fit its column fails the load with its column named', async () => {
    const { fake, warehouse } = await setup();
    const error = await caught(warehouse.load({ name: 't' }, [{ name: 'born_on', type: 'date' }], batchesOf([{ born_on: 'yesterday' }])));
    expect(error.code).toBe('WAREHOUSE');
    expect(error.message).toMatch(/^column born_on: cannot read yesterday as a date/);
    expect(fake.tableRows('"T"')).toEqual([]);
  });

  test.each([
    ['auth', sfError('Incorrect username or password was specified.', '390100'), /username and password \(or private_key/],
    ['timeout', sfError('Statement reached its statement or warehouse timeout of 900 second(s) and was canceled.', '000630'), /statement_timeout_seconds \(900\)/],
    ['network', sfError('Network error. Could not reach Snowflake. getaddrinfo ENOTFOUND acme-xy12345.snowflakecomputing.com'), /check account \(acme-xy12345\)/],
  ])('driver errors are wrapped with a hint: %s', async (_name, driverError, hint) => {
    const { fake, warehouse } = await setup();
    fake.failOn = (sql) => (sql.startsWith('SELECT') ? driverError : undefined);
    const error = await caught(warehouse.query('SELECT 1'));
    expect(error.code).toBe('WAREHOUSE');
    expect(error.hint).toMatch(hint);
    expect(error.cause).toBe(driverError);
  });

  test('close destroys the connection once', async () => {
    const { fake, warehouse } = await setup();
    await warehouse.close();
    await warehouse.close();
    expect(fake.destroyed).toBe(1);
  });

  test('column readers', () => {
    const read = (type: string, value: unknown, scale = 0) => readerFor({ getType: () => type, getScale: () => scale })(value);
    expect(read('fixed', '-9223372036854775808')).toBe('-9223372036854775808');
    expect(read('fixed', '7')).toBe(7);
    expect(read('fixed', '0.10', 2)).toBe(0.1);
    expect(read('real', 'inf')).toBe(Infinity);
    expect(read('timestamp_tz', new Date('2024-01-02T01:00:00Z'))).toEqual(new Date('2024-01-02T01:00:00Z'));
    expect(read('array', [1, 'a'])).toBe('[1,"a"]');
    expect(read('binary', Buffer.from([1, 255]))).toBe('01ff');
  });
});

describe('snowflakeConnectionOptions', () => {
  test('key-pair auth when a private key is given; the password is not sent', () => {
    const options = snowflakeConnectionOptions(config({ private_key: '-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----', role: 'TRANSFORMER' }));
    expect(options).toEqual({
      account: 'acme-xy12345',
      username: 'cdp',
      warehouse: 'TRANSFORMING',
      database: 'ANALYTICS',
      schema: 'PUBLIC',
      role: 'TRANSFORMER',
      application: 'warehouse-cdp',
      authenticator: 'SNOWFLAKE_JWT',
      privateKey: '-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----',
    });
  });

  test('password auth otherwise', () => {
    const options = snowflakeConnectionOptions(config({ access_url: 'http://127.0.0.1:8080' }));
    expect(options.password).toBe('pw');
    expect(options.authenticator).toBeUndefined();
    expect(options.accessUrl).toBe('http://127.0.0.1:8080');
  });
});

// ---------------------------------------------------------------------------------------
// Live: only with credentials. Tests read the environment; the adapter never does.

const liveAccount = process.env.SNOWFLAKE_TEST_ACCOUNT;
if (liveAccount) {
  // Each test gets its own schema, dropped afterwards.
  describeWarehouseConformance(
    'snowflake',
    async () => {
      const schema = `CDP_TEST_${randomBytes(4).toString('hex').toUpperCase()}`;
      const warehouse = await connectSnowflake(
        snowflakeConfigSchema.parse({
          type: 'snowflake',
          account: liveAccount,
          username: process.env.SNOWFLAKE_TEST_USER,
          password: process.env.SNOWFLAKE_TEST_PASSWORD,
          private_key: process.env.SNOWFLAKE_TEST_PRIVATE_KEY,
          role: process.env.SNOWFLAKE_TEST_ROLE,
          warehouse: process.env.SNOWFLAKE_TEST_WAREHOUSE,
          database: process.env.SNOWFLAKE_TEST_DATABASE,
          schema,
          statement_timeout_seconds: 300,
          query_tag: 'warehouse-cdp-tests',
        }),
      );
      const quoted = warehouse.dialect.quoteIdent(schema);
      await warehouse.execute(warehouse.dialect.createSchemaIfNotExists(schema));
      await warehouse.execute(`USE SCHEMA ${quoted}`);
      return {
        warehouse,
        schema,
        cleanup: async () => {
          await warehouse.execute(`DROP SCHEMA IF EXISTS ${quoted} CASCADE`);
          await warehouse.close();
        },
      };
    },
    { seriesSql: (count) => `SELECT n FROM (SELECT ROW_NUMBER() OVER (ORDER BY SEQ4()) AS n FROM TABLE(GENERATOR(ROWCOUNT => ${count})))` },
  );
} else {
  describe.skip('live Snowflake (skipped: SNOWFLAKE_TEST_ACCOUNT not set)', () => {
    test('warehouse conformance suite against a real Snowflake account', () => {
      // Never runs: registered so the report counts the live suite as skipped.
    });
  });
}
