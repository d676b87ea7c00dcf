/**
 * Golden statements for warehouses we cannot reach here (BigQuery, Snowflake): the exact
 * SQL the runner issues for each materialisation, given what already exists. DuckDB and
 * PostgreSQL run the same paths for real in run-models.test.ts.
 */
import type { CompiledModel } from '../../src/compiler';
import { materialize } from '../../src/runner';
import { dialectFor, type Row, type Warehouse, type WarehouseType } from '../../src/warehouse';

/** A warehouse that records statements and answers introspection from a scripted catalog. */
function recordingWarehouse(type: WarehouseType, existing: 'table' | 'view' | null) {
  const statements: string[] = [];
  const dialect = dialectFor(type);
  const warehouse: Warehouse = {
    dialect,
    defaultSchema: 'analytics',
    async execute(sql) {
      statements.push(sql);
    },
    async executeAll(sqls) {
      statements.push(`-- unit of ${sqls.length}`, ...sqls);
    },
    async query<T extends Row>(sql: string): Promise<T[]> {
      if (sql === dialect.relationKindSql({ schema: 'analytics', name: 'm' })) return (existing ? [{ kind: existing }] : []) as unknown as T[];
      if (sql.startsWith('SELECT COUNT(*)')) return [{ n: 5 }] as unknown as T[];
      if (sql.includes('column_name')) return [{ column_name: 'id', data_type: 'INT64' }] as unknown as T[];
      throw new Error(`unexpected query: ${sql}`);
    },
    stream: () => {
      throw new Error('not used');
    },
    load: async () => 0,
    check: async () => undefined,
    close: async () => undefined,
  };
  return { warehouse, statements };
}

const model = (materialized: 'view' | 'table' | 'incremental'): CompiledModel => ({
  name: 'm',
  path: 'models/m.sql',
  config: { materialized, tags: [], enabled: true, unique_key: materialized === 'incremental' ? 'id' : undefined },
  uniqueKey: materialized === 'incremental' ? ['id'] : [],
  ref: { schema: 'analytics', name: 'm' },
  dependsOn: [],
  sql: 'SELECT 1 AS id',
  incrementalSql: materialized === 'incremental' ? 'SELECT 2 AS id' : undefined,
});

describe('BigQuery (no transactional DDL, atomic CREATE OR REPLACE)', () => {
  test('a table is replaced in one atomic statement', async () => {
    const { warehouse, statements } = recordingWarehouse('bigquery', 'table');
    await materialize(warehouse, model('table'), { fullRefresh: false });
    expect(statements).toEqual(['CREATE SCHEMA IF NOT EXISTS `analytics`', 'CREATE OR REPLACE TABLE `analytics`.`m` AS\nSELECT 1 AS id']);
  });

  test('a view is replaced in one atomic statement', async () => {
    const { warehouse, statements } = recordingWarehouse('bigquery', 'view');
    await materialize(warehouse, model('view'), { fullRefresh: false });
    expect(statements).toEqual(['CREATE SCHEMA IF NOT EXISTS `analytics`', 'CREATE OR REPLACE VIEW `analytics`.`m` AS\nSELECT 1 AS id']);
  });

  test('a view that replaces a table is built aside and swapped', async () => {
    const { warehouse, statements } = recordingWarehouse('bigquery', 'table');
    await materialize(warehouse, model('view'), { fullRefresh: false });
    expect(statements.slice(1)).toEqual(['-- unit of 2', 'DROP TABLE IF EXISTS `analytics`.`m`', 'CREATE VIEW `analytics`.`m` AS\nSELECT 1 AS id']);
  });

  test('an incremental run merges from a temp table and always drops it', async () => {
    const { warehouse, statements } = recordingWarehouse('bigquery', 'table');
    const outcome = await materialize(warehouse, model('incremental'), { fullRefresh: false });
    expect(outcome).toEqual({ kind: 'incremental', rows: 5 });
    expect(statements[1]).toBe('DROP TABLE IF EXISTS `analytics`.`m__cdp_tmp`');
    expect(statements[2]).toBe('CREATE TABLE `analytics`.`m__cdp_tmp` AS\nSELECT 2 AS id');
    expect(statements.find((s) => s.startsWith('MERGE'))).toMatch(/^MERGE INTO `analytics`.`m`/);
    expect(statements[statements.length - 1]).toBe('DROP TABLE IF EXISTS `analytics`.`m__cdp_tmp`');
  });
});

describe('Snowflake', () => {
  test('a first incremental build is a plain atomic table build', async () => {
    const { warehouse, statements } = recordingWarehouse('snowflake', null);
    const outcome = await materialize(warehouse, model('incremental'), { fullRefresh: false });
    expect(outcome.kind).toBe('full-refresh');
    expect(statements).toEqual(['CREATE SCHEMA IF NOT EXISTS "ANALYTICS"', 'CREATE OR REPLACE TABLE "ANALYTICS"."M" AS\nSELECT 1 AS id']);
  });
});
