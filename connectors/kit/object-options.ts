/**
 * A connector's object options (a sync's `object_options`) read with one zod schema per
 * object, and the config failures every connector raises the same way: options that do
 * not parse, an object it does not have, an operation an object does not take.
 * Invariant: each is a `config` ConnectorError (the run stops before anything is sent)
 * whose message names the object and, for options, the option path.
 */
import type { z } from 'zod';
import { ConnectorError } from './connector-error';
import type { Batch } from './types';

export interface ObjectOptionsHints {
  /** Where to look when options do not parse (default: the sync file and the connector README). */
  options?: string;
  /** What to pick instead of an unsupported operation. */
  unsupported?: string;
}

export interface ObjectOptions<Schemas extends Record<string, z.ZodType>> {
  /** The batch's options read with `object`'s schema (defaults applied); a mismatch throws a config failure. */
  parse<K extends keyof Schemas & string>(object: K, batch: Pick<Batch, 'object' | 'options'>): z.output<Schemas[K]>;
  /** A config failure for an object the connector does not have. */
  unknownObject(batch: Pick<Batch, 'object'>): ConnectorError;
  /** A config failure for an operation the batch's object does not take. */
  unsupported(batch: Pick<Batch, 'object' | 'op'>): ConnectorError;
}

/**
 * Object options for `destination` (its type, as in errors), one schema per object.
 * `readme` is the connector's folder under connectors/ when it differs from the type.
 */
export function objectOptions<const Schemas extends Record<string, z.ZodType>>(destination: string, schemas: Schemas, hints: ObjectOptionsHints & { readme?: string } = {}): ObjectOptions<Schemas> {
  const readme = `connectors/${hints.readme ?? destination}/README.md`;
  const objects = Object.keys(schemas);
  return {
    parse(object, batch) {
      const parsed = schemas[object]!.safeParse(batch.options ?? {});
      if (parsed.success) return parsed.data as z.output<Schemas[typeof object]>;
      const issue = parsed.error.issues[0];
      throw new ConnectorError(destination, 'config', `bad options for ${batch.object}: ${issue?.path.join('.') || 'options'} — ${issue?.message ?? 'invalid'}`, {
        hint: hints.options ?? `fix object_options in the sync file (see ${readme})`,
      });
    },
    unknownObject(batch) {
      return new ConnectorError(destination, 'config', `unknown object ${batch.object}`, { hint: `${destination} objects are ${objects.join(', ')}` });
    },
    unsupported(batch) {
      return new ConnectorError(destination, 'config', `${batch.object} does not support the ${batch.op} operation`, { hint: hints.unsupported ?? 'pick a mode the object lists (cdp sync plan shows them)' });
    },
  };
}
