/**
 * The warehouse tables a sync keeps in the project's state schema — the only place a sync
 * remembers anything about people (DESIGN §2: no customer data in the control DB):
 *  - `<sync>__state`    what the destination has, per key: row hash, its id, whether this sync created it;
 *  - `<sync>__rejected` rows the destination refused, with its reason and the hash refused;
 *  - `<sync>__plan`     the latest change set (the planner writes it, the executor streams it);
 *  - `<sync>__acks`     outcomes received but not yet folded into state (the commit journal);
 *  - `<sync>__log`      optional row-level log of every send.
 */
import type { Column, TableRef, Warehouse } from '../warehouse';

export interface SyncTables {
  state: TableRef;
  rejected: TableRef;
  plan: TableRef;
  acks: TableRef;
  log: TableRef;
}

export function syncTables(stateSchema: string, syncName: string): SyncTables {
  const t = (suffix: string): TableRef => ({ schema: stateSchema, name: `${syncName}__${suffix}` });
  return { state: t('state'), rejected: t('rejected'), plan: t('plan'), acks: t('acks'), log: t('log') };
}

export const stateColumns: Column[] = [
  { name: 'key', type: 'string' },
  { name: 'row_hash', type: 'integer' },
  { name: 'external_id', type: 'string' },
  { name: 'created', type: 'boolean' },
  { name: 'synced_at', type: 'timestamp' },
  { name: 'run_id', type: 'string' },
];

export const rejectedColumns: Column[] = [
  { name: 'key', type: 'string' },
  { name: 'row_hash', type: 'integer' },
  { name: 'op', type: 'string' },
  { name: 'reason', type: 'string' },
  { name: 'run_id', type: 'string' },
  { name: 'rejected_at', type: 'timestamp' },
];

/** One outcome as the executor journals it. */
export const ackColumns: Column[] = [
  { name: 'key', type: 'string' },
  { name: 'op', type: 'string' },
  { name: 'status', type: 'string' },
  { name: 'reason', type: 'string' },
  { name: 'external_id', type: 'string' },
  { name: 'created', type: 'boolean' },
];

export const logColumns: Column[] = [
  { name: 'run_id', type: 'string' },
  { name: 'key', type: 'string' },
  { name: 'op', type: 'string' },
  { name: 'status', type: 'string' },
  { name: 'reason', type: 'string' },
  { name: 'logged_at', type: 'timestamp' },
];

/** Creates the schema and the tables that must outlive a run (idempotent). */
export async function ensureSyncTables(warehouse: Warehouse, tables: SyncTables, withLog: boolean): Promise<void> {
  const d = warehouse.dialect;
  if (tables.state.schema) await warehouse.execute(d.createSchemaIfNotExists(tables.state.schema));
  const wanted: [TableRef, Column[]][] = [
    [tables.state, stateColumns],
    [tables.rejected, rejectedColumns],
    [tables.acks, ackColumns],
  ];
  if (withLog) wanted.push([tables.log, logColumns]);
  for (const [ref, columns] of wanted) {
    if (!(await relationExists(warehouse, ref))) await warehouse.execute(d.createTable(ref, columns));
  }
}

export async function relationExists(warehouse: Warehouse, ref: TableRef): Promise<boolean> {
  return (await warehouse.query(warehouse.dialect.relationKindSql(ref))).length > 0;
}

/** Drops every table of a sync (used by tests and when a sync is deleted). */
export async function dropSyncTables(warehouse: Warehouse, tables: SyncTables): Promise<void> {
  for (const ref of Object.values(tables)) await warehouse.execute(warehouse.dialect.dropTableIfExists(ref));
}
