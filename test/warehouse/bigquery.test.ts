/**
 * BigQuery adapter and dialect. BigQuery cannot be reached from here, so:
 *  - the SDK is stubbed at its boundary: a fake client implements exactly the SDK methods
 *    the adapter calls, and turns raw REST rows into SDK values with the SDK's own
 *    `BigQuery.mergeSchemaWithRows_` and the options the adapter passed — so value
 *    normalisation is tested against what the real SDK produces;
 *  - the dialect's SQL is asserted exactly (golden strings);
 *  - the live conformance suite runs only when BIGQUERY_TEST_PROJECT is set, and is
 *    reported as skipped otherwise. Under jest the Google auth library's dynamic
 *    `import('node-fetch')` needs NODE_OPTIONS=--experimental-vm-modules (plain Node does
 *    not): BIGQUERY_TEST_PROJECT=… GOOGLE_APPLICATION_CREDENTIALS=key.json
 *    NODE_OPTIONS=--experimental-vm-modules npx jest test/warehouse/bigquery.test.ts
 */
import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import {
  BigQuery,
  BigQueryDate,
  BigQueryDatetime,
  BigQueryTime,
  BigQueryTimestamp,
  Geography,
  type JobLoadMetadata,
  type Query,
  type QueryResultsOptions,
  type TableField,
} from '@google-cloud/bigquery';
import { CdpError } from '../../src/errors';
import { describeWarehouseConformance } from './conformance';
import { bigqueryConfigSchema, type BigqueryConfig } from '../../src/warehouse/config';
import type { Row } from '../../src/warehouse/types';
import { BigqueryDialect } from '../../src/warehouse/bigquery/bigquery-dialect';
import {
  bigqueryScript,
  bigqueryValueToScalar,
  connectBigquery,
  createBigqueryWarehouse,
  type BigqueryClientLike,
  type BigqueryClock,
  type BigqueryJobLike,
  type BigqueryTableLike,
} from '../../src/warehouse/bigquery/bigquery-warehouse';

// ---------------------------------------------------------------------------------------
// The fake SDK

interface RawRow {
  f: { v: unknown }[];
}

interface JobScript {
  /** getMetadata calls before the job reports DONE; Infinity = never finishes. */
  pollsUntilDone?: number;
  errorResult?: { reason: string; message: string };
  fields?: TableField[];
  rows?: RawRow[];
  outputRows?: string;
  cancelFails?: boolean;
}

class FakeJob implements BigqueryJobLike {
  polls = 0;
  cancelled = false;
  pagesServed = 0;

  constructor(
    readonly id: string,
    private readonly script: JobScript,
  ) {}

  private get done(): boolean {
    return this.cancelled || this.polls >= (this.script.pollsUntilDone ?? 1);
  }

  async getMetadata(): Promise<readonly unknown[]> {
    this.polls++;
    const status: Record<string, unknown> = { state: this.done ? 'DONE' : 'RUNNING' };
    if (this.cancelled) status.errorResult = { reason: 'stopped', message: 'Job execution was cancelled' };
    else if (this.done && this.script.errorResult) status.errorResult = this.script.errorResult;
    const statistics = this.script.outputRows ? { load: { outputRows: this.script.outputRows } } : {};
    return [{ id: this.id, status, statistics }, {}];
  }

  async getQueryResults(options: QueryResultsOptions): Promise<readonly [unknown[], ({ pageToken?: string } | null)?, unknown?]> {
    if (!this.done) throw new Error('getQueryResults before the job finished');
    if (options.autoPaginate !== false) throw new Error('the fake serves manual pages only');
    const all = this.script.rows ?? [];
    const start = options.pageToken ? Number(options.pageToken) : 0;
    const size = options.maxResults ?? all.length;
    const slice = all.slice(start, start + size);
    this.pagesServed++;
    // What the SDK does with a page: raw REST values → SDK values, with the caller's options.
    const rows = BigQuery.mergeSchemaWithRows_({ fields: this.script.fields ?? [] }, slice, {
      wrapIntegers: options.wrapIntegers ?? false,
      parseJSON: options.parseJSON,
    });
    const next = start + size < all.length ? { ...options, pageToken: String(start + size) } : null;
    return [rows, next, {}];
  }

  async cancel(): Promise<unknown> {
    if (this.script.cancelFails) throw new Error('cancel refused');
    this.cancelled = true;
    return [{}];
  }
}

