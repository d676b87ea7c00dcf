/**
 * The warehouse module's public surface: connect to a warehouse from its validated config,
 * or get a dialect alone (compiling needs no connection). SDKs are loaded lazily so a
 * DuckDB project never pays for the BigQuery or Snowflake clients.
 */
import type { Dialect, Warehouse, WarehouseType } from './types';
import type { WarehouseConfig } from './config';

export * from './types';
export * from './config';
export { BaseDialect } from './base-dialect';

export interface ConnectOptions {
  /** Relative paths in the config (DuckDB file, key files) resolve against this folder. */
  projectDir: string;
}

export async function connectWarehouse(config: WarehouseConfig, options: ConnectOptions): Promise<Warehouse> {
  switch (config.type) {
    // require, not import(): under tsx's CommonJS hook a dynamic import of an
    // extension-less path does not resolve, and laziness is all we need here.
    case 'duckdb':
      return (require('./duckdb/duckdb-warehouse') as typeof import('./duckdb/duckdb-warehouse')).connectDuckdb(config, options.projectDir);
    case 'postgres':
      return (require('./postgres/postgres-warehouse') as typeof import('./postgres/postgres-warehouse')).connectPostgres(config);
    case 'bigquery':
      return (require('./bigquery/bigquery-warehouse') as typeof import('./bigquery/bigquery-warehouse')).connectBigquery(config, options.projectDir);
    case 'snowflake':
      return (require('./snowflake/snowflake-warehouse') as typeof import('./snowflake/snowflake-warehouse')).connectSnowflake(config);
  }
}

export function dialectFor(type: WarehouseType): Dialect {
  switch (type) {
    case 'duckdb':
      return new (require('./duckdb/duckdb-dialect') as typeof import('./duckdb/duckdb-dialect')).DuckdbDialect();
    case 'postgres':
      return new (require('./postgres/postgres-dialect') as typeof import('./postgres/postgres-dialect')).PostgresDialect();
    case 'bigquery':
      return new (require('./bigquery/bigquery-dialect') as typeof import('./bigquery/bigquery-dialect')).BigqueryDialect();
    case 'snowflake':
      return new (require('./snowflake/snowflake-dialect') as typeof import('./snowflake/snowflake-dialect')).SnowflakeDialect();
  }
}

export const warehouseTypes: readonly WarehouseType[] = ['duckdb', 'postgres', 'bigquery', 'snowflake'];
