/**
 * Real warehouses for tests: an embedded DuckDB file in a temp folder, and the local
 * PostgreSQL (127.0.0.1:5432, database `test`) with a fresh schema per test that is dropped
 * afterwards, so suites can run in parallel without seeing each other.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectWarehouse, type Warehouse } from '../../src/warehouse';

export type LocalWarehouseType = 'duckdb' | 'postgres';
export const localWarehouseTypes: LocalWarehouseType[] = ['duckdb', 'postgres'];

export const POSTGRES_TEST_URL = process.env.CDP_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestWarehouse {
  warehouse: Warehouse;
  /** A schema of this test's own, created empty. */
  schema: string;
  dir: string;
  cleanup(): Promise<void>;
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
}

export async function openTestWarehouse(type: LocalWarehouseType): Promise<TestWarehouse> {
  const dir = mkdtempSync(join(tmpdir(), `cdp-${type}-`));
  const schema = uniqueName('t');
  const warehouse =
    type === 'duckdb'
      ? await connectWarehouse({ type: 'duckdb', path: join(dir, 'test.duckdb'), schema: 'main' }, { projectDir: dir })
      : await connectWarehouse(
          { type: 'postgres', url: POSTGRES_TEST_URL, host: '127.0.0.1', port: 5432, schema: 'public', statement_timeout_ms: 60_000, pool_max: 4, ssl: false },
          { projectDir: dir },
        );
  await warehouse.execute(warehouse.dialect.createSchemaIfNotExists(schema));
  return {
    warehouse,
    schema,
    dir,
    async cleanup() {
      try {
        await warehouse.execute(`DROP SCHEMA IF EXISTS ${warehouse.dialect.quoteIdent(schema)} CASCADE`);
      } finally {
        await warehouse.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