interface LoadCall {
  dataset: string;
  table: string;
  location?: string;
  metadata: JobLoadMetadata;
  ndjson: string;
  file: string;
}

class FakeBigquery implements BigqueryClientLike {
  readonly requests: Query[] = [];
  readonly jobs: FakeJob[] = [];
  readonly loads: LoadCall[] = [];
  /** What the next query job does; default: finishes on the first poll with no rows. */
  next: (request: Query) => JobScript = () => ({});
  createError?: unknown;
  loadScript: JobScript = {};

  async createQueryJob(request: Query): Promise<readonly [BigqueryJobLike, ...unknown[]]> {
    if (this.createError) throw this.createError;
    this.requests.push(request);
    const job = new FakeJob(`job_${this.jobs.length + 1}`, this.next(request));
    this.jobs.push(job);
    return [job, {}];
  }

  dataset(id: string, options?: { location?: string }): { table(id: string): BigqueryTableLike } {
    return {
      table: (table: string) => ({
        createLoadJob: async (file: string, metadata: JobLoadMetadata) => {
          // Read now: the SDK streams the file during this call, and the adapter may delete it after.
          this.loads.push({ dataset: id, table, location: options?.location, metadata, ndjson: readFileSync(file, 'utf8'), file });
          const job = new FakeJob(`load_${this.loads.length}`, this.loadScript);
          this.jobs.push(job);
          return [job, {}] as const;
        },
      }),
    };
  }
}

/** A clock whose sleeps advance time instantly: deadlines are exercised without waiting. */
function fakeClock(): BigqueryClock & { slept: number } {
  const clock = {
    t: 0,
    slept: 0,
    now: () => clock.t,
    sleep: async (ms: number) => {
      clock.t += ms;
      clock.slept += ms;
    },
  };
  return clock;
}

function config(overrides: Partial<BigqueryConfig> = {}): BigqueryConfig {
  return bigqueryConfigSchema.parse({ type: 'bigquery', project: 'acme-prod', dataset: 'analytics', location: 'EU', ...overrides });
}

function setup(overrides: Partial<BigqueryConfig> = {}) {
  const fake = new FakeBigquery();
  const clock = fakeClock();
  const warehouse = createBigqueryWarehouse(fake, config(overrides), { clock });
  return { fake, clock, warehouse };
}

const f = (...values: unknown[]): RawRow => ({ f: values.map((v) => ({ v })) });

async function collect(iterable: AsyncIterable<Row[]>): Promise<Row[][]> {
  const out: Row[][] = [];
  for await (const batch of iterable) out.push(batch);
  return out;
}

