/** The small kit connectors depend on (never the engine): types, errors, helpers. */
import type { z } from 'zod';
import type { DestinationDefinition } from './types';

export * from './types';
export * from './connector-error';
export * from './http';
export * from './identifiers';
export * from './phone';
export * from './outcomes';
export * from './email-audience';
export * from './object-options';
export * from './pause';
export * from './csv';
export { secret } from '../../src/warehouse/config';

/** Identity function that checks a definition against the contract and keeps its config type. */
export function defineDestination<ConfigSchema extends z.ZodType>(definition: DestinationDefinition<ConfigSchema>): DestinationDefinition<ConfigSchema> {
  for (const [name, object] of Object.entries(definition.objects)) {
    if (object.modes.length === 0) throw new Error(`${definition.type}.${name}: an object needs at least one mode`);
  }
  if (definition.limits.batchRows < 1 || definition.limits.concurrency < 1) throw new Error(`${definition.type}: limits must be positive`);
  return definition;
}
