/**
 * Loads a project's sync files: `destinations.yml` (each config validated against its
 * connector's own zod schema, secrets from ${ENV}), `consent.yml` (purposes) and
 * `syncs/*.yml` (checked against the destination: object exists, mode allowed, required
 * object options given, mapping compiles). Every error is `file:line: what — how to fix`
 * (parseYaml maps zod issue paths to lines, so cross-file checks run inside the schema).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { destinationDefinition, destinationRegistry } from '../../connectors/registry';
import type { DestinationDefinition, RateLimits, SyncMode } from '../../connectors/kit';
import { configError } from '../errors';
import { parseYaml, type Env } from '../project';
import { compileMapping, type CompiledMapping } from './mapping';
import { budgetFromRate } from './rate-budget';
import { consentFileSchema, destinationEntrySchema, syncFileSchema, type ConsentPurpose, type SyncFile } from './sync-schema';

export const DESTINATIONS_FILE = 'destinations.yml';
export const CONSENT_FILE = 'consent.yml';
export const SYNCS_DIR = 'syncs';

export interface LoadedDestination {
  name: string;
  type: string;
  definition: DestinationDefinition;
  /** Validated by the connector's schema (defaults applied); holds secrets: never print it. */
  config: unknown;
  /** The connector's limits with this account's overrides. */
  limits: RateLimits;
}

export interface LoadedSync {
  name: string;
  /** Path relative to the project, for errors. */
  file: string;
  spec: SyncFile;
  mode: SyncMode;
  destination: LoadedDestination;
  mapping: CompiledMapping;
  purpose?: { name: string } & ConsentPurpose;
}

export interface SyncProject {
  destinations: Map<string, LoadedDestination>;
  purposes: Record<string, ConsentPurpose>;
  syncs: Map<string, LoadedSync>;
}

export function loadSyncProject(projectDir: string, env: Env): SyncProject {
  const destinations = loadDestinations(projectDir, env);
  const purposes = loadPurposes(projectDir, env);
  const syncs = new Map<string, LoadedSync>();
  const dir = join(projectDir, SYNCS_DIR);
  if (existsSync(dir)) {
    for (const entry of readdirSync(dir).sort()) {
      if (!/\.ya?ml$/.test(entry)) continue;
      const name = entry.replace(/\.ya?ml$/, '').replace(/-/g, '_');
      const file = `${SYNCS_DIR}/${entry}`;
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw configError(file, `sync name '${name}' is not an identifier`, 'rename the file to letters, digits, - and _');
      if (syncs.has(name)) throw configError(file, `sync '${name}' is defined twice`, 'rename one of the files');
      syncs.set(name, loadSync(name, file, readFileSync(join(projectDir, file), 'utf8'), destinations, purposes, env));
    }
  }
  return { destinations, purposes, syncs };
}

export function loadDestinations(projectDir: string, env: Env): Map<string, LoadedDestination> {
  const path = join(projectDir, DESTINATIONS_FILE);
  const result = new Map<string, LoadedDestination>();
  if (!existsSync(path)) return result;
  const entrySchema = destinationEntrySchema.superRefine((entry, ctx) => {
    const definition = destinationDefinition(entry.type);
    if (!definition) {
      ctx.addIssue({ code: 'custom', path: ['type'], message: `unknown destination type '${entry.type}' — use one of ${Object.keys(destinationRegistry).join(', ')}` });
      return;
    }
    const parsed = definition.config.safeParse(entry.config);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: ['config', ...issue.path] } as z.core.$ZodRawIssue);
    }
  });
  const file = parseYaml({ file: DESTINATIONS_FILE, text: readFileSync(path, 'utf8') }, z.record(z.string(), entrySchema), env);
  for (const [name, entry] of Object.entries(file)) {
    const definition = destinationDefinition(entry.type)!;
    const limits: RateLimits = { ...definition.limits };
    if (entry.limits?.batch_rows) limits.batchRows = entry.limits.batch_rows;
    if (entry.limits?.concurrency) limits.concurrency = entry.limits.concurrency;
    if (entry.limits?.requests_per_second) {
      const spec = budgetFromRate(entry.limits.requests_per_second);
      limits.requests = { count: spec.count, perMs: spec.perMs };
    }
    result.set(name, { name, type: entry.type, definition, config: definition.config.parse(entry.config), limits });
  }
  return result;
}