async function* batchesOf(...batches: Row[][]): AsyncIterable<Row[]> {
  for (const b of batches) yield b;
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

// ---------------------------------------------------------------------------------------

describe('BigqueryDialect: golden SQL', () => {
  const d = new BigqueryDialect();

  test('quoting and qualifying use backticks with backslash escapes', () => {
    expect(d.quoteIdent('customers')).toBe('`customers`');
    expect(d.quoteIdent('we`ird\\name')).toBe('`we\\`ird\\\\name`');
    expect(d.qualify({ schema: 'analytics', name: 'customers' })).toBe('`analytics`.`customers`');
    expect(d.qualify({ name: 'customers' })).toBe('`customers`');
  });

  test('literals: GoogleSQL escapes quotes with a backslash, timestamps carry an explicit UTC offset', () => {
    expect(d.literal("O'Brien \\ co\nnext")).toBe("'O\\'Brien \\\\ co\\nnext'");
    expect(d.literal(null)).toBe('NULL');
    expect(d.literal(42)).toBe('42');
    expect(d.literal(true)).toBe('TRUE');
    expect(d.literal(new Date('2024-01-02T03:04:05.678Z'))).toBe("TIMESTAMP '2024-01-02 03:04:05.678+00:00'");
  });

  test('hash is hex MD5 of the |-joined text with NULL as empty', () => {
    expect(d.hash(['email', 'first_name'])).toBe(
      "TO_HEX(MD5(CONCAT(COALESCE(CAST(email AS STRING), ''), '|', COALESCE(CAST(first_name AS STRING), ''))))",
    );
    expect(d.hash(['email'])).toBe("TO_HEX(MD5(COALESCE(CAST(email AS STRING), '')))");
  });

  test('dateAdd uses TIMESTAMP_ADD up to days and DATETIME_ADD for calendar units', () => {
    expect(d.dateAdd('day', -30, 'CURRENT_TIMESTAMP()')).toBe('TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL (-30) DAY)');
    expect(d.dateAdd('hour', 'n', 'ts')).toBe('TIMESTAMP_ADD(ts, INTERVAL (n) HOUR)');
    expect(d.dateAdd('week', 2, 'ts')).toBe('TIMESTAMP_ADD(ts, INTERVAL ((2) * 7) DAY)');
    expect(d.dateAdd('month', 1, 'ts')).toBe('TIMESTAMP(DATETIME_ADD(DATETIME(ts), INTERVAL (1) MONTH))');
    expect(d.dateAdd('year', -1, 'ts')).toBe('TIMESTAMP(DATETIME_ADD(DATETIME(ts), INTERVAL (-1) YEAR))');
    expect(d.daysAgo(7)).toBe('TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL (-7) DAY)');
  });

  test('dateDiff of calendar units counts whole months: boundary count, one back when start + count overshoots end', () => {
    const crossed = 'DATETIME_DIFF(DATETIME(CAST(b AS TIMESTAMP)), DATETIME(CAST(a AS TIMESTAMP)), MONTH)';
    const shifted = `DATETIME_ADD(DATETIME(CAST(a AS TIMESTAMP)), INTERVAL ${crossed} MONTH)`;
    const end = 'DATETIME(CAST(b AS TIMESTAMP))';
    expect(d.dateDiff('month', 'a', 'b')).toBe(
      `(CASE WHEN ${crossed} > 0 AND ${shifted} > ${end} THEN ${crossed} - 1 WHEN ${crossed} < 0 AND ${shifted} < ${end} THEN ${crossed} + 1 ELSE ${crossed} END)`,
    );
    expect(d.dateDiff('year', 'a', 'b')).toBe(d.dateDiff('month', 'a', 'b').replace(/MONTH/g, 'YEAR'));
  });

  test('merge is one native MERGE statement', () => {
    const sql = d.merge({
      target: { schema: 'analytics', name: 'customers' },
      source: { schema: 'analytics', name: 'customers__cdp_tmp' },
      uniqueKey: ['id'],
      columns: ['id', 'email', 'tier'],
    });
    expect(sql).toEqual([
      [
        'MERGE INTO `analytics`.`customers` AS t',
        'USING `analytics`.`customers__cdp_tmp` AS s',
        'ON t.`id` = s.`id`',
        'WHEN MATCHED THEN UPDATE SET `email` = s.`email`, `tier` = s.`tier`',
        'WHEN NOT MATCHED THEN INSERT (`id`, `email`, `tier`) VALUES (s.`id`, s.`email`, s.`tier`)',
      ].join('\n'),
    ]);
  });

  test('merge on a key-only table has no UPDATE clause', () => {
    const [sql] = d.merge({ target: { name: 'k' }, source: { name: 'k_new' }, uniqueKey: ['a', 'b'], columns: ['a', 'b'] });
    expect(sql).toBe(
      'MERGE INTO `k` AS t\nUSING `k_new` AS s\nON t.`a` = s.`a` AND t.`b` = s.`b`\nWHEN NOT MATCHED THEN INSERT (`a`, `b`) VALUES (s.`a`, s.`b`)',
    );
  });

  test('every other method', () => {
    const ref = { schema: 'analytics', name: 'orders' };
    expect({
      name: d.name,
      capabilities: d.capabilities,
      types: (['string', 'integer', 'float', 'boolean', 'timestamp', 'date', 'json'] as const).map((t) => d.typeName(t)),
      dateDiff: (['second', 'day', 'week'] as const).map((u) => d.dateDiff(u, 'a', 'b')),
      now: d.now(),
      normalizeString: d.normalizeString('email'),
      castInt: d.cast('x', 'integer'),
      castJson: d.cast('payload', 'json'),
      toTimestamp: d.toTimestamp("'2024-01-02T03:04:05Z'"),
      createSchema: d.createSchemaIfNotExists('analytics'),
      createTableAs: d.createTableAs(ref, 'SELECT 1 AS x'),
      createOrReplace: d.createOrReplaceTableAs(ref, 'SELECT 1 AS x'),
      createView: d.createView(ref, 'SELECT 1 AS x'),
      createTable: d.createTable(ref, [
        { name: 'id', type: 'integer' },
        { name: 'seen_at', type: 'timestamp' },
      ]),
      dropTable: d.dropTableIfExists(ref),
      dropView: d.dropViewIfExists(ref),
      rename: d.renameTable({ schema: 'analytics', name: 'orders__cdp_tmp' }, 'orders'),
      relationKind: d.relationKindSql(ref),
      columns: d.columnsSql(ref),
    }).toEqual({
      name: 'bigquery',
      capabilities: { transactionalDdl: false, createOrReplaceTable: true, merge: true },
      types: ['STRING', 'INT64', 'FLOAT64', 'BOOL', 'TIMESTAMP', 'DATE', 'JSON'],
      dateDiff: [
        'TIMESTAMP_DIFF(CAST(b AS TIMESTAMP), CAST(a AS TIMESTAMP), SECOND)',
        'TIMESTAMP_DIFF(CAST(b AS TIMESTAMP), CAST(a AS TIMESTAMP), DAY)',
        'CAST(TRUNC(TIMESTAMP_DIFF(CAST(b AS TIMESTAMP), CAST(a AS TIMESTAMP), DAY) / 7) AS INT64)',
      ],
      now: 'CURRENT_TIMESTAMP()',
      normalizeString: "NULLIF(lower(trim(email)), '')",
      castInt: 'CAST(x AS INT64)',
      castJson: 'PARSE_JSON(payload)',
      toTimestamp: "CAST('2024-01-02T03:04:05Z' AS TIMESTAMP)",
      createSchema: 'CREATE SCHEMA IF NOT EXISTS `analytics`',
      createTableAs: 'CREATE TABLE `analytics`.`orders` AS\nSELECT 1 AS x',
      createOrReplace: 'CREATE OR REPLACE TABLE `analytics`.`orders` AS\nSELECT 1 AS x',
      createView: 'CREATE VIEW `analytics`.`orders` AS\nSELECT 1 AS x',
      createTable: 'CREATE TABLE `analytics`.`orders` (`id` INT64, `seen_at` TIMESTAMP)',
      dropTable: 'DROP TABLE IF EXISTS `analytics`.`orders`',
      dropView: 'DROP VIEW IF EXISTS `analytics`.`orders`',
      rename: 'ALTER TABLE `analytics`.`orders__cdp_tmp` RENAME TO `orders`',
      relationKind:
        "SELECT CASE WHEN table_type = 'VIEW' THEN 'view' ELSE 'table' END AS kind FROM `analytics`.INFORMATION_SCHEMA.TABLES WHERE table_name = 'orders'",
      columns: "SELECT column_name, data_type FROM `analytics`.INFORMATION_SCHEMA.COLUMNS WHERE table_name = 'orders' ORDER BY ordinal_position",
    });
  });

  test('introspection: region-level views filtered by dataset when the location is known', () => {
    const located = new BigqueryDialect({ defaultDataset: 'analytics', location: 'EU' });
    expect(located.relationKindSql({ name: 'orders' })).toBe(
      "SELECT CASE WHEN table_type = 'VIEW' THEN 'view' ELSE 'table' END AS kind FROM `region-eu`.INFORMATION_SCHEMA.TABLES " +
        "WHERE table_schema = 'analytics' AND table_name = 'orders'",
    );
    expect(located.columnsSql({ schema: 'staging', name: 'orders' })).toBe(
      "SELECT column_name, data_type FROM `region-eu`.INFORMATION_SCHEMA.COLUMNS WHERE table_schema = 'staging' AND table_name = 'orders' ORDER BY ordinal_position",
    );
    // No dataset known at all: the job's default dataset resolves it.
    expect(d.columnsSql({ name: 'orders' })).toBe("SELECT column_name, data_type FROM INFORMATION_SCHEMA.COLUMNS WHERE table_name = 'orders' ORDER BY ordinal_position");
  });

  test('executeAll scripts: DML in a transaction that rolls back and re-raises; DDL as a plain script', () => {
    expect(bigqueryScript(['DELETE FROM t WHERE id = 1;', 'INSERT INTO t SELECT * FROM s'])).toBe(
      [
        'BEGIN',
        '  BEGIN TRANSACTION;',
        '  DELETE FROM t WHERE id = 1;',
        '  INSERT INTO t SELECT * FROM s;',
        '  COMMIT TRANSACTION;',
        'EXCEPTION WHEN ERROR THEN',
        '  ROLLBACK TRANSACTION;',
        '  RAISE USING MESSAGE = @@error.message;',
        'END;',
      ].join('\n'),
    );
    expect(bigqueryScript(['DROP VIEW IF EXISTS `v`', 'CREATE VIEW `v` AS\nSELECT 1'])).toBe('DROP VIEW IF EXISTS `v`;\nCREATE VIEW `v` AS\nSELECT 1;');
  });
});

// ---------------------------------------------------------------------------------------

describe('BigQuery adapter with the SDK stubbed', () => {
  const fields: TableField[] = [
    { name: 'ID', type: 'INTEGER' },
    { name: 'Big', type: 'INTEGER' },
    { name: 'email', type: 'STRING' },
    { name: 'amount', type: 'NUMERIC' },
    { name: 'ratio', type: 'FLOAT' },
    { name: 'active', type: 'BOOLEAN' },
    { name: 'seen_at', type: 'TIMESTAMP' },
    { name: 'born_on', type: 'DATE' },
    { name: 'local_at', type: 'DATETIME' },
    { name: 'payload', type: 'JSON' },
    { name: 'tags', type: 'STRING', mode: 'REPEATED' },
    { name: 'missing', type: 'STRING' },
  ];
  // Raw REST values as the API sends them (TIMESTAMP as int64 microseconds).
  const rawRow = f(
    '42',
    '9007199254740993',
    'ann@example.com',
    '12.50',
    '0.25',
    'true',
    '1704164645123456',
    '1990-05-17',
    '2024-01-02T03:04:05',
    '{"a":1}',
    [{ v: 'x' }, { v: 'y' }],
    null,
  );

  test('query normalises SDK values to the value contract and folds column names', async () => {
    const { fake, warehouse } = setup();
    fake.next = () => ({ fields, rows: [rawRow] });
    const rows = await warehouse.query('SELECT …');
    expect(rows).toEqual([
      {
        id: 42,
        big: '9007199254740993', // beyond 2^53: text, never a rounded number
        email: 'ann@example.com',
        amount: 12.5,
        ratio: 0.25,
        active: true,
        seen_at: new Date('2024-01-02T03:04:05.123Z'),
        born_on: '1990-05-17',
        local_at: new Date('2024-01-02T03:04:05Z'),
        payload: '{"a":1}',
        tags: '["x","y"]',
        missing: null,
      },
    ]);
  });

  test('query jobs carry the timeout, location, byte cap, labels and default dataset', async () => {
    const { fake, warehouse } = setup({ maximum_bytes_billed: '1000000000', job_timeout_ms: 60_000 });
    await warehouse.execute('DELETE FROM `analytics`.`t` WHERE TRUE');
    expect(fake.requests[0]).toEqual({
      query: 'DELETE FROM `analytics`.`t` WHERE TRUE',
      useLegacySql: false,
      location: 'EU',
      jobTimeoutMs: 60_000,
      maximumBytesBilled: '1000000000',
      labels: { tool: 'warehouse-cdp' },
      defaultDataset: { projectId: 'acme-prod', datasetId: 'analytics' },
      jobPrefix: 'cdp_',
    });
  });

  test('query follows every page', async () => {
    const { fake, warehouse } = setup();
    const many = Array.from({ length: 25_001 }, (_, i) => f(String(i)));
    fake.next = () => ({ fields: [{ name: 'n', type: 'INTEGER' }], rows: many });
    const rows = await warehouse.query<{ n: number }>('SELECT n');
    expect(rows).toHaveLength(25_001);
    expect(rows[25_000].n).toBe(25_000);
    expect(fake.jobs[0].pagesServed).toBe(3);
  });

  test('stream yields batches of batchRows and fetches a page only when the previous one was consumed', async () => {
    const { fake, warehouse } = setup();
    fake.next = () => ({ fields: [{ name: 'n', type: 'INTEGER' }], rows: Array.from({ length: 25 }, (_, i) => f(String(i))) });
    const iterator = warehouse.stream('SELECT n', 10)[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.value).toEqual(Array.from({ length: 10 }, (_, n) => ({ n })));
    // Bounded memory: only the first page has been read so far.
    expect(fake.jobs[0].pagesServed).toBe(1);
    const rest: Row[][] = [];
    for (let r = await iterator.next(); !r.done; r = await iterator.next()) rest.push(r.value);
    expect(rest.map((b) => b.length)).toEqual([10, 5]);
    expect(rest[1][4]).toEqual({ n: 24 });
    expect(fake.jobs[0].pagesServed).toBe(3);
  });

  test('stream of an empty result yields nothing', async () => {
    const { fake, warehouse } = setup();
    fake.next = () => ({ fields: [{ name: 'n', type: 'INTEGER' }], rows: [] });
    expect(await collect(warehouse.stream('SELECT n FROM empty', 10))).toEqual([]);
  });

  test('a job that outlives job_timeout_ms is cancelled and the error says so', async () => {
    const { fake, clock, warehouse } = setup({ job_timeout_ms: 5_000 });
    fake.next = () => ({ pollsUntilDone: Infinity });
    const error = await caught(warehouse.query('SELECT slow()'));
    expect(error.code).toBe('WAREHOUSE');
    expect(error.message).toBe("query job 'job_1' did not finish within 5000 ms and was cancelled");
    expect(error.hint).toMatch(/job_timeout_ms/);
    expect(fake.jobs[0].cancelled).toBe(true);
    // It gave up at the deadline, not before and not long after.
    expect(clock.now()).toBe(5_000);
  });

  test('a timeout whose cancel fails says that too', async () => {
    const { fake, warehouse } = setup({ job_timeout_ms: 1_000 });
    fake.next = () => ({ pollsUntilDone: Infinity, cancelFails: true });
    const error = await caught(warehouse.execute('SELECT slow()'));
    expect(error.message).toMatch(/did not finish within 1000 ms and cancelling it failed \(cancel refused\)/);
    expect(fake.jobs[0].cancelled).toBe(false);
  });

  test('a job that finishes after a few polls succeeds', async () => {
    const { fake, warehouse } = setup();
    fake.next = () => ({ pollsUntilDone: 4, fields: [{ name: 'ok', type: 'BOOLEAN' }], rows: [f('true')] });
    expect(await warehouse.query('SELECT TRUE AS ok')).toEqual([{ ok: true }]);
    expect(fake.jobs[0].polls).toBe(4);
  });

  test('a failed job becomes a WAREHOUSE error with a not-found hint', async () => {
    const { fake, warehouse } = setup();
    fake.next = () => ({ errorResult: { reason: 'notFound', message: 'Not found: Table acme-prod:analytics.missing was not found in location EU' } });
    const error = await caught(warehouse.query('SELECT * FROM `analytics`.`missing`'));
    expect(error.code).toBe('WAREHOUSE');
    expect(error.where).toBe('warehouse bigquery');
    expect(error.message).toBe("query job 'job_1' failed: Not found: Table acme-prod:analytics.missing was not found in location EU");
    expect(error.hint).toMatch(/dataset/);
    expect(error.cause).toEqual({ reason: 'notFound', message: expect.any(String) });
  });

  test('an auth failure from the API gets a credentials hint and keeps its cause', async () => {
    const { fake, warehouse } = setup();
    const apiError = Object.assign(new Error('Access Denied: Project acme-prod: User does not have bigquery.jobs.create permission'), {
      code: 403,
      errors: [{ reason: 'accessDenied', message: 'Access Denied' }],
    });
    fake.createError = apiError;
    const error = await caught(warehouse.check());
    expect(error.code).toBe('WAREHOUSE');
    expect(error.message).toMatch(/^starting a query job failed: Access Denied/);
    expect(error.hint).toMatch(/key_file \/ credentials_json/);
    expect(error.hint).toMatch(/BigQuery Job User/);
    expect(error.cause).toBe(apiError);
  });

  test('a network failure points at network access', async () => {
    const { fake, warehouse } = setup();
    fake.createError = new Error('request to https://bigquery.googleapis.com/bigquery/v2/projects/acme-prod/jobs failed, reason: getaddrinfo ENOTFOUND bigquery.googleapis.com');
    const error = await caught(warehouse.execute('SELECT 1'));
    expect(error.code).toBe('WAREHOUSE');
    expect(error.hint).toMatch(/network access to bigquery.googleapis.com/);
  });

  test('an invalid query names the SQL in its hint; a byte-cap failure points at maximum_bytes_billed', async () => {
    const { fake, warehouse } = setup();
    fake.next = (req) =>
      req.query?.startsWith('SELEC ')
        ? { errorResult: { reason: 'invalidQuery', message: 'Syntax error: Unexpected identifier "SELEC" at [1:1]' } }
        : { errorResult: { reason: 'bytesBilledLimitExceeded', message: 'Query exceeded limit for bytes billed: 1000.' } };
    const invalid = await caught(warehouse.execute('SELEC 1'));
    expect(invalid.hint).toMatch(/not valid GoogleSQL: SELEC 1/);
    const capped = await caught(warehouse.execute('SELECT * FROM big'));
    expect(capped.hint).toMatch(/maximum_bytes_billed/);
  });

  test('executeAll sends one script job', async () => {
    const { fake, warehouse } = setup();
    await warehouse.executeAll(['DELETE FROM t WHERE k = 1', 'INSERT INTO t VALUES (1)']);
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0].query).toBe(bigqueryScript(['DELETE FROM t WHERE k = 1', 'INSERT INTO t VALUES (1)']));
    await warehouse.executeAll([]);
    expect(fake.requests).toHaveLength(1);
  });

  test('load writes NDJSON whose parsed rows are the input, runs one load job and removes the file', async () => {
    const { fake, warehouse } = setup();
    fake.loadScript = { pollsUntilDone: 2, outputRows: '3' };
    const columns = [
      { name: 'id', type: 'integer' as const },
      { name: 'email', type: 'string' as const },
      { name: 'score', type: 'float' as const },
      { name: 'vip', type: 'boolean' as const },
      { name: 'seen_at', type: 'timestamp' as const },
      { name: 'born_on', type: 'date' as const },
      { name: 'traits', type: 'json' as const },
    ];
    const written = await warehouse.load(
      { schema: 'cdp_state', name: 'sync_state' },
      columns,
      batchesOf(
        [
          { id: 1, email: 'a@x.io', score: 1.5, vip: true, seen_at: new Date('2024-01-02T03:04:05.006Z'), born_on: '1990-05-17', traits: '{"plan":"pro"}' },
          { id: '9007199254740993', email: "o'neil\n", score: null, vip: false, seen_at: '2024-01-02 03:04:05', born_on: null, traits: null },
        ],
        [],
        [{ id: 3, email: null, score: 0, vip: null, seen_at: null, born_on: '2000-01-01', traits: '[1,2]' }],
      ),
    );
    expect(written).toBe(3);
    expect(fake.loads).toHaveLength(1);
    const load = fake.loads[0];
    expect({ dataset: load.dataset, table: load.table, location: load.location }).toEqual({ dataset: 'cdp_state', table: 'sync_state', location: 'EU' });
    expect(load.metadata).toMatchObject({ sourceFormat: 'NEWLINE_DELIMITED_JSON', writeDisposition: 'WRITE_APPEND', createDisposition: 'CREATE_NEVER' });
    const parsed = load.ndjson.trimEnd().split('\n').map((line) => JSON.parse(line) as unknown);
    expect(parsed).toEqual([
      { id: 1, email: 'a@x.io', score: 1.5, vip: true, seen_at: '2024-01-02 03:04:05.006+00:00', born_on: '1990-05-17', traits: { plan: 'pro' } },
      { id: '9007199254740993', email: "o'neil\n", score: null, vip: false, seen_at: '2024-01-02 03:04:05.000+00:00', born_on: null, traits: null },
      { id: 3, email: null, score: 0, vip: null, seen_at: null, born_on: '2000-01-01', traits: [1, 2] },
    ]);
    expect(existsSync(load.file)).toBe(false);
    expect(existsSync(path.dirname(load.file))).toBe(false);
  });

  test('load of no rows runs no job', async () => {
    const { fake, warehouse } = setup();
    expect(await warehouse.load({ name: 't' }, [{ name: 'a', type: 'string' }], batchesOf([], []))).toBe(0);
    expect(fake.loads).toHaveLength(0);
  });

  test('a failed load job is a WAREHOUSE error and still removes the file', async () => {
    const { fake, warehouse } = setup();
    fake.loadScript = { errorResult: { reason: 'invalid', message: 'Error while reading data, error message: JSON parsing error in row starting at position 0' } };
    const error = await caught(warehouse.load({ name: 't' }, [{ name: 'a', type: 'string' }], batchesOf([{ a: 'x' }])));
    expect(error.code).toBe('WAREHOUSE');
    expect(error.message).toMatch(/^load job into acme-prod\.analytics\.t 'load_1' failed: Error while reading data/);
    expect(existsSync(fake.loads[0].file)).toBe(false);
  });

  test('a value that does not fit its column fails the load before any job', async () => {
    const { fake, warehouse } = setup();
    const error = await caught(warehouse.load({ name: 't' }, [{ name: 'n', type: 'integer' }], batchesOf([{ n: 'twelve' }])));
    expect(error.code).toBe('WAREHOUSE');
    expect(error.message).toMatch(/cannot read twelve as an integer/);
    expect(fake.loads).toHaveLength(0);
  });
});

