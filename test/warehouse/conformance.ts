/**
 * The warehouse conformance suite (DESIGN §8.5): one set of tests every adapter runs against
 * its real engine, in one line: `describeWarehouseConformance('duckdb', factory)`.
 *
 * It checks the `Warehouse` contract (round trips, the value contract for every ColumnType,
 * bounded streaming, bulk load, atomic executeAll and load, one-line CdpErrors) and that the
 * dialect's SQL evaluates to the right values on the engine (hash, dateAdd/dateDiff for every
 * unit, normalizeString, daysAgo, cast, toTimestamp, literals, DDL, introspection, merge,
 * quoting). Each test gets a fresh warehouse and schema from `factory` and cleans up.
 */
import { createHash } from 'node:crypto';
import { CdpError } from '../../src/errors';
import type { Column, ColumnType, DateUnit, Row, Scalar, TableRef, Warehouse } from '../../src/warehouse/types';

export interface ConformanceTarget {
  warehouse: Warehouse;
  /** An empty schema of this test's own. */
  schema: string;
  cleanup: () => Promise<void>;
}

export interface ConformanceOptions {
  /** SQL yielding one integer column `n` with the values 1..count (default: generate_series). */
  seriesSql?: (count: number) => string;
  /** Rows for the streaming test (default 25 000). */
  streamRows?: number;
  /** Rows for the bulk-load test (default 50 000). */
  loadRows?: number;
  /** Whether names with spaces and quotes are legal (BigQuery allows neither). Default true. */
  awkwardIdentifiers?: boolean;
}

const UNITS: DateUnit[] = ['second', 'minute', 'hour', 'day', 'week', 'month', 'year'];

