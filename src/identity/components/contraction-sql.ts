/**
 * The SQL path: connected components by randomised hooking, pointer jumping and edge
 * contraction, in portable SQL (CREATE TABLE AS, joins, GROUP BY, LEAST/GREATEST, MOD and
 * one window MIN — no recursion, arrays or engine functions), so DuckDB, PostgreSQL,
 * BigQuery and Snowflake all run the same statements through the dialect.
 *
 * One round over the current edge table E (super-node ids):
 *  1. hook   — every node points to the node of lowest random priority in its closed
 *              neighbourhood (priority = a per-round arithmetic hash of the id);
 *  2. jump   — the pointer is followed twice more (p∘p∘p), flattening the short
 *              decreasing-priority chains hooking creates into stars;
 *  3. contract — every edge is rewritten to (p(a), p(b)); loops and duplicates are dropped.
 * The nodes whose every edge became a loop are resolved and leave the graph, so each round
 * works only on what is still unresolved. Random priorities make a constant fraction of the
 * nodes of any connected part merge each round whatever the id order — a path loses about
 * two thirds of its nodes per round — so the rounds grow with log n, not with the diameter.
 * (Hooking to the minimum *id* would stall on a path numbered in order: every pointer moves
 * one step and contraction merely shifts the path.)
 *
 * Invariants: every map table sends a node to a node of the same component (so contraction
 * never joins two components); a round's map covers every node of its input edges; the first
 * round reads the raw edges, so duplicates, self-loops (isolated nodes) and direction need no
 * preprocessing pass. At the end the maps are composed from the last round back to the first,
 * giving every node its final root, and the label is the minimum node id under that root.
 */
import { CdpError } from '../../errors';
import type { TableRef, Warehouse } from '../../warehouse';
import { replaceTableAs, ScratchTables } from './scratch';

/** Node ids must be below 2^31: a hooking key packs (priority, id) into one BIGINT as priority·2^31 + id. */
export const CONTRACTION_ID_LIMIT = 2 ** 31;
/** Far above what log n needs (≈10 rounds for 10^8 nodes); reaching it means a bug, not a big graph. */
const MAX_ROUNDS = 64;
/** Two Mersenne-style primes below 2^31: products with 31-bit multipliers stay below 2^62. */
const P1 = 2147483647;
const P2 = 2147483629;