describe('bigqueryValueToScalar on SDK value types', () => {
  test.each([
    ['BigQueryTimestamp', new BigQueryTimestamp('2024-01-02T03:04:05.123456Z'), new Date('2024-01-02T03:04:05.123Z')],
    ['BigQueryDate', new BigQueryDate('2024-02-29'), '2024-02-29'],
    ['BigQueryDatetime', new BigQueryDatetime('2024-01-02 03:04:05.5'), new Date('2024-01-02T03:04:05.500Z')],
    ['BigQueryTime', new BigQueryTime('12:30:00'), '12:30:00'],
    ['Geography', new Geography('POINT(1 2)'), 'POINT(1 2)'],
    ['BigQueryInt (safe)', BigQuery.int('123'), 123],
    ['BigQueryInt (unsafe)', BigQuery.int('-9223372036854775808'), '-9223372036854775808'],
    ['bigint', 12n, 12],
    ['Buffer', Buffer.from([0xde, 0xad]), 'dead'],
    ['struct with wrappers', { at: new BigQueryDate('2024-01-01'), n: 1 }, '{"at":"2024-01-01","n":1}'],
    ['undefined', undefined, null],
  ])('%s', (_name, input, expected) => {
    expect(bigqueryValueToScalar(input)).toEqual(expected);
  });

  test('NUMERIC values (big.js from the SDK) become numbers', () => {
    const [row] = BigQuery.mergeSchemaWithRows_({ fields: [{ name: 'x', type: 'BIGNUMERIC' }] }, [f('-1234.5678')], { wrapIntegers: false });
    expect(bigqueryValueToScalar((row as Record<string, unknown>).x)).toBe(-1234.5678);
  });
});