export function describeWarehouseConformance(name: string, factory: () => Promise<ConformanceTarget>, options: ConformanceOptions = {}): void {
  const seriesSql = options.seriesSql ?? ((count: number) => `SELECT n FROM generate_series(1, ${count}) AS g(n)`);
  const streamRows = options.streamRows ?? 25_000;
  const loadRows = options.loadRows ?? 50_000;

  describe(`warehouse conformance: ${name}`, () => {
    let target: ConformanceTarget;
    let wh: Warehouse;
    let schema: string;
    const ref = (table: string): TableRef => ({ schema, name: table });
    const q = (table: string) => wh.dialect.qualify(ref(table));
    const id = (column: string) => wh.dialect.quoteIdent(column);
    /** One value of a one-row, one-column query. */
    const scalar = async (expression: string): Promise<Scalar> => {
      const rows = await wh.query(`SELECT ${expression} AS v`);
      expect(rows).toHaveLength(1);
      return rows[0].v;
    };
    const kindOf = async (table: string): Promise<string | undefined> => {
      const rows = await wh.query<{ kind: string }>(wh.dialect.relationKindSql(ref(table)));
      expect(rows.length).toBeLessThanOrEqual(1);
      return rows[0]?.kind;
    };
    const ts = (iso: string) => wh.dialect.toTimestamp(wh.dialect.literal(iso));

    beforeEach(async () => {
      target = await factory();
      wh = target.warehouse;
      schema = target.schema;
      await wh.execute(wh.dialect.createSchemaIfNotExists(schema));
    });

    afterEach(async () => {
      await target.cleanup();
    });

    describe('connection and round trips', () => {
      it('check() succeeds and the dialect names this warehouse', async () => {
        await expect(wh.check()).resolves.toBeUndefined();
        expect(wh.dialect.name).toBe(name);
        expect(wh.defaultSchema.length).toBeGreaterThan(0);
      });

      it('execute writes what query reads, with lower-case column names', async () => {
        await wh.execute(`CREATE TABLE ${q('people')} (id ${wh.dialect.typeName('integer')}, name ${wh.dialect.typeName('string')})`);
        await wh.execute(`INSERT INTO ${q('people')} VALUES (1, 'ada'), (2, 'grace')`);
        const rows = await wh.query(`SELECT id AS Id, name AS Name FROM ${q('people')} ORDER BY id`);
        expect(rows).toEqual([
          { id: 1, name: 'ada' },
          { id: 2, name: 'grace' },
        ]);
      });

      it('passes SQL through byte for byte (a ? in a literal is not a bind parameter)', async () => {
        expect(await scalar(`'what? ?? $1 :x'`)).toBe('what? ?? $1 :x');
      });

      it('query of an empty result is an empty array', async () => {
        expect(await wh.query(`${seriesSql(3)} WHERE n > 5`)).toEqual([]);
      });
    });

    describe('value contract', () => {
      const columns: Column[] = [
        { name: 'id', type: 'integer' },
        { name: 's', type: 'string' },
        { name: 'i', type: 'integer' },
        { name: 'f', type: 'float' },
        { name: 'b', type: 'boolean' },
        { name: 't', type: 'timestamp' },
        { name: 'd', type: 'date' },
        { name: 'j', type: 'json' },
      ];
      const rows: Row[] = [
        { id: 1, s: 'plain', i: 42, f: 1.5, b: true, t: new Date('2024-01-02T03:04:05.678Z'), d: '2024-02-29', j: '{"a":1}' },
        { id: 2, s: null, i: null, f: null, b: null, t: null, d: null, j: null },
        { id: 3, s: `it's "quoted" \\ back\\slash, {braces}, comma`, i: '9007199254740993', f: -0.1, b: false, t: new Date('1999-12-31T23:59:59.999Z'), d: '1999-12-31', j: '[1,"two",null]' },
        { id: 4, s: 'Zoë — 日本語 — 🚀', i: '-9007199254740993', f: 1e300, b: true, t: new Date('1970-01-01T00:00:00.000Z'), d: '1970-01-01', j: '{"nested":{"k":"v"}}' },
        { id: 5, s: '', i: 9007199254740991, f: 0, b: false, t: new Date('2038-01-19T03:14:08.001Z'), d: '2038-01-19', j: '"text"' },
        { id: 6, s: 'line\nbreak\ttab', i: -1, f: 123456.789, b: true, t: new Date('2024-06-30T12:00:00.000Z'), d: '2000-01-01', j: '{}' },
      ];

      /** Rows read back equal the rows written; json compared as parsed JSON (engines reformat it). */
      const expectSameRows = (actual: Row[], expected: Row[]) => {
        expect(actual).toHaveLength(expected.length);
        actual.forEach((row, r) => {
          const want = expected[r];
          for (const column of columns) {
            const value = row[column.name];
            if (column.type === 'json' && value !== null) {
              expect(typeof value).toBe('string');
              expect(JSON.parse(value as string)).toEqual(JSON.parse(want[column.name] as string));
            } else {
              expect({ column: column.name, row: want.id, value }).toEqual({ column: column.name, row: want.id, value: want[column.name] });
            }
          }
        });
      };

      async function* inBatches(all: Row[], size: number): AsyncIterable<Row[]> {
        for (let i = 0; i < all.length; i += size) yield all.slice(i, i + size);
      }

      it('load then query returns every ColumnType as the contract says', async () => {
        await wh.execute(wh.dialect.createTable(ref('values'), columns));
        expect(await wh.load(ref('values'), columns, inBatches(rows, 4))).toBe(rows.length);
        const back = await wh.query(`SELECT * FROM ${q('values')} ORDER BY id`);
        expectSameRows(back, rows);
        expect(typeof back[0].i).toBe('number');
        expect(typeof back[2].i).toBe('string');
        expect(back[0].t).toBeInstanceOf(Date);
      });

      it('stream returns the same values as query', async () => {
        await wh.execute(wh.dialect.createTable(ref('values'), columns));
        await wh.load(ref('values'), columns, inBatches(rows, 100));
        const streamed: Row[] = [];
        for await (const batch of wh.stream(`SELECT * FROM ${q('values')} ORDER BY id`, 2)) streamed.push(...batch);
        expectSameRows(streamed, rows);
      });

      it('literal() of every kind of value reads back unchanged', async () => {
        await wh.execute(wh.dialect.createTable(ref('values'), columns));
        for (const row of rows) {
          const values = columns.map((c) => {
            const value = row[c.name];
            // A big integer arrives as text; as a literal it must be a number token.
            if (c.type === 'integer' && typeof value === 'string') return value;
            if (c.type === 'date' && value !== null) return wh.dialect.cast(wh.dialect.literal(value), 'date');
            if (c.type === 'json' && value !== null) return wh.dialect.cast(wh.dialect.literal(value), 'json');
            return wh.dialect.literal(value);
          });
          await wh.execute(`INSERT INTO ${q('values')} (${columns.map((c) => id(c.name)).join(', ')}) VALUES (${values.join(', ')})`);
        }
        expectSameRows(await wh.query(`SELECT * FROM ${q('values')} ORDER BY id`), rows);
      });

      it('expressions follow the contract too: sums, big integers, decimals, dates, timestamps', async () => {
        const [row] = await wh.query(
          `SELECT SUM(n) AS total, COUNT(*) AS how_many, CAST('9007199254740993' AS ${wh.dialect.typeName('integer')}) AS big, ` +
            `CAST(2.5 AS DECIMAL(10,2)) AS dec, CAST('2024-03-04' AS DATE) AS day, ${wh.dialect.now()} AS now_ts, ` +
            `CAST(NULL AS ${wh.dialect.typeName('string')}) AS nothing FROM (${seriesSql(100)}) AS s`,
        );
        expect(row).toEqual({ total: 5050, how_many: 100, big: '9007199254740993', dec: 2.5, day: '2024-03-04', now_ts: expect.any(Date), nothing: null });
      });
    });

    describe('stream', () => {
      it(`yields all ${streamRows} rows in batches of at most batchRows, equal to query`, async () => {
        const sql = `${seriesSql(streamRows)} ORDER BY n`;
        const batchRows = 1000;
        const sizes: number[] = [];
        const seen: number[] = [];
        for await (const batch of wh.stream(sql, batchRows)) {
          sizes.push(batch.length);
          for (const row of batch) seen.push(row.n as number);
        }
        expect(Math.max(...sizes)).toBeLessThanOrEqual(batchRows);
        expect(Math.min(...sizes)).toBeGreaterThan(0);
        expect(sizes.length).toBeGreaterThanOrEqual(Math.ceil(streamRows / batchRows));
        const queried = (await wh.query(sql)).map((r) => r.n as number);
        expect(seen).toEqual(queried);
        expect(seen).toHaveLength(streamRows);
      });

      it('honours an odd batch size and a batch size of one', async () => {
        const sizes: number[] = [];
        for await (const batch of wh.stream(seriesSql(2000), 777)) sizes.push(batch.length);
        expect(sizes.reduce((a, b) => a + b, 0)).toBe(2000);
        expect(sizes.every((s) => s <= 777)).toBe(true);
        const ones: Row[][] = [];
        for await (const batch of wh.stream(seriesSql(3), 1)) ones.push(batch);
        expect(ones.map((b) => b.length)).toEqual([1, 1, 1]);
      });

      it('an abandoned stream leaves the warehouse usable', async () => {
        for (let attempt = 0; attempt < 3; attempt++) {
          for await (const batch of wh.stream(seriesSql(10_000), 100)) {
            expect(batch).toHaveLength(100);
            break;
          }
        }
        expect(await scalar('1')).toBe(1);
      });

      it('an empty result yields no batch', async () => {
        const batches: Row[][] = [];
        for await (const batch of wh.stream(`${seriesSql(3)} WHERE n > 5`, 10)) batches.push(batch);
        expect(batches).toEqual([]);
      });

      it('a SQL error surfaces as a CdpError when iterating', async () => {
        const consume = async () => {
          for await (const _batch of wh.stream(`SELECT * FROM ${q('missing_table')}`, 10)) {
            // nothing arrives
          }
        };
        await expect(consume()).rejects.toMatchObject({ code: 'WAREHOUSE' });
      });
    });

    describe('load', () => {
      const columns: Column[] = [
        { name: 'id', type: 'integer' },
        { name: 'email', type: 'string' },
        { name: 'score', type: 'float' },
      ];
      async function* generated(count: number, batch: number, poisonAt?: number): AsyncIterable<Row[]> {
        for (let start = 1; start <= count; start += batch) {
          const rows: Row[] = [];
          for (let i = start; i < start + batch && i <= count; i++) {
            rows.push({ id: i, email: `user${i}@example.com`, score: i === poisonAt ? 'not a number' : i / 4 });
          }
          yield rows;
        }
      }

      it(`loads ${loadRows} rows from an async iterable`, async () => {
        await wh.execute(wh.dialect.createTable(ref('audience'), columns));
        expect(await wh.load(ref('audience'), columns, generated(loadRows, 1234))).toBe(loadRows);
        const [stats] = await wh.query(`SELECT COUNT(*) AS c, SUM(id) AS s, COUNT(DISTINCT email) AS e, MAX(score) AS m FROM ${q('audience')}`);
        expect(stats).toEqual({ c: loadRows, s: (loadRows * (loadRows + 1)) / 2, e: loadRows, m: loadRows / 4 });
      });

      it('loads a subset of the columns in another order; the rest stay NULL', async () => {
        await wh.execute(wh.dialect.createTable(ref('audience'), columns));
        const subset: Column[] = [columns[1], columns[0]];
        const count = await wh.load(ref('audience'), subset, generated(10, 3));
        expect(count).toBe(10);
        const rows = await wh.query(`SELECT id, email, score FROM ${q('audience')} ORDER BY id`);
        expect(rows[9]).toEqual({ id: 10, email: 'user10@example.com', score: null });
      });

      it('is all or nothing: a bad value late in the input leaves the table empty', async () => {
        await wh.execute(wh.dialect.createTable(ref('audience'), columns));
        const error = await wh.load(ref('audience'), columns, generated(20_000, 1000, 15_000)).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(CdpError);
        expect((error as CdpError).code).toBe('WAREHOUSE');
        expect(await wh.query(`SELECT id FROM ${q('audience')}`)).toEqual([]);
      });

      it('an empty input loads nothing', async () => {
        await wh.execute(wh.dialect.createTable(ref('audience'), columns));
        expect(await wh.load(ref('audience'), columns, generated(0, 10))).toBe(0);
      });

      it('into a missing table rejects with a CdpError', async () => {
        await expect(wh.load(ref('no_such_table'), columns, generated(3, 3))).rejects.toMatchObject({ code: 'WAREHOUSE' });
      });
    });

    describe('executeAll', () => {
      it('runs the statements in order', async () => {
        await wh.executeAll([
          `CREATE TABLE ${q('steps')} (n ${wh.dialect.typeName('integer')})`,
          `INSERT INTO ${q('steps')} VALUES (1)`,
          `INSERT INTO ${q('steps')} SELECT MAX(n) + 1 FROM ${q('steps')}`,
        ]);
        expect(await wh.query(`SELECT n FROM ${q('steps')} ORDER BY n`)).toEqual([{ n: 1 }, { n: 2 }]);
      });

      it('is atomic where DDL is transactional (else runs in order up to the failure)', async () => {
        await wh.execute(`CREATE TABLE ${q('kept')} (n ${wh.dialect.typeName('integer')})`);
        await wh.execute(`INSERT INTO ${q('kept')} VALUES (1)`);
        const error = await wh
          .executeAll([`CREATE TABLE ${q('fresh')} (n ${wh.dialect.typeName('integer')})`, `DELETE FROM ${q('kept')}`, `SELECT * FROM ${q('missing_table')}`])
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(error).toBeInstanceOf(CdpError);
        if (wh.dialect.capabilities.transactionalDdl) {
          expect(await kindOf('fresh')).toBeUndefined();
          expect(await wh.query(`SELECT n FROM ${q('kept')}`)).toEqual([{ n: 1 }]);
        } else {
          expect(await kindOf('fresh')).toBe('table');
          expect(await wh.query(`SELECT n FROM ${q('kept')}`)).toEqual([]);
          await wh.execute(`INSERT INTO ${q('kept')} VALUES (1)`);
        }
        // and the connection that failed is healthy again
        await wh.executeAll([`INSERT INTO ${q('kept')} VALUES (2)`]);
        expect(await wh.query(`SELECT COUNT(*) AS c FROM ${q('kept')}`)).toEqual([{ c: 2 }]);
      });
    });

    describe('dialect macros on the real engine', () => {
      it('hash is md5 of the text values joined by | with NULL as empty', async () => {
        const md5 = (text: string) => createHash('md5').update(text).digest('hex');
        expect(md5('a|b')).toBe('d0726241020676b14aa6298ce6a18b21');
        expect(await scalar(wh.dialect.hash([`'a'`, `'b'`]))).toBe('d0726241020676b14aa6298ce6a18b21');
        expect(await scalar(wh.dialect.hash([`'a'`, 'NULL']))).toBe(md5('a|'));
        expect(await scalar(wh.dialect.hash(['NULL', `'b'`]))).toBe(md5('|b'));
        expect(await scalar(wh.dialect.hash([`CAST(42 AS ${wh.dialect.typeName('integer')})`]))).toBe(md5('42'));
        expect(await scalar(wh.dialect.hash([`'Zoë'`, `'x'`]))).toBe(md5('Zoë|x'));
      });

      it('dateAdd shifts a timestamp by each unit, forwards and backwards', async () => {
        const start = '2024-01-31T10:20:30.000Z';
        const expected: Record<DateUnit, [number, string]> = {
          second: [45, '2024-01-31T10:21:15.000Z'],
          minute: [-30, '2024-01-31T09:50:30.000Z'],
          hour: [14, '2024-02-01T00:20:30.000Z'],
          day: [-31, '2023-12-31T10:20:30.000Z'],
          week: [2, '2024-02-14T10:20:30.000Z'],
          month: [1, '2024-02-29T10:20:30.000Z'],
          year: [-1, '2023-01-31T10:20:30.000Z'],
        };
        for (const unit of UNITS) {
          const [amount, result] = expected[unit];
          const value = await scalar(wh.dialect.dateAdd(unit, amount, ts(start)));
          expect({ unit, value }).toEqual({ unit, value: new Date(result) });
        }
        // amount may be an expression
        expect(await scalar(wh.dialect.dateAdd('day', '1 + 1', ts(start)))).toEqual(new Date('2024-02-02T10:20:30.000Z'));
      });

      it('dateDiff counts whole units from start to end, truncated toward zero', async () => {
        const start = '2024-01-15T10:00:00.000Z';
        const end = '2025-03-20T09:30:00.000Z';
        const ms = Date.parse(end) - Date.parse(start);
        const fixed: Record<string, number> = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000, week: 604_800_000 };
        // 1 year, 2 months, 4 days and 23.5 hours
        const calendar: Record<string, number> = { month: 14, year: 1 };
        for (const unit of UNITS) {
          const whole = unit in fixed ? Math.trunc(ms / fixed[unit]) : calendar[unit];
          const forward = await scalar(wh.dialect.dateDiff(unit, ts(start), ts(end)));
          const backward = await scalar(wh.dialect.dateDiff(unit, ts(end), ts(start)));
          expect({ unit, forward, backward }).toEqual({ unit, forward: whole, backward: -whole });
        }
      });

      it('dateDiff works on dates as well as timestamps', async () => {
        const d = (text: string) => wh.dialect.cast(wh.dialect.literal(text), 'date');
        expect(await scalar(wh.dialect.dateDiff('day', d('2024-02-27'), d('2024-03-02')))).toBe(4);
        expect(await scalar(wh.dialect.dateDiff('month', d('2024-01-15'), d('2024-03-14')))).toBe(1);
      });

      it('now and daysAgo: daysAgo(7) is exactly 7 days before now', async () => {
        const [row] = await wh.query(`SELECT ${wh.dialect.now()} AS n, ${wh.dialect.daysAgo(7)} AS a`);
        expect(row.n).toBeInstanceOf(Date);
        expect(row.a).toBeInstanceOf(Date);
        expect((row.n as Date).getTime() - (row.a as Date).getTime()).toBe(7 * 86_400_000);
        // now() is UTC: the engine's clock is the machine's clock, whatever the session zone.
        expect(Math.abs((row.n as Date).getTime() - Date.now())).toBeLessThan(3_600_000);
      });

      it('normalizeString lower-cases, trims, and turns empty into NULL', async () => {
        expect(await scalar(wh.dialect.normalizeString(`'  HeLLo World '`))).toBe('hello world');
        expect(await scalar(wh.dialect.normalizeString(`'   '`))).toBeNull();
        expect(await scalar(wh.dialect.normalizeString('NULL'))).toBeNull();
      });

      it('cast converts text to every ColumnType', async () => {
        const cases: [string, ColumnType, Scalar][] = [
          [`'42'`, 'integer', 42],
          [`'1.25'`, 'float', 1.25],
          [`'true'`, 'boolean', true],
          [`'2024-01-02'`, 'date', '2024-01-02'],
          [`'2024-01-02 03:04:05'`, 'timestamp', new Date('2024-01-02T03:04:05.000Z')],
          ['42', 'string', '42'],
        ];
        for (const [expression, type, expected] of cases) {
          expect({ type, value: await scalar(wh.dialect.cast(expression, type)) }).toEqual({ type, value: expected });
        }
        const json = await scalar(wh.dialect.cast(`'{"a": [1, 2]}'`, 'json'));
        expect(JSON.parse(json as string)).toEqual({ a: [1, 2] });
      });

      it('toTimestamp reads ISO-8601 text as UTC, honouring an offset', async () => {
        expect(await scalar(ts('2024-01-02T03:04:05.678Z'))).toEqual(new Date('2024-01-02T03:04:05.678Z'));
        expect(await scalar(ts('2024-01-02T03:04:05.678+02:00'))).toEqual(new Date('2024-01-02T01:04:05.678Z'));
        expect(await scalar(ts('2024-01-02 03:04:05'))).toEqual(new Date('2024-01-02T03:04:05.000Z'));
      });

      it('literal of a Date is that instant', async () => {
        const when = new Date('2023-07-08T09:10:11.123Z');
        expect(await scalar(wh.dialect.literal(when))).toEqual(when);
      });
    });

    describe('statements and introspection', () => {
      it('createTableAs, createView, relationKindSql and columnsSql', async () => {
        await wh.execute(wh.dialect.createTableAs(ref('t_ctas'), `SELECT 1 AS a, 'x' AS b`));
        await wh.execute(wh.dialect.createView(ref('v_view'), `SELECT a FROM ${q('t_ctas')}`));
        expect(await kindOf('t_ctas')).toBe('table');
        expect(await kindOf('v_view')).toBe('view');
        expect(await kindOf('nothing_here')).toBeUndefined();
        const cols = await wh.query(wh.dialect.columnsSql(ref('t_ctas')));
        expect(cols.map((c) => c.column_name)).toEqual(['a', 'b']);
        expect(cols.every((c) => typeof c.data_type === 'string')).toBe(true);
        expect(await wh.query(`SELECT * FROM ${q('v_view')}`)).toEqual([{ a: 1 }]);
      });

      it('createTable uses the dialect type names, which the engine reports back', async () => {
        const all: Column[] = (['string', 'integer', 'float', 'boolean', 'timestamp', 'date', 'json'] as ColumnType[]).map((type) => ({ name: `c_${type}`, type }));
        await wh.execute(wh.dialect.createTable(ref('typed'), all));
        const cols = await wh.query(wh.dialect.columnsSql(ref('typed')));
        expect(cols.map((c) => c.column_name)).toEqual(all.map((c) => c.name));
      });

      it('renameTable, dropTableIfExists, dropViewIfExists, createSchemaIfNotExists are idempotent where they say so', async () => {
        await wh.execute(wh.dialect.createSchemaIfNotExists(schema));
        await wh.execute(wh.dialect.createTableAs(ref('old_name'), 'SELECT 1 AS a'));
        await wh.execute(wh.dialect.renameTable(ref('old_name'), 'new_name'));
        expect(await kindOf('old_name')).toBeUndefined();
        expect(await kindOf('new_name')).toBe('table');
        await wh.execute(wh.dialect.dropTableIfExists(ref('new_name')));
        await wh.execute(wh.dialect.dropTableIfExists(ref('new_name')));
        expect(await kindOf('new_name')).toBeUndefined();
        await wh.execute(wh.dialect.createView(ref('a_view'), 'SELECT 1 AS a'));
        await wh.execute(wh.dialect.dropViewIfExists(ref('a_view')));
        await wh.execute(wh.dialect.dropViewIfExists(ref('a_view')));
        expect(await kindOf('a_view')).toBeUndefined();
      });

      it('merge upserts on a composite key', async () => {
        const cols: Column[] = [
          { name: 'k1', type: 'integer' },
          { name: 'k2', type: 'string' },
          { name: 'v', type: 'string' },
        ];
        await wh.execute(wh.dialect.createTable(ref('target'), cols));
        await wh.execute(wh.dialect.createTable(ref('source'), cols));
        await wh.execute(`INSERT INTO ${q('target')} VALUES (1, 'a', 'old'), (1, 'b', 'keep'), (2, 'a', 'keep too')`);
        await wh.execute(`INSERT INTO ${q('source')} VALUES (1, 'a', 'new'), (3, 'c', 'inserted')`);
        await wh.executeAll(wh.dialect.merge({ target: ref('target'), source: ref('source'), uniqueKey: ['k1', 'k2'], columns: ['k1', 'k2', 'v'] }));
        expect(await wh.query(`SELECT k1, k2, v FROM ${q('target')} ORDER BY k1, k2`)).toEqual([
          { k1: 1, k2: 'a', v: 'new' },
          { k1: 1, k2: 'b', v: 'keep' },
          { k1: 2, k2: 'a', v: 'keep too' },
          { k1: 3, k2: 'c', v: 'inserted' },
        ]);
      });

      (options.awkwardIdentifiers === false ? it.skip : it)('quotes identifiers with spaces, quotes and upper case', async () => {
        const table = `My "odd" Table's`;
        const cols: Column[] = [
          { name: 'First Name', type: 'string' },
          { name: 'UPPER', type: 'integer' },
          { name: `it's "x"`, type: 'boolean' },
        ];
        await wh.execute(wh.dialect.createTable(ref(table), cols));
        await wh.load(ref(table), cols, (async function* () {
          yield [{ 'First Name': 'Ada', UPPER: 7, [`it's "x"`]: true }];
        })());
        expect(await kindOf(table)).toBe('table');
        expect((await wh.query(wh.dialect.columnsSql(ref(table)))).map((c) => c.column_name)).toEqual(cols.map((c) => c.name));
        const rows = await wh.query(`SELECT ${cols.map((c) => id(c.name)).join(', ')} FROM ${q(table)}`);
        // result keys are folded to lower case by contract
        expect(rows).toEqual([{ 'first name': 'Ada', upper: 7, [`it's "x"`]: true }]);
      });
    });

    describe('errors', () => {
      it('a SQL error rejects with a one-line CdpError (code WAREHOUSE) that keeps its cause', async () => {
        for (const run of [() => wh.query('SELECT * FROM no_such_table_anywhere'), () => wh.execute('SELEC 1')]) {
          const error = await run().then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(error).toBeInstanceOf(CdpError);
          const cdp = error as CdpError;
          expect(cdp.code).toBe('WAREHOUSE');
          expect(cdp.kind).toBe('runtime');
          expect(cdp.where).toBe(`warehouse ${name}`);
          expect(cdp.message).not.toContain('\n');
          expect(cdp.message.length).toBeGreaterThan(0);
          expect(cdp.hint).toBeTruthy();
          expect(cdp.cause).toBeDefined();
        }
        expect(await scalar('1')).toBe(1);
      });

      it('the database message survives the wrapping', async () => {
        await expect(wh.query(`SELECT * FROM ${q('missing_table')}`)).rejects.toThrow(/missing_table/i);
      });
    });
  });
}
