/**
 * An in-memory reference of identity resolution, written apart from the SQL path so the
 * property tests compare two independent implementations of the same rules:
 * rows → normalised identifiers → a star of edges from each row's anchor (its strongest
 * accepted identifier) → pairs aggregated (best source priority, earliest time) → greedy
 * union in priority order unless a limit would break. Returns the partition as sorted
 * lists of `type:value`.
 */
import { normalizeIdentifier, type IdentifierRule } from '../../src/identity';
import type { Row } from '../../src/warehouse';

export interface ReferenceSource {
  name: string;
  priority: number;
  /** identifier name → column */
  identifiers: Record<string, string>;
  timestamp?: string;
  rows: Row[];
}

export function referencePartition(rules: IdentifierRule[], sources: ReferenceSource[]): string[][] {
  const byName = new Map(rules.map((r) => [r.name, r]));
  type Pair = { a: string; b: string; prio: number; first: number };
  const pairs = new Map<string, Pair>();
  const typeOf = (key: string) => key.slice(0, key.indexOf('\0'));
  for (const source of sources) {
    const ids = Object.entries(source.identifiers)
      .map(([name, column]) => ({ rule: byName.get(name)!, column }))
      .sort((x, y) => x.rule.rank - y.rule.rank);
    for (const row of source.rows) {
      const accepted: string[] = [];
      for (const { rule, column } of ids) {
        const raw = row[column];
        const n = normalizeIdentifier(rule, raw === null || raw === undefined ? null : String(raw));
        if (n.status === 'ok') accepted.push(`${rule.name}\0${n.value}`);
      }
      if (accepted.length === 0) continue;
      const ts = source.timestamp && row[source.timestamp] instanceof Date ? (row[source.timestamp] as Date).getTime() : Infinity;
      for (const other of accepted) {
        const [a, b] = accepted[0] <= other ? [accepted[0], other] : [other, accepted[0]];
        const key = `${a}\u0001${b}`;
        const seen = pairs.get(key);
        if (!seen) pairs.set(key, { a, b, prio: source.priority, first: ts });
        else {
          seen.prio = Math.min(seen.prio, source.priority);
          seen.first = Math.min(seen.first, ts);
        }
      }
    }
  }
  const rank = (key: string) => byName.get(typeOf(key))!.rank;
  const ordered = [...pairs.values()].sort((x, y) => {
    const sx = [Math.min(rank(x.a), rank(x.b)), Math.max(rank(x.a), rank(x.b)), x.prio];
    const sy = [Math.min(rank(y.a), rank(y.b)), Math.max(rank(y.a), rank(y.b)), y.prio];
    for (let i = 0; i < 3; i++) if (sx[i] !== sy[i]) return sx[i] - sy[i];
    if (x.first !== y.first) return x.first === Infinity ? 1 : y.first === Infinity ? -1 : x.first - y.first;
    return x.a !== y.a ? (x.a < y.a ? -1 : 1) : x.b < y.b ? -1 : x.b > y.b ? 1 : 0;
  });
  // Clusters as explicit member sets: slow, obviously right.
  const clusterOf = new Map<string, Set<string>>();
  for (const p of ordered) for (const k of [p.a, p.b]) if (!clusterOf.has(k)) clusterOf.set(k, new Set([k]));
  const limitBroken = (x: Set<string>, y: Set<string>) =>
    rules.some((r) => r.limit !== undefined && [...x, ...y].filter((k) => typeOf(k) === r.name).length > r.limit);
  for (const p of ordered) {
    const x = clusterOf.get(p.a)!;
    const y = clusterOf.get(p.b)!;
    if (x === y || limitBroken(x, y)) continue;
    for (const k of y) {
      x.add(k);
      clusterOf.set(k, x);
    }
  }
  const clusters = new Set(clusterOf.values());
  return canonicalPartition([...clusters].map((c) => [...c].map((k) => k.replace('\0', ':'))));
}

export function canonicalPartition(clusters: string[][]): string[][] {
  return clusters.map((c) => [...c].sort()).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
}
