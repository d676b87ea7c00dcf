/**
 * Builds the catalog rules are checked against from the warehouse: the columns of profiles,
 * accounts and each events source, and the event names seen. A missing profiles table is a
 * clear error (identity has not run yet), not an empty catalog that flags every trait.
 */
import { configError } from '../errors';
import type { Warehouse } from '../warehouse';
import { readColumns, readEventNames, type Catalog, type EventsCatalog } from './catalog';
import { segmentSubjects, SEGMENTS_CONFIG_FILE, type PlanOptions, type SegmentsSetup } from './load-segments';

/** `keepGoing`: a definition whose shape does not parse is left out of `segments` (planning sets it aside). */
export async function readCatalog(warehouse: Warehouse, setup: SegmentsSetup, options: PlanOptions = {}): Promise<Catalog> {
  const d = warehouse.dialect;
  const t = setup.tables;
  const profiles = await readColumns(warehouse, t.profiles);
  if (!profiles) {
    throw configError(`${d.qualify(t.profiles)}`, 'the profiles table does not exist yet', 'run `cdp identity run` (or `cdp run`) first: segments are built over its profiles');
  }
  const accounts = await readColumns(warehouse, t.accounts);
  const events = new Map<string, EventsCatalog>();
  for (const source of setup.events.values()) {
    const columns = await readColumns(warehouse, source.ref);
    if (!columns) throw configError(`${SEGMENTS_CONFIG_FILE} (events.${source.name})`, `${d.qualify(source.ref)} does not exist`, 'build the model first (`cdp run`) or fix the relation');
    const names = source.eventColumn ? await readEventNames(warehouse, d, source.ref, source.eventColumn) : undefined;
    events.set(source.name, { columns, names, fixedName: source.fixedName });
  }
  return { profiles, accounts, events, segments: segmentSubjects(setup, options) };
}
