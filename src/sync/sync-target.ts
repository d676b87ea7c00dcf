/**
 * Resolves where a sync reads from: a model (its built relation), a table by name, or a
 * segment (accepted in files now; resolved once the segments module exists). Also the
 * consent purpose's relation when it names a model.
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
  } else {
    throw configError(sync.file, `source segment '${src.segment}' cannot be resolved yet: segments are not built by this version`, 'use source: { model: name } for now');
  }
  const consentTable = sync.purpose?.model ? model(sync.purpose.model, `consent purpose ${sync.purpose.name}: model`) : undefined;
  return { sync, source, consentTable, tables: syncTables(lookup.stateSchema, sync.name) };
}
