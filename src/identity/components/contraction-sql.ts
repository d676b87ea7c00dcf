/**
 * The SQL path: connected components by hooking, pointer jumping and edge contraction, in
 * portable SQL (CREATE TABLE AS, joins, GROUP BY, LEAST/GREATEST, MOD and one small window
 * MIN — no recursion, arrays or engine functions), so DuckDB, PostgreSQL, BigQuery and
 * Snowflake all run the same statements through the dialect.
 *
 * One round over the current edge table E (super-node ids):
 *  1. hook     — every node takes the best key of its closed neighbourhood;
 *  2. 2nd hop  — then the best of its neighbours' hooks: the best of its 2-hop neighbourhood;
 *  3. jump     — (rounds ≥ 2) the pointer is followed once more, p(p(u)), flattening chains;
 *  4. contract — every edge becomes (p(a), p(b)); loops and duplicates are dropped.
 * Nodes whose every edge became a loop are resolved and leave the graph, so each round works
 * only on what is still unresolved. Round 1 ranks nodes by id (so a component resolved in
 * round 1 is labelled by its minimum already); later rounds rank by a per-round hash, so a
 * constant fraction of every unresolved part merges each round whatever the id order — the
 * rounds grow with log n, not with the diameter. (Ranking by id in every round would stall on
 * a path numbered in order: each pointer moves one step and contraction merely shifts it.)
 *
 * Invariants: every map sends a node to a node of the same component (contraction never
 * joins two components); a round's map covers every node of its input edges; round 1 reads
 * the raw edges, so duplicates, self-loops (isolated nodes) and direction need no
 * preprocessing pass, and sends every node to a parent no larger than itself. See the label
 * step at the end for why that makes the minimum-id labels cheap.
 */
import { CdpError } from '../../errors';
import type { TableRef, Warehouse } from '../../warehouse';
import { replaceTableAs, ScratchTables } from './scratch';

/** Node ids must be below 2^31: a hooking key packs (priority, id) into one BIGINT as priority·2^31 + id. */
export const CONTRACTION_ID_LIMIT = 2 ** 31;
/** Far above what log n needs (≈10 rounds for 10^8 nodes); reaching it means a bug, not a big graph. */
const MAX_ROUNDS = 64;
/** Two primes below 2^31: products of residues with 31-bit multipliers stay below 2^62 (no BIGINT overflow). */
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
    const first = rounds === 1;
    const e = dialect.qualify(current);
    // The raw edge table may hold NULLs and narrower integers (the hash needs 64-bit
    // products); later rounds are built here and never do.
    const where = first ? `WHERE ${src} IS NOT NULL AND ${dst} IS NOT NULL` : '';
    const [a, b] = first ? [src, dst].map((c) => dialect.cast(c, 'integer')) : [src, dst];
    // Round 1 ranks nodes by id: its labels are then component minimums already (no
    // relabelling pass over every node at the end). Later rounds rank by a per-round hash,
    // which is what makes the number of rounds independent of how ids are ordered.
    const k = first ? `LEAST(${a}, ${b})` : `LEAST(${hookKey(a, rounds)}, ${hookKey(b, rounds)})`;

    // 1. hook: each endpoint takes the lowest key of the edge (itself included), so the
    //    minimum over its edges is the best key in its closed neighbourhood.
    const hooks = dialect.qualify(
      await scratch.create(
        `hook${rounds}`,
        `SELECT ${node}, MIN(k) AS k FROM (\n` +
          `  SELECT ${a} AS ${node}, ${k} AS k FROM ${e} ${where}\n` +
          `  UNION ALL\n` +
          `  SELECT ${b} AS ${node}, ${k} AS k FROM ${e} ${where}\n` +
          `) x GROUP BY ${node}`,
      ),
    );
    // 2. second hop: the best key among the neighbours' choices — the best of the 2-hop
    //    neighbourhood. A star's leaves reach past their centre at once (one hop alone
    //    only halves a star with random keys per round: a 20k-leaf junk email took 15).
    const id = first ? 'MIN(k)' : `MOD(MIN(k), ${CONTRACTION_ID_LIMIT})`;
    const pointers = await scratch.create(
      first ? `map${rounds}` : `pointer${rounds}`,
      `SELECT ${node}, ${id} AS ${parent} FROM (\n` +
        // One join over both directions: the engine builds the hooks' hash table once.
        `  SELECT d.${node}, h.k FROM (\n` +
        `    SELECT ${a} AS ${node}, ${b} AS other FROM ${e} ${where} UNION ALL SELECT ${b} AS ${node}, ${a} AS other FROM ${e} ${where}\n` +
        // A node's own hook needs no branch: each neighbour's hook is at most this node's key.
        `  ) d JOIN ${hooks} h ON h.${node} = d.other\n` +
        `) x GROUP BY ${node}`,
    );
    await scratch.drop(scratch.ref(`hook${rounds}`));
    // 3. jump (after round 1): p(p(u)) flattens the short chains of pointers into stars.
    //    Round 1 skips it: on the big first graph one more pass costs more than it saves.
    let map = pointers;
    if (!first) {
      const p = dialect.qualify(pointers);
      map = await scratch.create(`map${rounds}`, `SELECT a.${node}, b.${parent} FROM ${p} a JOIN ${p} b ON b.${node} = a.${parent}`);
      await scratch.drop(pointers);
    }
    maps.push(map);

    // 4. contract: edges between different parents, each once, smaller id first.
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

  // Compose the maps of rounds 2… backwards: a node's root is its parent's root one round
  // later, or the parent itself when the parent left the graph in that round (resolved).
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
  // Round 1 sent every node to a parent no larger than itself within its component, so a
  // parent that left the graph after round 1 is its component's minimum. The parents still
  // in play after round 1 include every component's minimum, so the minimum over the
  // round-2 nodes under one final root is the label — a window over the few unresolved
  // nodes, not over all of them.
  const m1 = dialect.qualify(maps[0]);
  let finalSql = `SELECT ${node}, ${parent} AS ${component} FROM ${m1}`;
  if (later) {
    const labels = await scratch.create('labels', `SELECT ${node}, MIN(${node}) OVER (PARTITION BY ${root}) AS ${component} FROM ${dialect.qualify(later)}`);
    await scratch.drop(later);
    finalSql = `SELECT m.${node}, COALESCE(l.${component}, m.${parent}) AS ${component} FROM ${m1} m LEFT JOIN ${dialect.qualify(labels)} l ON l.${node} = m.${parent}`;
  }
  await replaceTableAs(warehouse, output, finalSql);
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
