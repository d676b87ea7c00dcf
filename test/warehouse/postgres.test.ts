/**
 * PostgreSQL adapter: the shared conformance suite on the local server (127.0.0.1:5432,
 * database `test`), plus what is special to PostgreSQL — the session set at connect, fast and
 * explained connection failures, the statement timeout, and a cursor-backed stream.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { CdpError } from '../../src/errors';
import type { PostgresConfig } from '../../src/warehouse/config';
import { connectPostgres } from '../../src/warehouse/postgres/postgres-warehouse';
import { openTestWarehouse, POSTGRES_TEST_URL } from '../helpers/test-warehouses';
import { describeWarehouseConformance } from './conformance';

describeWarehouseConformance('postgres', () => openTestWarehouse('postgres'));

const config: PostgresConfig = {
  type: 'postgres',
  url: POSTGRES_TEST_URL,
  host: '127.0.0.1',
  port: 5432,
  schema: 'public',
  statement_timeout_ms: 60_000,
  pool_max: 4,
  ssl: false,
};

const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (e: unknown) => e,
  );

describe('postgres adapter specifics', () => {
  it('sets the session at connect: UTC, statement timeout, application name', async () => {
    const wh = await connectPostgres({ ...config, statement_timeout_ms: 123_000 });
    try {
      const [row] = await wh.query(
        `SELECT current_setting('TimeZone') AS tz, current_setting('statement_timeout') AS st, current_setting('application_name') AS app`,
      );
      expect(row).toEqual({ tz: 'UTC', st: '123s', app: 'warehouse-cdp' });
    } finally {
      await wh.close();
    }
  });

  it('an unreachable port fails with a CdpError naming the endpoint and what to check', async () => {
    const error = await rejection(connectPostgres({ ...config, url: undefined, host: '127.0.0.1', port: 1 }));
    expect(error).toBeInstanceOf(CdpError);
    const cdp = error as CdpError;
    expect(cdp.code).toBe('WAREHOUSE');
    expect(cdp.where).toBe('warehouse postgres');
    expect(cdp.message).toContain('127.0.0.1:1');
    expect(cdp.hint).toMatch(/is PostgreSQL running at 127\.0\.0\.1:1\?.*warehouse\.host\/port/);
  });

  it('a server that accepts but never answers fails on the connect timeout instead of hanging', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const error = await rejection(connectPostgres({ ...config, url: undefined, host: '127.0.0.1', port }));
      expect(error).toBeInstanceOf(CdpError);
      expect((error as CdpError).hint).toContain(`127.0.0.1:${port}`);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  }, 20_000);

  it('a missing database is reported with a hint about warehouse.database', async () => {
    const error = await rejection(connectPostgres({ ...config, url: undefined, user: 'postgres', database: 'cdp_no_such_database' }));
    expect(error).toBeInstanceOf(CdpError);
    expect((error as CdpError).message).toContain('cdp_no_such_database');
    expect((error as CdpError).hint).toContain('warehouse.database');
  });

  it('a statement beyond statement_timeout_ms is cancelled with a hint naming the setting', async () => {
    const wh = await connectPostgres({ ...config, statement_timeout_ms: 200 });
    try {
      const error = await rejection(wh.query('SELECT pg_sleep(5)'));
      expect(error).toBeInstanceOf(CdpError);
      expect((error as CdpError).hint).toContain('statement_timeout_ms');
      expect(await wh.query('SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
    } finally {
      await wh.close();
    }
  });

  it('streams 500k rows through a cursor: batches arrive before a failure at the very end', async () => {
    const wh = await connectPostgres(config);
    try {
      // A driver that read the whole result first would fail before yielding any batch.
      const sql = `SELECT CASE WHEN n < 500000 THEN n ELSE 1 / (n - n) END AS n FROM generate_series(1, 500000) AS g(n)`;
      let received = 0;
      let maxBatch = 0;
      const consume = async () => {
        for await (const batch of wh.stream(sql, 10_000)) {
          received += batch.length;
          maxBatch = Math.max(maxBatch, batch.length);
        }
      };
      await expect(consume()).rejects.toMatchObject({ code: 'WAREHOUSE', message: expect.stringContaining('division by zero') });
      expect(received).toBeGreaterThanOrEqual(10_000);
      expect(received).toBeLessThan(500_000);
      expect(maxBatch).toBe(10_000);
      // the connection that carried the failed cursor is healthy again
      const all = await Promise.all(Array.from({ length: 6 }, () => wh.query('SELECT 1 AS ok')));
      expect(all.flat()).toHaveLength(6);
    } finally {
      await wh.close();
    }
  });

  it('reads PostgreSQL types into the contract: numeric, int8 beyond 2^53, timestamptz, arrays, intervals', async () => {
    const wh = await connectPostgres(config);
    try {
      const [row] = await wh.query(
        `SELECT 12.5::numeric AS num, 9223372036854775807::int8 AS big, 7::int8 AS small, ` +
          `TIMESTAMPTZ '2024-01-02 03:04:05.123+02' AS tz, TIMESTAMP '0099-06-01 00:00:00' AS early, ARRAY[1, 2] AS arr, ` +
          `INTERVAL '1 day' AS iv, 'infinity'::timestamp AS inf, '{"b": 1, "a": [true]}'::jsonb AS doc, DATE '2024-02-29' AS day`,
      );
      expect(row).toEqual({
        num: 12.5,
        big: '9223372036854775807',
        small: 7,
        tz: new Date('2024-01-02T01:04:05.123Z'),
        early: new Date('0099-06-01T00:00:00.000Z'),
        arr: '{1,2}',
        iv: '1 day',
        inf: 'infinity',
        doc: '{"a": [true], "b": 1}',
        day: '2024-02-29',
      });
    } finally {
      await wh.close();
    }
  });
});
