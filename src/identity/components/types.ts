/**
 * The contract of the connected-components engine: an edge table in, a (node, component)
 * table out, where `component` is the minimum node id of the node's connected component.
 * Downstream stable-id logic relies on these labels being deterministic, so every strategy
 * must produce exactly the same table for the same edges.
 */
import type { TableRef } from '../../warehouse';

export type ComponentsStrategy = 'sql' | 'in-process' | 'label-propagation';

export interface ComponentsInput {
  /** Existing table with columns (src BIGINT, dst BIGINT): undirected edges between dense integer node ids (>= 1). May contain duplicates and self-loops (a self-loop declares an isolated node). */
  edges: TableRef;
  /** Table to create (replaced if it exists): (node BIGINT, component BIGINT) — one row per node appearing in edges; component = the MINIMUM node id of its connected component. */
  output: TableRef;
  /** Schema for scratch tables (dropped at the end, also on failure). */
  scratchSchema: string;
  /** 'auto' (default): in-process when the warehouse is DuckDB-like local and edges fit a memory budget, else SQL. */
  strategy?: 'auto' | ComponentsStrategy;
  /** Most edges 'auto' runs in process (default 50M: the union-find arrays stay well under 1 GB). */
  maxInProcessEdges?: number;
}

export interface ComponentsResult {
  strategy: ComponentsStrategy;
  /** Main-loop iterations (each one set of CREATE TABLE AS statements); 0 for in-process and for no edges. */
  rounds: number;
  nodes: number;
  components: number;
  seconds: number;
}

/** What every strategy learns about the edges before it starts (one cheap aggregate query). */
export interface EdgeStats {
  edges: number;
  minId: number;
  maxId: number;
}
