/**
 * Reads a sync's rejected rows (key, op, the destination's reason, when) from the state
 * schema, for `cdp sync rejected` and the API. They stay in the warehouse: they name people.
 */
import { z } from 'zod';
import type { Warehouse } from '../warehouse';
import { relationExists, type SyncTables } from './state-tables';

export const rejectedRowSchema = z.object({
  key: z.string(),
  op: z.string(),
  reason: z.string().nullable(),
  run_id: z.string().nullable(),
  rejected_at: z.coerce.date().nullable(),
});
export type RejectedRow = z.infer<typeof rejectedRowSchema>;

export async function rejectedRows(warehouse: Warehouse, tables: SyncTables, limit = 100): Promise<{ total: number; rows: RejectedRow[] }> {
  if (!(await relationExists(warehouse, tables.rejected))) return { total: 0, rows: [] };
  const table = warehouse.dialect.qualify(tables.rejected);
  const [{ n }] = await warehouse.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`);
  const rows = await warehouse.query(`SELECT key, op, reason, run_id, rejected_at FROM ${table} ORDER BY rejected_at DESC, key LIMIT ${Math.max(1, Math.floor(limit))}`);
  return { total: Number(n), rows: z.array(rejectedRowSchema).parse(rows) };
}
