/**
 * DuckDB adapter: the shared conformance suite on a real DuckDB file, plus what is special to
 * DuckDB — one instance shared by concurrent callers, the file's folder created on demand,
 * data persisting across connections, and streaming that does not materialise the result.
 */
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CdpError } from '../../src/errors';
import { connectDuckdb } from '../../src/warehouse/duckdb/duckdb-warehouse';
import type { Row } from '../../src/warehouse/types';
import { openTestWarehouse } from '../helpers/test-warehouses';
import { describeWarehouseConformance } from './conformance';

describeWarehouseConformance('duckdb', () => openTestWarehouse('duckdb'));

describe('duckdb adapter specifics', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cdp-duckdb-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the folder of a relative path under the project and keeps data across connections', async () => {
    const config = { type: 'duckdb' as const, path: 'nested/deeper/wh.duckdb', schema: 'main', threads: 2, memory_limit: '512MB' };
    const first = await connectDuckdb(config, dir);
    expect(existsSync(join(dir, 'nested/deeper/wh.duckdb'))).toBe(true);
    expect(await first.query(`SELECT current_setting('threads') AS t`)).toEqual([{ t: 2 }]);
    await first.execute('CREATE TABLE kept AS SELECT 42 AS answer');
    await first.close();
    const second = await connectDuckdb(config, dir);
    expect(await second.query('SELECT answer FROM kept')).toEqual([{ answer: 42 }]);
    await second.close();
  });

  it("runs in memory with path ':memory:'", async () => {
    const wh = await connectDuckdb({ type: 'duckdb', path: ':memory:', schema: 'main' }, dir);
    expect(await wh.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    await wh.close();
  });

  it('8 parallel queries and a long stream interleaved with queries all succeed on one warehouse', async () => {
    const wh = await connectDuckdb({ type: 'duckdb', path: 'wh.duckdb', schema: 'main' }, dir);
    try {
      await wh.execute('CREATE TABLE numbers AS SELECT range AS n FROM range(200000)');
      const sums = await Promise.all(
        Array.from({ length: 8 }, (_, i) => wh.query<{ s: number }>(`SELECT SUM(n) AS s FROM numbers WHERE n % 8 = ${i}`)),
      );
      const total = sums.reduce((acc, [row]) => acc + row.s, 0);
      expect(total).toBe((199999 * 200000) / 2);

      // A sync reads a diff as a stream and writes state while reading: nested use of the pool.
      let streamed = 0;
      for await (const batch of wh.stream('SELECT n FROM numbers ORDER BY n', 5000)) {
        streamed += batch.length;
        const [row] = await wh.query<{ c: number }>(`SELECT COUNT(*) AS c FROM numbers WHERE n < ${streamed}`);
        expect(row.c).toBe(streamed);
      }
      expect(streamed).toBe(200000);

      // Concurrent transactions on separate tables do not step on each other.
      await Promise.all(
        Array.from({ length: 6 }, (_, i) => wh.executeAll([`CREATE TABLE t${i} (n INTEGER)`, `INSERT INTO t${i} VALUES (${i})`])),
      );
      const rows = await wh.query(Array.from({ length: 6 }, (_, i) => `SELECT n FROM t${i}`).join(' UNION ALL ') + ' ORDER BY n');
      expect(rows.map((r) => r.n)).toEqual([0, 1, 2, 3, 4, 5]);
    } finally {
      await wh.close();
    }
  });

  it('parallel transactions touching the same schema succeed (conflicts are retried, not surfaced)', async () => {
    // Without the retry most of these fail with "Catalog write-write conflict on create".
    const wh = await connectDuckdb({ type: 'duckdb', path: 'wh.duckdb', schema: 'main' }, dir);
    try {
      await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          wh.executeAll([wh.dialect.createSchemaIfNotExists('shared'), `CREATE TABLE shared.t${i} AS SELECT ${i} AS n`]),
        ),
      );
      await Promise.all(Array.from({ length: 8 }, () => wh.execute(wh.dialect.createSchemaIfNotExists('other'))));
      const rows = await wh.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'shared' ORDER BY table_name`);
      expect(rows.map((r) => r.table_name)).toEqual(Array.from({ length: 8 }, (_, i) => `t${i}`));
    } finally {
      await wh.close();
    }
  });

  it('a failure late in a large result rejects the stream; it never ends early as if complete', async () => {
    // DuckDB's own streaming fetch reports such a failure as a normal end of the result.
    const wh = await connectDuckdb({ type: 'duckdb', path: ':memory:', schema: 'main', threads: 1 }, dir);
    try {
      const sql = `SELECT CASE WHEN range < 499999 THEN range ELSE error('boom at the last row') END AS n FROM range(500000)`;
      let received = 0;
      const consume = async () => {
        for await (const batch of wh.stream(sql, 10_000)) received += batch.length;
      };
      await expect(consume()).rejects.toMatchObject({ code: 'WAREHOUSE', message: expect.stringContaining('boom at the last row') });
      expect(received).toBe(0);
    } finally {
      await wh.close();
    }
  });

  it('streams 500k rows in batches no larger than batchRows, leaving no temp table behind', async () => {
    const wh = await connectDuckdb({ type: 'duckdb', path: 'wh.duckdb', schema: 'main' }, dir);
    try {
      let total = 0;
      let batches = 0;
      let maxBatch = 0;
      let sum = 0;
      for await (const batch of wh.stream('SELECT range AS n FROM range(500000) ORDER BY n', 10_000)) {
        total += batch.length;
        batches++;
        maxBatch = Math.max(maxBatch, batch.length);
        for (const row of batch) sum += row.n as number;
      }
      expect(total).toBe(500_000);
      expect(batches).toBe(50);
      expect(maxBatch).toBe(10_000);
      expect(sum).toBe((499_999 * 500_000) / 2);
      expect(await wh.query(`SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'cdp_stream%'`)).toEqual([]);
    } finally {
      await wh.close();
    }
  });

  it('a streamed ORDER BY keeps its order although the COPY runs without insertion order, and the setting does not leak into the pool', async () => {
    const wh = await connectDuckdb({ type: 'duckdb', path: 'wh.duckdb', schema: 'main', threads: 4 }, dir);
    try {
      // A table of many row groups, so DuckDB's threads really split the scan.
      await wh.execute('CREATE TABLE shuffled AS SELECT range AS n, hash(range) % 1000003 AS k FROM range(600000)');
      let previous: [number, number] = [-1, -1];
      let outOfOrder = 0;
      let total = 0;
      for await (const batch of wh.stream('SELECT k, n FROM shuffled ORDER BY k, n', 5000)) {
        for (const row of batch) {
          const current: [number, number] = [Number(row.k), Number(row.n)];
          if (current[0] < previous[0] || (current[0] === previous[0] && current[1] < previous[1])) outOfOrder++;
          previous = current;
          total++;
        }
      }
      expect(total).toBe(600_000);
      expect(outOfOrder).toBe(0);
      // Every pooled connection (the stream's among them) still preserves insertion order.
      const settings = await Promise.all(Array.from({ length: 4 }, () => wh.query<{ v: boolean }>("SELECT current_setting('preserve_insertion_order') AS v")));
      expect(settings.map((rows) => rows[0]!.v)).toEqual([true, true, true, true]);
    } finally {
      await wh.close();
    }
  });

  it('reads DuckDB-only types into the contract: HUGEINT, TIMESTAMPTZ, lists, structs, intervals', async () => {
    const wh = await connectDuckdb({ type: 'duckdb', path: ':memory:', schema: 'main' }, dir);
    try {
      const [row] = await wh.query(
        `SELECT 170141183460469231731687303715884105727::HUGEINT AS huge, 12::HUGEINT AS small, ` +
          `TIMESTAMPTZ '2024-01-02 03:04:05.123+02' AS tz, [1, 2] AS list, {'a': 1} AS obj, INTERVAL 1 DAY AS iv, ` +
          `'infinity'::TIMESTAMP AS inf, TIMESTAMP '1969-12-31 23:59:59.9995' AS before_epoch, 1.5::FLOAT AS fl`,
      );
      const expected: Row = {
        huge: '170141183460469231731687303715884105727',
        small: 12,
        tz: new Date('2024-01-02T01:04:05.123Z'),
        list: '[1,2]',
        obj: '{"a":1}',
        iv: expect.any(String) as unknown as string,
        inf: 'infinity',
        before_epoch: new Date('1969-12-31T23:59:59.999Z'),
        fl: 1.5,
      };
      expect(row).toEqual(expected);
    } finally {
      await wh.close();
    }
  });

  it('stream returns exactly what query returns for every scalar type, edge values included (the JSON file path)', async () => {
    const wh = await connectDuckdb({ type: 'duckdb', path: ':memory:', schema: 'main' }, dir);
    try {
      await wh.execute(`CREATE TYPE mood AS ENUM ('sad', 'ok')`);
      const sql =
        `SELECT * FROM (VALUES ` +
        `(1, true, 7::TINYINT, 42::UINTEGER, 9007199254740991::BIGINT, 9007199254740993::BIGINT, -9007199254740993::HUGEINT, 18446744073709551615::UBIGINT, ` +
        `1.5::FLOAT, 0.1::FLOAT, 'nan'::DOUBLE, 'inf'::DOUBLE, '-inf'::DOUBLE, -0.0::DOUBLE, 12.345::DECIMAL(18,3), ` +
        `TIMESTAMP '1969-12-31 23:59:59.9995', TIMESTAMPTZ '2024-01-02 03:04:05.123+02', TIMESTAMP_NS '2024-01-02 03:04:05.123456789', 'infinity'::TIMESTAMP, ` +
        `DATE '2024-02-29', DATE '0044-03-15 (BC)', '-infinity'::DATE, 'it''s "q" \\ ' || chr(10) || chr(1) || ' Zoë 🚀', '{"a":[1,2]}'::JSON, 'ok'::mood, '00000000-0000-0000-0000-000000000001'::UUID, NULL), ` +
        `(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)` +
        `) AS v(id, "Flag", ti, ui, safe_big, big, huge, ubig, fl, fl2, nan, pinf, ninf, negzero, dec, ts_before, tstz, tsns, ts_inf, d, d_bc, d_inf, txt, js, mood, uuid, nothing) ORDER BY id`;
      const streamed: Row[] = [];
      for await (const batch of wh.stream(sql, 1)) streamed.push(...batch);
      const queried = await wh.query(sql);
      expect(streamed).toEqual(queried);
      expect(Object.is(streamed[0].negzero, -0)).toBe(true);
      expect(streamed[0]).toMatchObject({ flag: true, big: '9007199254740993', safe_big: 9007199254740991, ubig: '18446744073709551615', ts_inf: 'infinity', d_inf: '-infinity', js: '{"a":[1,2]}', mood: 'ok' });
      expect(streamed[0].ts_before).toEqual(new Date('1969-12-31T23:59:59.999Z'));
      expect(Number.isNaN(streamed[0].nan)).toBe(true);

      // A column the JSON path does not carry (a list) takes the chunk path, same values.
      const nested = `SELECT range AS n, [range::INTEGER, 1] AS l, {'k': range::INTEGER} AS s FROM range(3000) ORDER BY n`;
      const viaStream: Row[] = [];
      for await (const batch of wh.stream(nested, 1000)) viaStream.push(...batch);
      expect(viaStream).toEqual(await wh.query(nested));
      expect(viaStream[2]).toEqual({ n: 2, l: '[2,1]', s: '{"k":2}' });
    } finally {
      await wh.close();
    }
  });

  it('duplicate column names: the later one wins, in stream as in query', async () => {
    const wh = await connectDuckdb({ type: 'duckdb', path: ':memory:', schema: 'main' }, dir);
    try {
      const sql = 'SELECT 1 AS a, 2 AS "A" -- trailing comment';
      const streamed: Row[] = [];
      for await (const batch of wh.stream(sql, 10)) streamed.push(...batch);
      expect(streamed).toEqual([{ a: 2 }]);
      expect(streamed).toEqual(await wh.query('SELECT 1 AS a, 2 AS "A"'));
    } finally {
      await wh.close();
    }
  });

  it('a file that cannot be opened fails with a CdpError naming the path', async () => {
    // A directory where the database file should be.
    const error = await connectDuckdb({ type: 'duckdb', path: '.', schema: 'main' }, dir).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CdpError);
    expect((error as CdpError).code).toBe('WAREHOUSE');
    expect((error as CdpError).message).toContain(dir);
  });
});
