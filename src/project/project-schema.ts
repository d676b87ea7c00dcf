/**
 * The shape of `cdp.yml`. Types are inferred from here and nowhere else.
 */
import { z } from 'zod';
import { warehouseConfigSchema } from '../warehouse/config';

const identifier = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'must be a SQL identifier (letters, digits, _) — rename it, e.g. my_name' });

export const sourceGroupSchema = z.strictObject({
  /** Schema (dataset) that holds the tables. */
  schema: identifier,
  description: z.string().optional(),
  /** Table names, or `{ name, table }` where the physical table is named differently. */
  tables: z
    .array(z.union([identifier, z.strictObject({ name: identifier, table: z.string().min(1), description: z.string().optional() })]))
    .min(1),
});

export const controlConfigSchema = z.strictObject({
  /** sqlite://relative/or/absolute/path.db or postgres://user@host/db */
  url: z
    .string()
    .regex(/^(sqlite|postgres|postgresql):\/\//, { message: 'must start with sqlite:// or postgres:// — e.g. sqlite://.cdp/control.db' })
    .default('sqlite://.cdp/control.db'),
});

export const projectConfigSchema = z.strictObject({
  name: identifier,
  warehouse: warehouseConfigSchema,
  control: controlConfigSchema.default({ url: 'sqlite://.cdp/control.db' }),
  /** Where sync state, rejected rows and logs live in the warehouse. */
  state_schema: identifier.default('cdp_state'),
  vars: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
  sources: z.record(identifier, sourceGroupSchema).default({}),
  model_paths: z.array(z.string()).default(['models']),
  /** Default parallelism of `cdp run`. */
  threads: z.number().int().positive().max(64).default(4),
});

export type ProjectConfig = z.infer<typeof projectConfigSchema>;
export type SourceGroup = z.infer<typeof sourceGroupSchema>;

/** Front matter of a model file. */
export const modelConfigSchema = z.strictObject({
  materialized: z.enum(['view', 'table', 'incremental']).default('view'),
  unique_key: z.union([identifier, z.array(identifier).min(1)]).optional(),
  tags: z.array(z.string().min(1)).default([]),
  /** Build into this schema instead of the warehouse's default. */
  schema: identifier.optional(),
  description: z.string().optional(),
  enabled: z.boolean().default(true),
});

export type ModelConfig = z.infer<typeof modelConfigSchema>;
