/**
 * The usual industry method, kept as a strategy and as the benchmark's baseline: min-label
 * propagation with pointer jumping in SQL. Every node starts labelled with its own id; each
 * round takes the minimum label over the node and its neighbours, then jumps once
 * (label := label of the label). Jumping turns the diameter-many rounds of plain
 * propagation into about log(diameter) — but every round still rewrites the label of every
 * node and re-reads every edge in both directions, nothing ever leaves the graph.
 *
 * Invariants: a label is always an id of the same component and never above the node's id,
 * so at the fixpoint it is the component's minimum id (the contract's label).
 */
import { CdpError } from '../../errors';
import type { TableRef, Warehouse } from '../../warehouse';
import { replaceTableAs, ScratchTables } from './scratch';

/**
 * A bug guard only. Jumping makes ids numbered along a path converge in about log2(n)
 * rounds, but on a path numbered at random the minimum still crawls about one hop per round
 * (thousands of rounds for a 5,000-node chain) — the weakness the SQL path removes.
 */
const MAX_ROUNDS = 1_000_000;

export async function labelPropagationComponents(warehouse: Warehouse, edges: TableRef, output: TableRef, scratch: ScratchTables): Promise<number> {
  const { dialect } = warehouse;
  const q = (name: string) => dialect.quoteIdent(name);
  const [src, dst, node, label, component] = ['src', 'dst', 'node', 'label', 'component'].map(q);
  const e = dialect.qualify(edges);
  const valid = `${src} IS NOT NULL AND ${dst} IS NOT NULL`;

  // Both directions, once each: the neighbour lists every round reads.
  const both = dialect.qualify(
    await scratch.create(
      'both',
      `SELECT DISTINCT ${src}, ${dst} FROM (\n` +
        `  SELECT ${src}, ${dst} FROM ${e} WHERE ${valid} AND ${src} <> ${dst}\n` +
        `  UNION ALL\n` +
        `  SELECT ${dst} AS ${src}, ${src} AS ${dst} FROM ${e} WHERE ${valid} AND ${src} <> ${dst}\n` +
        `) x`,
    ),
  );
  let labels = await scratch.create(
    'label0',
    `SELECT ${node}, ${node} AS ${label} FROM (\n` +
      // BIGINT whatever the input's integer width: the contract's output type.
      `  SELECT ${dialect.cast(node, 'integer')} AS ${node} FROM (\n` +
      `  SELECT ${src} AS ${node} FROM ${e} WHERE ${valid} UNION SELECT ${dst} AS ${node} FROM ${e} WHERE ${valid}\n` +
      `) x) y`,
  );

  let rounds = 0;
  for (;;) {
    rounds++;
    if (rounds > MAX_ROUNDS) {
      throw new CdpError(`label propagation did not converge in ${MAX_ROUNDS} rounds`, { code: 'IDENTITY', kind: 'internal', where: 'identity components', hint: 'this is a bug: please report it with the edge count' });
    }
    const l = dialect.qualify(labels);
    const hop = await scratch.create(
      `hop${rounds}`,
      `SELECT l.${node}, LEAST(l.${label}, COALESCE(n.${label}, l.${label})) AS ${label} FROM ${l} l LEFT JOIN (\n` +
        `  SELECT b.${src} AS ${node}, MIN(x.${label}) AS ${label} FROM ${both} b JOIN ${l} x ON x.${node} = b.${dst} GROUP BY b.${src}\n` +
        `) n ON n.${node} = l.${node}`,
    );
    const h = dialect.qualify(hop);
    const jumped = await scratch.create(`label${rounds}`, `SELECT a.${node}, b.${label} FROM ${h} a JOIN ${h} b ON b.${node} = a.${label}`);
    await scratch.drop(hop);
    const [{ n }] = await warehouse.query<{ n: number }>(
      `SELECT COUNT(*) AS n FROM ${dialect.qualify(jumped)} j JOIN ${l} p ON p.${node} = j.${node} WHERE j.${label} <> p.${label}`,
    );
    await scratch.drop(labels);
    labels = jumped;
    if (Number(n) === 0) break;
  }
  await replaceTableAs(warehouse, output, `SELECT ${node}, ${label} AS ${component} FROM ${dialect.qualify(labels)}`);
  return rounds;
}
