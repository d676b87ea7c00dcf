/**
 * The shape of `syncs/*.yml`, `destinations.yml` and `consent.yml` (zod; types are inferred
 * here and nowhere else). Destination `config` is validated twice: here only as a map, then
 * against the destination type's own zod schema in `load-syncs.ts`, once the type is known.
 */
import { z } from 'zod';

const identifier = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'must be an identifier (letters, digits, _) — e.g. vip_to_hubspot' });

/** Where the audience comes from. Segments resolve once the segments module exists. */
export const syncSourceSchema = z.union([
  z.strictObject({ model: identifier }),
  z.strictObject({ segment: identifier }),
  /** A table or view by name (`schema.table` or `table`), for audiences built outside models. */
  z.strictObject({ table: z.string().regex(/^([A-Za-z_][A-Za-z0-9_]*\.)?[A-Za-z_][A-Za-z0-9_]*$/, { message: 'must be schema.table or table — e.g. analytics.vip' }) }),
]);

/**
 * One destination field: a source column (`first_name`), a Handlebars template when it has
 * `{{` (`"{{lower tier}}"`), or an explicit `{ column }`, `{ template }` or `{ const }`.
 */
export const mappingValueSchema = z.union([
  z.string().min(1),
  z.strictObject({ column: identifier }),
  z.strictObject({ template: z.string().min(1) }),
  z.strictObject({ const: z.union([z.string(), z.number(), z.boolean(), z.null()]) }),
]);

export const syncOptionsSchema = z.strictObject({
  /** A null value: leave the destination's field alone (skip) or clear it (clear). */
  nulls: z.enum(['skip', 'clear']).default('skip'),
  /** Rows per request (at most the destination's own limit). */
  batch_size: z.number().int().positive().optional(),
  /** Circuit breaker: a run deleting more than this share of what the sync holds stops and asks. */
  max_deletion_share: z.number().min(0).max(1).default(0.5),
  /** Row-level log of every send in `<state_schema>.<sync>__log`. */
  sync_log: z.boolean().default(false),
  /** Attempts per batch for transient failures before its rows are left for the next run. */
  max_attempts: z.number().int().positive().max(20).default(6),
  /** Per HTTP request. */
  timeout_ms: z.number().int().positive().default(30_000),
});

export const syncFileSchema = z.strictObject({
  description: z.string().optional(),
  source: syncSourceSchema,
  /** A name from destinations.yml. */
  destination: identifier,
  object: z.string().min(1),
  mode: z.enum(['upsert', 'update', 'insert', 'mirror', 'add_remove', 'archive']),
  /** The source column identifying a record; its value is the row key sent to the destination. */
  key: identifier,
  mapping: z.record(z.string().min(1), mappingValueSchema).refine((m) => Object.keys(m).length > 0, { message: 'needs at least one field — e.g. email: email' }),
  /** A consent purpose from consent.yml; rows without consent for it are never sent. */
  purpose: identifier.optional(),
  /** Cron expression, or `manual`. Stored; the scheduler runs it. */
  schedule: z.union([z.string().min(1), z.strictObject({ after: z.array(identifier).min(1) })]).default('manual'),
  /** Object options the destination needs (e.g. listId). */
  object_options: z.record(z.string(), z.union([z.string(), z.number()]).transform(String)).default({}),
  options: syncOptionsSchema.default(syncOptionsSchema.parse({})),
  enabled: z.boolean().default(true),
});

export const destinationEntrySchema = z.strictObject({
  type: identifier,
  description: z.string().optional(),
  /** Validated against the destination type's own schema. Secrets via ${ENV}. */
  config: z.record(z.string(), z.unknown()).default({}),
  /** Overrides of the connector's defaults for this account (e.g. a plan with a higher limit). */
  limits: z
    .strictObject({
      batch_rows: z.number().int().positive().optional(),
      requests_per_second: z.number().positive().optional(),
      concurrency: z.number().int().positive().max(64).optional(),
    })
    .optional(),
});

export const destinationsFileSchema = z.record(identifier, destinationEntrySchema);

export const consentPurposeSchema = z.strictObject({
  description: z.string().optional(),
  /** A model holding the consent column; absent means the sync's own source. */
  model: identifier.optional(),
  /** The column of `model` matching the sync key (required with `model`). */
  key: identifier.optional(),
  /** The column holding the consent status. */
  column: identifier,
  /** Values that mean consent was given (compared as text). */
  granted: z.array(z.union([z.string(), z.number(), z.boolean()]).transform(String)).min(1).default(['granted']),
});

export const consentFileSchema = z.strictObject({
  purposes: z.record(identifier, consentPurposeSchema).default({}),
});

export type SyncFile = z.infer<typeof syncFileSchema>;
export type SyncSource = z.infer<typeof syncSourceSchema>;
export type MappingValue = z.infer<typeof mappingValueSchema>;
export type SyncOptions = z.infer<typeof syncOptionsSchema>;
export type DestinationEntry = z.infer<typeof destinationEntrySchema>;
export type ConsentPurpose = z.infer<typeof consentPurposeSchema>;
