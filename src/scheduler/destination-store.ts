/**
 * Destinations written through the API, in the control DB (`cdp_destinations`). Secret
 * fields (per the connector's schema) are sealed with the secret box and stored apart from
 * the rest; what is shown, listed or audited never carries them — only which ones are set.
 * Secrets are write-only: an update that omits a secret keeps the stored one.
 *
 * Lives below the server because the scheduler's runs resolve these destinations too.
 */
import { z } from 'zod';
import type { RateLimits } from '../../connectors/kit';
import { destinationDefinition, destinationRegistry } from '../../connectors/registry';
import type { ControlDb } from '../control';
import { CdpError, configError } from '../errors';
import { budgetFromRate, destinationEntrySchema, type LoadedDestination } from '../sync';
import { secretFields, splitSecrets, type JsonObject } from './config-secrets';
import type { SecretBox } from './secret-box';

export const destinationInputSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'must be an identifier (letters, digits, _) — e.g. hubspot_prod' }),
  type: z.string().min(1),
  description: z.string().optional(),
  config: z.record(z.string(), z.unknown()).default({}),
  limits: destinationEntrySchema.shape.limits,
});
export type DestinationInput = z.infer<typeof destinationInputSchema>;

/** What anyone may see of a destination. */
export interface DestinationView {
  name: string;
  type: string;
  origin: 'api' | 'file';
  description: string | null;
  config: JsonObject;
  /** Secret fields and whether each is set; never their values. */
  secrets: Record<string, 'set' | 'unset'>;
  limits: JsonObject | null;
  updated_at: string | null;
}

const rowSchema = z.object({
  project: z.string(),
  name: z.string(),
  type: z.string(),
  config: z.string(),
  secrets: z.string().nullable(),
  limits: z.string().nullable(),
  updated_at: z.coerce.date(),
});
type DestinationRow = z.infer<typeof rowSchema>;

export class DestinationStore {
  constructor(
    private readonly db: ControlDb,
    private readonly project: string,
    /** Absent when no key is configured: reads of non-secret fields still work, writes of secrets fail. */
    private readonly box: SecretBox | undefined,
  ) {}

  async get(name: string): Promise<DestinationRow | undefined> {
    const row = await this.db.knex('cdp_destinations').where({ project: this.project, name }).first();
    return row ? rowSchema.parse(row) : undefined;
  }

  async list(): Promise<DestinationView[]> {
    const rows = z.array(rowSchema).parse(await this.db.knex('cdp_destinations').where({ project: this.project }).orderBy('name'));
    return rows.map((row) => this.view(row));
  }

  view(row: DestinationRow): DestinationView {
    const definition = destinationDefinition(row.type);
    const secretNames = definition ? secretFields(definition.config) : [];
    const stored = row.secrets && this.box ? (JSON.parse(this.box.open(row.secrets)) as JsonObject) : {};
    const plain = JSON.parse(row.config) as JsonObject & { description?: string };
    const { description, ...config } = plain;
    return {
      name: row.name,
      type: row.type,
      origin: 'api',
      description: typeof description === 'string' ? description : null,
      config,
      secrets: Object.fromEntries(secretNames.map((s) => [s, stored[s] === undefined ? 'unset' : 'set'])),
      limits: row.limits ? (JSON.parse(row.limits) as JsonObject) : null,
      updated_at: row.updated_at.toISOString(),
    };
  }

  /**
   * Validates against the connector's schema (secrets omitted on update are taken from the
   * stored ones), seals the secrets and writes. Returns the views before and after, for audit.
   */
  async save(input: DestinationInput): Promise<{ before?: DestinationView; after: DestinationView }> {
    const definition = destinationDefinition(input.type);
    if (!definition) throw configError(`destination ${input.name}`, `unknown destination type '${input.type}'`, `use one of ${Object.keys(destinationRegistry).join(', ')}`);
    const existing = await this.get(input.name);
    const secretNames = secretFields(definition.config);
    const keptSecrets = existing && existing.type === input.type && existing.secrets ? (JSON.parse(this.requireBox().open(existing.secrets)) as JsonObject) : {};
    const merged: JsonObject = { ...keptSecrets, ...input.config };
    const parsed = definition.config.safeParse(merged);
    if (!parsed.success) throw new ValidationError(parsed.error.issues.map((i) => ({ path: ['config', ...i.path.map(String)].join('.'), message: i.message })));
    // Store what the client gave (plus kept secrets), not the parsed defaults: a later default change applies.
    const { plain, secret } = splitSecrets(merged, secretNames);
    const now = new Date();
    const record = {
      project: this.project,
      name: input.name,
      type: input.type,
      config: JSON.stringify(input.description ? { ...plain, description: input.description } : plain),
      secrets: Object.keys(secret).length ? this.requireBox().seal(JSON.stringify(secret)) : null,
      limits: input.limits ? JSON.stringify(input.limits) : null,
      updated_at: now,
    };
    await this.db.knex.transaction(async (trx) => {
      if (existing) await trx('cdp_destinations').where({ project: this.project, name: input.name }).update(record);
      else await trx('cdp_destinations').insert({ ...record, created_at: now });
    });
    return { before: existing ? this.view(existing) : undefined, after: this.view(rowSchema.parse({ ...record })) };
  }

