/**
 * The connected-components driver: reads cheap statistics of the edge table, picks a
 * strategy, runs it with scratch tables that are always dropped afterwards, and reports
 * what it did. Every strategy writes the same table — (node, component = minimum id of the
 * node's component), one row per node appearing in the edges — so they are interchangeable
 * and the tests hold them to one in-memory reference.
 *
 * 'auto' runs in process when the warehouse offers the columnar fast path (an embedded
 * DuckDB) and the edges fit the memory budget; everywhere else — PostgreSQL, BigQuery,
 * Snowflake, or a graph too large — the SQL path (contraction-sql.ts) runs in the warehouse.
 */
import { CdpError, isCdpError, messageOf } from '../../errors';
import type { TableRef, Warehouse } from '../../warehouse';
import { CONTRACTION_ID_LIMIT, contractionComponents } from './contraction-sql';
import { inProcessComponents } from './in-process';
import { labelPropagationComponents } from './label-propagation-sql';
import { replaceTableAs, ScratchTables } from './scratch';
import type { ComponentsInput, ComponentsResult, ComponentsStrategy, EdgeStats } from './types';

/** 50M edges: the union-find needs ~9 bytes per id, and ids are at most two per edge (< 1 GB). */
export const DEFAULT_MAX_IN_PROCESS_EDGES = 50_000_000;
/** Typed-array union-find holds ids as Int32. */
const IN_PROCESS_ID_LIMIT = 2 ** 31 - 1;
const WHERE = 'identity components';

export async function connectedComponents(warehouse: Warehouse, input: ComponentsInput): Promise<ComponentsResult> {
  const started = process.hrtime.bigint();
  const { dialect } = warehouse;
  try {
    const stats = await edgeStats(warehouse, input.edges);
    if (stats.edges > 0 && stats.minId < 1) {
      throw new CdpError(`edge table ${dialect.qualify(input.edges)} has node id ${stats.minId}; ids must be >= 1`, { code: 'IDENTITY', kind: 'internal', where: WHERE, hint: 'number identifiers densely from 1 (ROW_NUMBER) before computing components' });
    }
    const strategy = chooseStrategy(warehouse, input, stats);
    await warehouse.execute(dialect.createSchemaIfNotExists(input.scratchSchema));
    const scratch = new ScratchTables(warehouse, input.scratchSchema);
    let rounds = 0;
    let counts: { nodes: number; components: number } | undefined;
    try {
      if (stats.edges === 0) {
        await replaceTableAs(warehouse, input.output, `SELECT CAST(NULL AS ${dialect.typeName('integer')}) AS ${dialect.quoteIdent('node')}, CAST(NULL AS ${dialect.typeName('integer')}) AS ${dialect.quoteIdent('component')} FROM ${dialect.qualify(input.edges)} WHERE 1 = 0`);
        counts = { nodes: 0, components: 0 };
      } else if (strategy === 'in-process') {
        counts = await inProcessComponents(warehouse, input.edges, input.output, stats.maxId);
      } else if (strategy === 'sql') {
        rounds = await contractionComponents(warehouse, input.edges, input.output, scratch);
      } else {
        rounds = await labelPropagationComponents(warehouse, input.edges, input.output, scratch);
      }
    } finally {
      await scratch.dropAll();
    }
    counts ??= await outputCounts(warehouse, input.output);
    return { strategy, rounds, ...counts, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
  } catch (error) {
    if (isCdpError(error)) throw error;
    throw new CdpError(`connected components failed: ${messageOf(error)}`, { code: 'IDENTITY', kind: 'internal', where: WHERE, hint: 'this is a bug: please report it', cause: error });
  }
}

function chooseStrategy(warehouse: Warehouse, input: ComponentsInput, stats: EdgeStats): ComponentsStrategy {
  const requested = input.strategy ?? 'auto';
  if (requested === 'auto') {
    const budget = input.maxInProcessEdges ?? DEFAULT_MAX_IN_PROCESS_EDGES;
    return warehouse.columnar && stats.edges <= budget && stats.maxId <= IN_PROCESS_ID_LIMIT ? 'in-process' : 'sql';
  }
  const limit = requested === 'in-process' ? IN_PROCESS_ID_LIMIT : requested === 'sql' ? CONTRACTION_ID_LIMIT - 1 : Number.MAX_SAFE_INTEGER;
  if (stats.maxId > limit) {
    throw new CdpError(`node id ${stats.maxId} is too large for the '${requested}' strategy (at most ${limit})`, { code: 'IDENTITY', kind: 'runtime', where: WHERE, hint: "number identifiers densely from 1, or use strategy 'label-propagation'" });
  }
  return requested;
}

async function edgeStats(warehouse: Warehouse, edges: TableRef): Promise<EdgeStats> {
  const { dialect } = warehouse;
  const [src, dst] = ['src', 'dst'].map((c) => dialect.quoteIdent(c));
  const [row] = await warehouse.query(
    `SELECT COUNT(*) AS edges, MIN(LEAST(${src}, ${dst})) AS min_id, MAX(GREATEST(${src}, ${dst})) AS max_id ` +
      `FROM ${dialect.qualify(edges)} WHERE ${src} IS NOT NULL AND ${dst} IS NOT NULL`,
  );
  return { edges: Number(row.edges), minId: Number(row.min_id ?? 0), maxId: Number(row.max_id ?? 0) };
}

async function outputCounts(warehouse: Warehouse, output: TableRef): Promise<{ nodes: number; components: number }> {
  const { dialect } = warehouse;
  const [node, component] = ['node', 'component'].map((c) => dialect.quoteIdent(c));
  const [row] = await warehouse.query(
    `SELECT COUNT(*) AS nodes, COALESCE(SUM(CASE WHEN ${node} = ${component} THEN 1 ELSE 0 END), 0) AS components FROM ${dialect.qualify(output)}`,
  );
  return { nodes: Number(row.nodes), components: Number(row.components) };
}
