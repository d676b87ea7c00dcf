/**
 * Connection settings of each warehouse, as zod schemas. `cdp.yml`'s `warehouse:` block is
 * validated against these after `${ENV_VAR}` references were resolved, so adapters receive
 * plain values and never read `process.env`. Fields marked with `secret()` are redacted
 * wherever config is shown (`cdp debug`).
 */
import { z } from 'zod';

/** Marks a string as a secret: redacted when config is printed. */
export const secret = () => z.string().min(1).meta({ secret: true });

export const duckdbConfigSchema = z.strictObject({
  type: z.literal('duckdb'),
  /** File path relative to the project, or ':memory:'. */
  path: z.string().default('.cdp/warehouse.duckdb'),
  schema: z.string().default('main'),
  threads: z.number().int().positive().optional(),
  memory_limit: z.string().optional(),
});

export const postgresConfigSchema = z.strictObject({
  type: z.literal('postgres'),
  /** postgres://user:pass@host:port/db — or the separate fields below. */
  url: z.string().optional(),
  host: z.string().default('127.0.0.1'),
  port: z.number().int().default(5432),
  user: z.string().optional(),
  password: secret().optional(),
  database: z.string().optional(),
  schema: z.string().default('public'),
  /** Per-statement timeout, so a runaway model cannot hold the run forever. */
  statement_timeout_ms: z.number().int().positive().default(15 * 60 * 1000),
  pool_max: z.number().int().positive().default(4),
  ssl: z.boolean().default(false),
});

export const bigqueryConfigSchema = z.strictObject({
  type: z.literal('bigquery'),
  project: z.string().min(1),
  /** The dataset models build into. */
  dataset: z.string().min(1),
  location: z.string().default('US'),
  /** Path to a service-account key file; or inline JSON in `credentials_json`; or ADC when neither. */
  key_file: z.string().optional(),
  credentials_json: secret().optional(),
  job_timeout_ms: z.number().int().positive().default(15 * 60 * 1000),
  maximum_bytes_billed: z.string().optional(),
  /** Base URL of the BigQuery API; set only to point tests at a local fake. */
  api_endpoint: z.string().optional(),
});

export const snowflakeConfigSchema = z.strictObject({
  type: z.literal('snowflake'),
  account: z.string().min(1),
  username: z.string().min(1),
  password: secret().optional(),
  /** PEM private key for key-pair auth (preferred over password). */
  private_key: secret().optional(),
  authenticator: z.string().optional(),
  role: z.string().optional(),
  warehouse: z.string().min(1),
  database: z.string().min(1),
  schema: z.string().default('PUBLIC'),
  statement_timeout_seconds: z.number().int().positive().default(15 * 60),
  query_tag: z.string().default('warehouse-cdp'),
  /** Host override; set only to point tests at a local fake. */
  access_url: z.string().optional(),
});

export const warehouseConfigSchema = z.discriminatedUnion('type', [
  duckdbConfigSchema,
  postgresConfigSchema,
  bigqueryConfigSchema,
  snowflakeConfigSchema,
]);

export type DuckdbConfig = z.infer<typeof duckdbConfigSchema>;
export type PostgresConfig = z.infer<typeof postgresConfigSchema>;
export type BigqueryConfig = z.infer<typeof bigqueryConfigSchema>;
export type SnowflakeConfig = z.infer<typeof snowflakeConfigSchema>;
export type WarehouseConfig = z.infer<typeof warehouseConfigSchema>;

/** The schema (dataset on BigQuery) models build into when they name none. */
export function defaultSchemaOf(config: WarehouseConfig): string {
  return config.type === 'bigquery' ? config.dataset : config.schema;
}
