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
    case 'duckdb':
      return (await import('./duckdb/duckdb-warehouse')).connectDuckdb(config, options.projectDir);
    case 'postgres':
      return (await import('./postgres/postgres-warehouse')).connectPostgres(config);
    case 'bigquery':
      return (await import('./bigquery/bigquery-warehouse')).connectBigquery(config, options.projectDir);
    case 'snowflake':
      return (await import('./snowflake/snowflake-warehouse')).connectSnowflake(config);
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