export async function contractionComponents(warehouse: Warehouse, edges: TableRef, output: TableRef, scratch: ScratchTables): Promise<number> {
  const { dialect } = warehouse;
  const q = (name: string) => dialect.quoteIdent(name);
  const [src, dst, node, parent, root, component] = ['src', 'dst', 'node', 'parent', 'root', 'component'].map(q);

  const maps: TableRef[] = [];
  let current = edges;
  let rounds = 0;
  for (;;) {
    rounds++;
    if (rounds > MAX_ROUNDS) {
      throw new CdpError(`connected components did not converge in ${MAX_ROUNDS} rounds`, { code: 'IDENTITY', kind: 'internal', where: 'identity components', hint: 'this is a bug: please report it with the edge count' });
    }
    const e = dialect.qualify(current);
    // The raw edge table may hold NULLs; later rounds are built here and never do.
    const notNull = rounds === 1 ? `WHERE ${src} IS NOT NULL AND ${dst} IS NOT NULL` : '';
    // The raw table may hold narrower integers (the hash's products need 64 bits): cast once.
    const [a, b] = rounds === 1 ? [src, dst].map((c) => dialect.cast(c, 'integer')) : [src, dst];
    const k = `LEAST(${hookKey(a, rounds)}, ${hookKey(b, rounds)})`;

    // 1. hook: each endpoint takes the lowest key of the edge (itself included), so the
    //    minimum over its edges is the lowest-priority node of its closed neighbourhood.
    const hooks = await scratch.create(
      `hook${rounds}`,
      `SELECT ${node}, MOD(MIN(k), ${CONTRACTION_ID_LIMIT}) AS ${parent} FROM (\n` +
        `  SELECT ${a} AS ${node}, ${k} AS k FROM ${e} ${notNull}\n` +
        `  UNION ALL\n` +
        `  SELECT ${b} AS ${node}, ${k} AS k FROM ${e} ${notNull}\n` +
        `) x GROUP BY ${node}`,
    );
    // 2. jump: p(p(p(u))). Every parent is itself a hooked node, so inner joins lose nothing.
    const h = dialect.qualify(hooks);
    const map = await scratch.create(
      `map${rounds}`,
      `SELECT a.${node}, c.${parent} FROM ${h} a JOIN ${h} b ON b.${node} = a.${parent} JOIN ${h} c ON c.${node} = b.${parent}`,
    );
    await scratch.drop(hooks);
    maps.push(map);

    // 3. contract: edges between different roots, each once, smaller id first.
    const m = dialect.qualify(map);
    const next = await scratch.create(
      `edges${rounds}`,
      `SELECT DISTINCT LEAST(ma.${parent}, mb.${parent}) AS ${src}, GREATEST(ma.${parent}, mb.${parent}) AS ${dst}\n` +
        `FROM ${e} e JOIN ${m} ma ON ma.${node} = e.${src} JOIN ${m} mb ON mb.${node} = e.${dst}\n` +
        `WHERE ma.${parent} <> mb.${parent}`,
    );
    if (current !== edges) await scratch.drop(current);
    current = next;
    const [{ n }] = await warehouse.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${dialect.qualify(next)}`);
    if (Number(n) === 0) break;
  }
  await scratch.drop(current);

  // Compose the maps backwards: a node's root is its parent's root one round later, or the
  // parent itself when the parent left the graph in that round (resolved).
  let later: TableRef | undefined;
  for (let r = maps.length - 1; r >= 1; r--) {
    const m = dialect.qualify(maps[r]);
    const rootSql: string = later
      ? `SELECT m.${node}, COALESCE(l.${root}, m.${parent}) AS ${root} FROM ${m} m LEFT JOIN ${dialect.qualify(later)} l ON l.${node} = m.${parent}`
      : `SELECT ${node}, ${parent} AS ${root} FROM ${m}`;
    const roots = await scratch.create(`root${r + 1}`, rootSql);
    if (later) await scratch.drop(later);
    await scratch.drop(maps[r]);
    later = roots;
  }
  const first = dialect.qualify(maps[0]);
  const finalRoot = later ? `COALESCE(l.${root}, m.${parent})` : `m.${parent}`;
  const join = later ? ` LEFT JOIN ${dialect.qualify(later)} l ON l.${node} = m.${parent}` : '';
  // The roots are random nodes; the contract's label is the smallest id under each root.
  await replaceTableAs(
    warehouse,
    output,
    `SELECT ${node}, MIN(${node}) OVER (PARTITION BY ${root}) AS ${component} FROM (\n` +
      `  SELECT m.${node}, ${finalRoot} AS ${root} FROM ${first} m${join}\n` +
      `) t`,
  );
  return rounds;
}

/**
 * priority(id)·2^31 + id for round `round`: a minimum over keys is the node of lowest
 * priority, and MOD 2^31 gives its id back. The priority composes two affine maps modulo
 * different primes — not linear in the id, so ids numbered along a path get no ordered
 * priorities — with multipliers drawn per round from a fixed seed (deterministic runs).
 */
function hookKey(column: string, round: number): string {
  const [a1, b1, a2, b2] = roundConstants(round);
  return `(MOD(MOD(${column} * ${a1} + ${b1}, ${P1}) * ${a2} + ${b2}, ${P2}) * ${CONTRACTION_ID_LIMIT} + ${column})`;
}

function roundConstants(round: number): [number, number, number, number] {
  // mulberry32: a tiny seeded PRNG; any fixed seed works, it only has to differ per round.
  let state = (0x9e3779b9 ^ Math.imul(round, 0x85ebca6b)) >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const multiplier = (): number => 1_000_003 + Math.floor(next() * (P2 - 2_000_000));
  return [multiplier(), Math.floor(next() * P1), multiplier(), Math.floor(next() * P2)];
}
