/**
 * The demo retailer's raw data: `generateDemoTables` describes and streams the nine source
 * tables; `loadDemoData` (re)creates them in a warehouse schema. Same options ⇒ same bytes.
 */
import type { Row, Warehouse } from '../../../src/warehouse';
import { companiesTable, membershipsTable } from './companies';
import { consentsTable } from './consents';
import { appUsersTable, crmContactsTable } from './customers';
import { ordersTable, supportTicketsTable } from './commerce';
import { makeContext, type DemoOptions, type DemoTable } from './table';
import { appEventsTable, webEventsTable } from './web';

export { DEFAULT_AS_OF, type DemoOptions, type DemoTable } from './table';

/** The tables in the order the project file lists them. */
export const DEMO_TABLE_NAMES = [
  'web_events',
  'app_events',
  'app_users',
  'crm_contacts',
  'orders',
  'support_tickets',
  'consents',
  'companies',
  'memberships',
] as const;

export function generateDemoTables(options: DemoOptions): DemoTable[] {
  const ctx = makeContext(options);
  return [
    webEventsTable(ctx),
    appEventsTable(ctx),
    appUsersTable(ctx),
    crmContactsTable(ctx),
    ordersTable(ctx),
    supportTicketsTable(ctx),
    consentsTable(ctx),
    companiesTable(ctx),
    membershipsTable(ctx),
  ];
}

export interface LoadProgress {
  table: string;
  /** Rows of this table generated so far. */
  rows: number;
}

export interface LoadDemoOptions extends DemoOptions {
  /** Called after each batch is handed to the warehouse (for progress output). */
  onProgress?: (progress: LoadProgress) => void;
}

/** Drops and recreates each raw table in `schema`, then bulk-loads it. */
export async function loadDemoData(
  warehouse: Warehouse,
  schema: string,
  options: LoadDemoOptions,
): Promise<{ table: string; rows: number }[]> {
  const dialect = warehouse.dialect;
  await warehouse.execute(dialect.createSchemaIfNotExists(schema));
  const loaded: { table: string; rows: number }[] = [];
  for (const table of generateDemoTables(options)) {
    const ref = { schema, name: table.name };
    await warehouse.execute(dialect.dropTableIfExists(ref));
    await warehouse.execute(dialect.createTable(ref, table.columns));
    const batches = options.onProgress ? withProgress(table.name, table.rows(), options.onProgress) : table.rows();
    const rows = await warehouse.load(ref, table.columns, batches);
    loaded.push({ table: table.name, rows });
  }
  return loaded;
}

async function* withProgress(
  table: string,
  batches: AsyncIterable<Row[]>,
  onProgress: (progress: LoadProgress) => void,
): AsyncGenerator<Row[]> {
  let rows = 0;
  for await (const batch of batches) {
    yield batch;
    rows += batch.length;
    onProgress({ table, rows });
  }
}
