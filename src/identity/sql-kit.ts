/**
 * Small statement helpers the identity steps share: atomic table replacement (build aside,
 * swap in one unit where DDL is transactional), create-if-missing for state tables, and
 * existence checks. Every statement comes from the dialect.
 */
import type { Column, TableRef, Warehouse } from '../warehouse';

export async function tableExists(warehouse: Warehouse, ref: TableRef): Promise<boolean> {
  return (await warehouse.query(warehouse.dialect.relationKindSql(ref))).length > 0;
}

/** Replaces `ref` with the result of `select`; the old table stays whole until the new one is built. */
export async function replaceTable(warehouse: Warehouse, ref: TableRef, select: string): Promise<void> {
  const d = warehouse.dialect;
  const temp = { schema: ref.schema, name: `${ref.name}__cdp_tmp` };
  if (d.capabilities.createOrReplaceTable) {
    await warehouse.execute(d.createOrReplaceTableAs(ref, select));
    return;
  }
  await warehouse.execute(d.dropTableIfExists(temp));
  await warehouse.execute(d.createTableAs(temp, select));
  await warehouse.executeAll([d.dropTableIfExists(ref), d.renameTable(temp, ref.name)]);
}

/** A scratch table: dropped if left over, then built. */
export async function createScratch(warehouse: Warehouse, ref: TableRef, select: string): Promise<void> {
  const d = warehouse.dialect;
  await warehouse.execute(d.dropTableIfExists(ref));
  await warehouse.execute(d.createTableAs(ref, select));
}

export async function ensureTable(warehouse: Warehouse, ref: TableRef, columns: Column[]): Promise<void> {
  if (!(await tableExists(warehouse, ref))) await warehouse.execute(warehouse.dialect.createTable(ref, columns));
}

export async function countRows(warehouse: Warehouse, ref: TableRef): Promise<number> {
  const [row] = await warehouse.query(`SELECT COUNT(*) AS ${warehouse.dialect.quoteIdent('n')} FROM ${warehouse.dialect.qualify(ref)}`);
  return Number(row?.n ?? 0);
}