function loadPurposes(projectDir: string, env: Env): Record<string, ConsentPurpose> {
  const path = join(projectDir, CONSENT_FILE);
  if (!existsSync(path)) return {};
  const schema = consentFileSchema.superRefine((file, ctx) => {
    for (const [name, purpose] of Object.entries(file.purposes)) {
      if (purpose.model && !purpose.key) ctx.addIssue({ code: 'custom', path: ['purposes', name, 'key'], message: `purposes.${name}.key is required with model — name the column of ${purpose.model} that matches the sync key` });
    }
  });
  return parseYaml({ file: CONSENT_FILE, text: readFileSync(path, 'utf8') }, schema, env).purposes;
}

export function loadSync(name: string, file: string, text: string, destinations: Map<string, LoadedDestination>, purposes: Record<string, ConsentPurpose>, env: Env): LoadedSync {
  const schema = syncFileSchema.superRefine((spec, ctx) => {
    const destination = destinations.get(spec.destination);
    if (!destination) {
      const known = [...destinations.keys()];
      ctx.addIssue({ code: 'custom', path: ['destination'], message: `no destination '${spec.destination}' in ${DESTINATIONS_FILE} — ${known.length ? `use one of ${known.join(', ')}` : `define it in ${DESTINATIONS_FILE}`}` });
      return;
    }
    const object = destination.definition.objects[spec.object];
    if (!object) {
      ctx.addIssue({ code: 'custom', path: ['object'], message: `${destination.type} has no object '${spec.object}' — use one of ${Object.keys(destination.definition.objects).join(', ')}` });
      return;
    }
    if (!object.modes.includes(spec.mode)) {
      ctx.addIssue({ code: 'custom', path: ['mode'], message: `${destination.type} ${spec.object} does not support mode ${spec.mode} — use one of ${object.modes.join(', ')}` });
    }
    for (const option of object.requiredOptions ?? []) {
      if (spec.object_options[option] === undefined) {
        ctx.addIssue({ code: 'custom', path: ['object_options'], message: `${destination.type} ${spec.object} needs object_options.${option} — add it, e.g. object_options: { ${option}: "…" }` });
      }
    }
    if (spec.purpose && !purposes[spec.purpose]) {
      const known = Object.keys(purposes);
      ctx.addIssue({ code: 'custom', path: ['purpose'], message: `no consent purpose '${spec.purpose}' in ${CONSENT_FILE} — ${known.length ? `use one of ${known.join(', ')}` : `define it under purposes: in ${CONSENT_FILE}`}` });
    }
  });
  const spec = parseYaml({ file, text }, schema, env);
  const destination = destinations.get(spec.destination)!;
  const mapping = compileMapping(spec.mapping, spec.options.nulls, file);
  const purpose = spec.purpose ? { name: spec.purpose, ...purposes[spec.purpose]! } : undefined;
  return { name, file, spec, mode: spec.mode, destination, mapping, purpose };
}

/** What the control DB stores for a sync: its validated file, without destination secrets. */
export function storableSync(sync: LoadedSync): { name: string; file: string; destination: string; mode: string; schedule: string; enabled: boolean; definition: unknown } {
  return {
    name: sync.name,
    file: sync.file,
    destination: sync.spec.destination,
    mode: sync.mode,
    schedule: typeof sync.spec.schedule === 'string' ? sync.spec.schedule : JSON.stringify(sync.spec.schedule),
    enabled: sync.spec.enabled,
    definition: sync.spec,
  };
}