  async remove(name: string): Promise<DestinationView | undefined> {
    const existing = await this.get(name);
    if (!existing) return undefined;
    await this.db.knex('cdp_destinations').where({ project: this.project, name }).delete();
    return this.view(existing);
  }

  /** Full configs (secrets opened) for the sync engine. Never leaves the process. */
  async loadAll(): Promise<Map<string, LoadedDestination>> {
    const rows = z.array(rowSchema).parse(await this.db.knex('cdp_destinations').where({ project: this.project }));
    const result = new Map<string, LoadedDestination>();
    for (const row of rows) result.set(row.name, this.load(row));
    return result;
  }

  load(row: DestinationRow): LoadedDestination {
    const definition = destinationDefinition(row.type);
    if (!definition) throw configError(`destination ${row.name}`, `unknown destination type '${row.type}'`, 'this version of cdp does not know it; delete or recreate the destination');
    const { description: _description, ...plain } = JSON.parse(row.config) as JsonObject;
    const secret = row.secrets ? (JSON.parse(this.requireBox().open(row.secrets)) as JsonObject) : {};
    const config = definition.config.parse({ ...plain, ...secret });
    const limits: RateLimits = { ...definition.limits };
    const overrides = row.limits ? destinationEntrySchema.shape.limits.parse(JSON.parse(row.limits)) : undefined;
    if (overrides?.batch_rows) limits.batchRows = overrides.batch_rows;
    if (overrides?.concurrency) limits.concurrency = overrides.concurrency;
    if (overrides?.requests_per_second) {
      const spec = budgetFromRate(overrides.requests_per_second);
      limits.requests = { count: spec.count, perMs: spec.perMs };
    }
    return { name: row.name, type: row.type, definition, config, limits };
  }

  private requireBox(): SecretBox {
    if (!this.box) throw new CdpError('no secret key is configured: destination secrets cannot be read or written', { code: 'SECRET_KEY', kind: 'config', where: 'environment CDP_SECRET_KEY', hint: 'set CDP_SECRET_KEY (at least 32 random characters) for cdp serve and cdp worker' });
    return this.box;
  }
}

/** Re-seals every stored secret with the new key; envelopes already on it are left alone. One transaction. */
export async function rotateDestinationSecrets(db: ControlDb, oldBox: SecretBox, newBox: SecretBox): Promise<{ rotated: number; alreadyCurrent: number }> {
  let rotated = 0;
  let alreadyCurrent = 0;
  await db.knex.transaction(async (trx) => {
    const rows = z.array(z.object({ project: z.string(), name: z.string(), secrets: z.string().nullable() })).parse(await trx('cdp_destinations').select('project', 'name', 'secrets'));
    for (const row of rows) {
      if (!row.secrets) continue;
      if (newBox.sealedByMe(row.secrets)) {
        alreadyCurrent += 1;
        continue;
      }
      await trx('cdp_destinations').where({ project: row.project, name: row.name }).update({ secrets: newBox.seal(oldBox.open(row.secrets)) });
      rotated += 1;
    }
  });
  return { rotated, alreadyCurrent };
}

/** A request body that failed validation: each problem with its field path. */
export class ValidationError extends CdpError {
  constructor(readonly issues: { path: string; message: string }[]) {
    super(`invalid request: ${issues.map((i) => `${i.path || '(body)'}: ${i.message}`).join('; ')}`, { code: 'INVALID', kind: 'config', where: 'request' });
  }
}
