/**
 * The limits rule, exactly, for one connected component that breaks a limit (the SQL
 * steps send only such components here; every other component is final as is).
 *
 * The rule: take the component's edges in priority order and union their endpoints unless
 * the merged cluster would hold more values of some type than that type's limit; such an
 * edge is rejected, with the first limited type (by identifier priority) it would break.
 * Priority order, all ascending:
 *   1. the stronger endpoint's identifier rank, 2. the weaker endpoint's rank
 *      (user_id–email edges before email–device edges),
 *   3. the edge's best source priority, 4. its first_seen (unknown last),
 *   5. its endpoints as `type\0value` text, lower endpoint first (a total order, so the
 *      result never depends on the order rows arrive in).
 * A component that breaks no limit gives the same partition under this rule as without
 * it (no union can exceed what the whole component holds), which is why only violating
 * components need it. Each cluster is labelled by its smallest node id.
 */
export interface LimitEdge {
  src: number;
  dst: number;
  aType: string;
  aValue: string;
  bType: string;
  bValue: string;
  sourcePriority: number;
  /** Epoch ms, or null when the source has no timestamp. */
  firstSeen: number | null;
}

export interface LimitRules {
  /** Identifier name → rank (0 strongest). */
  rank: ReadonlyMap<string, number>;
  /** Identifier name → limit, for limited types only. */
  limit: ReadonlyMap<string, number>;
}

export interface LimitResolution {
  /** node → cluster label (smallest node id of its cluster). */
  clusterOf: Map<number, number>;
  rejected: { edge: LimitEdge; reason: string }[];
}

export function compareLimitEdges(rules: LimitRules, x: LimitEdge, y: LimitEdge): number {
  const keyOf = (e: LimitEdge) => {
    const ra = rules.rank.get(e.aType) ?? Number.MAX_SAFE_INTEGER;
    const rb = rules.rank.get(e.bType) ?? Number.MAX_SAFE_INTEGER;
    const a = `${e.aType}\0${e.aValue}`;
    const b = `${e.bType}\0${e.bValue}`;
    return { strong: Math.min(ra, rb), weak: Math.max(ra, rb), low: a < b ? a : b, high: a < b ? b : a };
  };
  const kx = keyOf(x);
  const ky = keyOf(y);
  return (
    kx.strong - ky.strong ||
    kx.weak - ky.weak ||
    x.sourcePriority - y.sourcePriority ||
    (x.firstSeen ?? Infinity) - (y.firstSeen ?? Infinity) || // Infinity − Infinity is NaN: falls through as 0 below
    compareText(kx.low, ky.low) ||
    compareText(kx.high, ky.high)
  ) || 0;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function resolveLimits(edges: LimitEdge[], rules: LimitRules): LimitResolution {
  const parent = new Map<number, number>();
  const counts = new Map<number, Map<string, number>>();
  const typeOf = new Map<number, string>();
  const find = (x: number): number => {
    let root = x;
    while (parent.get(root) !== root) root = parent.get(root)!;
    let node = x;
    while (node !== root) {
      const next = parent.get(node)!;
      parent.set(node, root);
      node = next;
    }
    return root;
  };
  const add = (node: number, type: string) => {
    if (parent.has(node)) return;
    parent.set(node, node);
    typeOf.set(node, type);
    counts.set(node, new Map(rules.limit.has(type) ? [[type, 1]] : []));
  };
  for (const e of edges) {
    add(e.src, e.aType);
    add(e.dst, e.bType);
  }
  const limitedByRank = [...rules.limit.keys()].sort((a, b) => (rules.rank.get(a) ?? 0) - (rules.rank.get(b) ?? 0));
  const rejected: LimitResolution['rejected'] = [];
  const ordered = [...edges].sort((x, y) => compareLimitEdges(rules, x, y));
  for (const edge of ordered) {
    const ra = find(edge.src);
    const rb = find(edge.dst);
    if (ra === rb) continue;
    const ca = counts.get(ra)!;
    const cb = counts.get(rb)!;
    const broken = limitedByRank.find((type) => (ca.get(type) ?? 0) + (cb.get(type) ?? 0) > rules.limit.get(type)!);
    if (broken !== undefined) {
      rejected.push({ edge, reason: `limit ${broken}: at most ${rules.limit.get(broken)} per profile` });
      continue;
    }
    // The smaller id becomes the root, so a root is always its cluster's smallest node.
    const [root, child] = ra < rb ? [ra, rb] : [rb, ra];
    parent.set(child, root);
    const merged = counts.get(root)!;
    for (const [type, n] of counts.get(child)!) merged.set(type, (merged.get(type) ?? 0) + n);
    counts.delete(child);
  }
  const clusterOf = new Map<number, number>();
  for (const node of parent.keys()) clusterOf.set(node, find(node));
  return { clusterOf, rejected };
}
