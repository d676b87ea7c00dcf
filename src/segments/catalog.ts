/**
 * What rules can refer to: the columns (with a value kind) of profiles, accounts and each
 * events source, the event names seen, and the other segments. Built from the warehouse by
 * introspection (`readCatalog`), or given directly (tests, compiling for a warehouse we
 * cannot reach). Rule checking and compilation are pure functions of it.
 */
import type { Dialect, TableRef, Warehouse } from '../warehouse';

export type ValueKind = 'string' | 'number' | 'time' | 'boolean';

export interface EventsCatalog {
  columns: Map<string, ValueKind>;
  /** Event names present (undefined: too many to list, or a fixed-name source — not checked). */
  names?: Set<string>;
  /** The fixed name of a source without an event column. */
  fixedName?: string;
}

export interface Catalog {
  profiles: Map<string, ValueKind>;
  /** Undefined when the project has no B2B accounts. */
  accounts?: Map<string, ValueKind>;
  events: Map<string, EventsCatalog>;
  /** Segment name → what it is over. */
  segments: Map<string, 'profiles' | 'accounts'>;
}

/** Maps a warehouse's data_type text onto the four kinds rules distinguish. */
export function valueKindOf(dataType: string): ValueKind {
  const t = dataType.toUpperCase();
  if (/TIMESTAMP|DATE|TIME/.test(t)) return 'time';
  if (/BOOL/.test(t)) return 'boolean';
  if (/INT|DEC|NUMERIC|NUMBER|DOUBLE|FLOAT|REAL|HUGEINT/.test(t)) return 'number';
  return 'string';
}

export async function readColumns(warehouse: Warehouse, ref: TableRef): Promise<Map<string, ValueKind> | undefined> {
  const rows = await warehouse.query<{ column_name: string; data_type: string }>(warehouse.dialect.columnsSql(ref));
  if (rows.length === 0) return undefined;
  return new Map(rows.map((r) => [String(r.column_name).toLowerCase(), valueKindOf(String(r.data_type))]));
}

/** Distinct event names, or undefined when there are more than `max` (then names are not checked). */
export async function readEventNames(warehouse: Warehouse, d: Dialect, ref: TableRef, column: string, max = 1000): Promise<Set<string> | undefined> {
  const rows = await warehouse.query(`SELECT DISTINCT ${d.quoteIdent(column)} AS name FROM ${d.qualify(ref)} WHERE ${d.quoteIdent(column)} IS NOT NULL LIMIT ${max + 1}`);
  if (rows.length > max) return undefined;
  return new Set(rows.map((r) => String(r.name)));
}
