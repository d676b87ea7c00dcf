/**
 * The in-process strategy: the edges are streamed into Node straight into a typed-array
 * union-find (never held as rows), and the (node, component) result is written back in one
 * bulk load. On an embedded DuckDB this uses the columnar fast path (typed arrays in and
 * out, no row objects) and is the fastest way there is; elsewhere it falls back to `stream`
 * and `load`, which works but moves every edge over the network.
 *
 * Invariants: ids must be 32-bit (the arrays are Int32Array, sized by the largest id);
 * the output is all or nothing — if writing fails, the output table is dropped rather than
 * left empty or half-written.
 */
import type { Column, Row, TableRef, Warehouse } from '../../warehouse';
import { DenseUnionFind } from './union-find';

/** Rows per `stream` batch when the warehouse has no columnar path: few round trips, bounded memory. */
const STREAM_BATCH_ROWS = 50_000;
const LOAD_BATCH_ROWS = 10_000;
const OUTPUT_COLUMNS: Column[] = [
  { name: 'node', type: 'integer' },
  { name: 'component', type: 'integer' },
];

export async function inProcessComponents(warehouse: Warehouse, edges: TableRef, output: TableRef, maxId: number): Promise<{ nodes: number; components: number }> {
  const { dialect } = warehouse;
  const [src, dst] = ['src', 'dst'].map((c) => dialect.quoteIdent(c));
  const where = `WHERE ${src} IS NOT NULL AND ${dst} IS NOT NULL`;
  const forest = new DenseUnionFind(maxId);

  if (warehouse.columnar) {
    const int = (column: string) => `CAST(${column} AS INTEGER)`;
    await warehouse.columnar.scanInt32(`SELECT ${int(src)} AS ${src}, ${int(dst)} AS ${dst} FROM ${dialect.qualify(edges)} ${where}`, (columns, rows) => {
      const [a, b] = columns;
      for (let i = 0; i < rows; i++) forest.union(a[i], b[i]);
    });
  } else {
    for await (const batch of warehouse.stream(`SELECT ${src} AS src, ${dst} AS dst FROM ${dialect.qualify(edges)} ${where}`, STREAM_BATCH_ROWS)) {
      for (const row of batch) forest.union(Number(row.src), Number(row.dst));
    }
  }

  const { nodes, labels, count, components } = forest.labelsByMinimum();
  await warehouse.executeAll([dialect.dropTableIfExists(output), dialect.createTable(output, OUTPUT_COLUMNS)]);
  try {
    if (warehouse.columnar) {
      await warehouse.columnar.appendInt32(output, [nodes, labels], count);
    } else {
      await warehouse.load(output, OUTPUT_COLUMNS, resultBatches(nodes, labels, count));
    }
  } catch (error) {
    await warehouse.execute(dialect.dropTableIfExists(output)).catch(() => undefined);
    throw error;
  }
  return { nodes: count, components };
}

async function* resultBatches(nodes: Int32Array, labels: Int32Array, count: number): AsyncIterable<Row[]> {
  for (let offset = 0; offset < count; offset += LOAD_BATCH_ROWS) {
    const batch: Row[] = [];
    for (let i = offset; i < Math.min(count, offset + LOAD_BATCH_ROWS); i++) batch.push({ node: nodes[i], component: labels[i] });
    yield batch;
  }
}
