/**
 * Builds one model in the warehouse. The invariant: a failed build never leaves a half
 * table or a missing one — the old relation stays until the new one is complete.
 *  - table: where DDL is transactional (DuckDB, PostgreSQL) build `<name>__cdp_tmp` and
 *    swap it in within one transaction; where CREATE OR REPLACE is atomic (BigQuery,
 *    Snowflake) use that; otherwise build the temp table first and swap after.
 *  - view: drop and create in one transaction, or CREATE OR REPLACE where DDL is not
 *    transactional.
 *  - incremental: first run (or --full-refresh) builds like a table; later runs build the
 *    incremental SELECT into a temp table and merge it on `unique_key`.
 * Which statement each step is comes from the dialect; this file only orders them.
 */
import type { CompiledModel } from '../compiler';
import type { Dialect, TableRef, Warehouse } from '../warehouse';

export type BuildKind = 'view' | 'table' | 'incremental' | 'full-refresh';

export interface BuildOutcome {
  kind: BuildKind;
  /** Rows in the table after the build; views have none. */
  rows?: number;
}

export const TEMP_SUFFIX = '__cdp_tmp';

export async function materialize(warehouse: Warehouse, model: CompiledModel, options: { fullRefresh: boolean }): Promise<BuildOutcome> {
  const d = warehouse.dialect;
  const existing = await relationKind(warehouse, model.ref);
  if (model.ref.schema) await warehouse.execute(d.createSchemaIfNotExists(model.ref.schema));

  if (model.config.materialized === 'view') {
    if (!d.capabilities.transactionalDdl && existing !== 'table') {
      // Without transactional DDL a drop-then-create would leave a moment with no view.
      await warehouse.execute(d.createOrReplaceView(model.ref, model.sql));
    } else {
      // PostgreSQL cannot CREATE OR REPLACE a view whose columns changed: drop and create, atomically.
      await warehouse.executeAll([dropRelation(d, model.ref, existing), d.createView(model.ref, model.sql)].filter(isStatement));
    }
    return { kind: 'view' };
  }

  if (model.config.materialized === 'incremental' && existing === 'table' && !options.fullRefresh) {
    await mergeIncremental(warehouse, model);
    return { kind: 'incremental', rows: await countRows(warehouse, model.ref) };
  }

  await replaceTable(warehouse, model.ref, model.sql, existing);
  const kind: BuildKind = model.config.materialized === 'incremental' ? 'full-refresh' : 'table';
  return { kind, rows: await countRows(warehouse, model.ref) };
}

async function replaceTable(warehouse: Warehouse, ref: TableRef, sql: string, existing: RelationKind | null): Promise<void> {
  const d = warehouse.dialect;
  const temp = tempRef(ref);
  if (d.capabilities.transactionalDdl) {
    await warehouse.executeAll(
      [d.dropTableIfExists(temp), d.createTableAs(temp, sql), dropRelation(d, ref, existing), d.renameTable(temp, ref.name)].filter(isStatement),
    );
    return;
  }
  if (d.capabilities.createOrReplaceTable && existing !== 'view') {
    await warehouse.execute(d.createOrReplaceTableAs(ref, sql));
    return;
  }
  // No atomic swap available: the build (the slow, failure-prone part) happens off to the
  // side, so the target is only ever missing for the moment of the rename.
  await warehouse.execute(d.dropTableIfExists(temp));
  await warehouse.execute(d.createTableAs(temp, sql));
  await warehouse.executeAll([dropRelation(d, ref, existing), d.renameTable(temp, ref.name)].filter(isStatement));
}

async function mergeIncremental(warehouse: Warehouse, model: CompiledModel): Promise<void> {
  const d = warehouse.dialect;
  const temp = tempRef(model.ref);
  await warehouse.execute(d.dropTableIfExists(temp));
  await warehouse.execute(d.createTableAs(temp, model.incrementalSql ?? model.sql));
  try {
    const targetColumns = await columnNames(warehouse, model.ref);
    const newColumns = new Set(await columnNames(warehouse, temp));
    // Columns the target lacks are ignored (dbt's on_schema_change: ignore); a full refresh adds them.
    const columns = targetColumns.filter((c) => newColumns.has(c));
    await warehouse.executeAll(d.merge({ target: model.ref, source: temp, uniqueKey: model.uniqueKey, columns }));
  } finally {
    await warehouse.execute(d.dropTableIfExists(temp));
  }
}

type RelationKind = 'table' | 'view';

export async function relationKind(warehouse: Warehouse, ref: TableRef): Promise<RelationKind | null> {
  const rows = await warehouse.query<{ kind: string }>(warehouse.dialect.relationKindSql(ref));
  const kind = rows[0]?.kind;
  return kind === 'table' || kind === 'view' ? kind : null;
}

async function columnNames(warehouse: Warehouse, ref: TableRef): Promise<string[]> {
  const rows = await warehouse.query<{ column_name: string }>(warehouse.dialect.columnsSql(ref));
  return rows.map((r) => r.column_name);
}

async function countRows(warehouse: Warehouse, ref: TableRef): Promise<number> {
  const rows = await warehouse.query<{ n: number }>(`SELECT COUNT(*) AS ${warehouse.dialect.quoteIdent('n')} FROM ${warehouse.dialect.qualify(ref)}`);
  return Number(rows[0]?.n ?? 0);
}

function dropRelation(d: Dialect, ref: TableRef, existing: RelationKind | null): string | undefined {
  if (existing === 'view') return d.dropViewIfExists(ref);
  if (existing === 'table') return d.dropTableIfExists(ref);
  return undefined;
}

function tempRef(ref: TableRef): TableRef {
  return { schema: ref.schema, name: `${ref.name}${TEMP_SUFFIX}` };
}

function isStatement(s: string | undefined): s is string {
  return s !== undefined;
}
