/**
 * Resolves where a sync reads from: a model (its built relation), a table by name, or a
 * segment's membership table. Segments are resolved through a function the caller passes
 * (the CLI and scheduler know the segments module; the sync engine stays beside it, not
 * above it). Also the consent purpose's relation when it names a model.
 */
import { configError } from '../errors';
import type { TableRef } from '../warehouse';
import type { LoadedSync } from './load-syncs';
import type { SyncTarget } from './planner';
import { syncTables } from './state-tables';

export interface RelationLookup {
  /** Built relation of each enabled model. */
  models: Map<string, TableRef>;
  defaultSchema: string;
  stateSchema: string;
  /** A segment's membership table (`seg_<name>`); absent where segments are not available. */
  segment?: (name: string) => TableRef;
}

export function resolveSyncTarget(sync: LoadedSync, lookup: RelationLookup): SyncTarget {
  const model = (name: string, what: string): TableRef => {
    const ref = lookup.models.get(name);
    if (!ref) throw configError(sync.file, `${what} '${name}' is not a model of this project`, `use one of ${[...lookup.models.keys()].slice(0, 15).join(', ')}`);
    return ref;
  };
  const src = sync.spec.source;
  let source: TableRef;
  if ('model' in src) source = model(src.model, 'source model');
  else if ('table' in src) {
    const [a, b] = src.table.split('.');
    source = b === undefined ? { schema: lookup.defaultSchema, name: a! } : { schema: a!, name: b };
  } else if (lookup.segment) {
    source = lookup.segment(src.segment);
  } else {
    throw configError(sync.file, `source segment '${src.segment}' cannot be resolved here`, 'run the sync through cdp sync or cdp serve, which know the project\'s segments');
  }
  const consentTable = sync.purpose?.model ? model(sync.purpose.model, `consent purpose ${sync.purpose.name}: model`) : undefined;
  return { sync, source, consentTable, tables: syncTables(lookup.stateSchema, sync.name) };
}