describe('connectBigquery', () => {
  test('builds a client from a key file path relative to the project, without network', async () => {
    const warehouse = await connectBigquery(config({ key_file: 'keys/sa.json' }), '/tmp/project');
    expect(warehouse.dialect.name).toBe('bigquery');
    expect(warehouse.defaultSchema).toBe('analytics');
    await warehouse.close();
  });

  test('rejects credentials_json that is not JSON as a config error, without echoing the secret', async () => {
    const error = await caught(connectBigquery(config({ credentials_json: 'not-json-SECRET' }), '/tmp'));
    expect(error.code).toBe('CONFIG');
    expect(error.toLine()).not.toContain('SECRET');
  });

  test('rejects credentials_json without a private key', async () => {
    const error = await caught(connectBigquery(config({ credentials_json: JSON.stringify({ client_email: 'a@b.iam.gserviceaccount.com' }) }), '/tmp'));
    expect(error.code).toBe('CONFIG');
    expect(error.message).toMatch(/private_key/);
  });
});

// ---------------------------------------------------------------------------------------
// Live: only with credentials. Tests read the environment; the adapter never does.

const liveProject = process.env.BIGQUERY_TEST_PROJECT;
if (liveProject) {
  // Each test gets its own dataset, dropped afterwards.
  describeWarehouseConformance(
    'bigquery',
    async () => {
      const dataset = `cdp_test_${randomBytes(4).toString('hex')}`;
      const warehouse = await connectBigquery(
        bigqueryConfigSchema.parse({
          type: 'bigquery',
          project: liveProject,
          dataset,
          location: process.env.BIGQUERY_TEST_LOCATION ?? 'US',
          key_file: process.env.GOOGLE_APPLICATION_CREDENTIALS,
          job_timeout_ms: 5 * 60 * 1000,
        }),
        process.cwd(),
      );
      await warehouse.execute(warehouse.dialect.createSchemaIfNotExists(dataset));
      return {
        warehouse,
        schema: dataset,
        cleanup: async () => {
          await warehouse.execute(`DROP SCHEMA IF EXISTS ${warehouse.dialect.quoteIdent(dataset)} CASCADE`);
          await warehouse.close();
        },
      };
    },
    { seriesSql: (count) => `SELECT n FROM UNNEST(GENERATE_ARRAY(1, ${count})) AS n`, awkwardIdentifiers: false },
  );
} else {
  describe.skip('live BigQuery (skipped: BIGQUERY_TEST_PROJECT not set)', () => {
    test('warehouse conformance suite against a real BigQuery project', () => {
      // Never runs: registered so the report counts the live suite as skipped.
    });
  });
}
