/** The limits rule in isolation: priority order, the reason, cluster labels, determinism. */
import fc from 'fast-check';
import { resolveLimits, type LimitEdge, type LimitRules } from '../../src/identity';

const rules: LimitRules = { rank: new Map([['user_id', 0], ['email', 1], ['device_id', 2]]), limit: new Map([['user_id', 1], ['email', 2]]) };
const edge = (src: number, dst: number, a: string, b: string, firstSeen: number | null, sourcePriority = 0): LimitEdge => {
  const [aType, aValue] = a.split(':');
  const [bType, bValue] = b.split(':');
  return { src, dst, aType, aValue, bType, bValue, sourcePriority, firstSeen };
};

describe('resolveLimits', () => {
  test('a shared device joins the login that used it first; the other edge is rejected with the reason', () => {
    const edges = [edge(1, 3, 'device_id:d', 'user_id:u2', 20), edge(1, 2, 'device_id:d', 'user_id:u1', 10)];
    const { clusterOf, rejected } = resolveLimits(edges, rules);
    expect([...clusterOf].sort()).toEqual([[1, 1], [2, 1], [3, 3]]);
    expect(rejected).toEqual([{ edge: edges[0], reason: 'limit user_id: at most 1 per profile' }]);
  });

  test('stronger identifier pairs settle first, whatever the times', () => {
    // u1—e1 is seen last but, a user_id–email edge, settles first; then user_id–device
    // (d joins u2) before email–device, which would now put two user_ids together.
    const edges = [edge(2, 3, 'device_id:d', 'email:e1', 2), edge(2, 4, 'device_id:d', 'user_id:u2', 1), edge(3, 1, 'email:e1', 'user_id:u1', 99)];
    const { clusterOf, rejected } = resolveLimits(edges, rules);
    expect([...clusterOf].sort()).toEqual([[1, 1], [2, 2], [3, 1], [4, 2]]);
    expect(rejected.map((r) => r.edge)).toEqual([edges[0]]);
  });

  test('the result does not depend on the order edges arrive in', () => {
    const arbEdge = fc.record({ src: fc.integer({ min: 1, max: 8 }), dst: fc.integer({ min: 1, max: 8 }), t: fc.option(fc.nat(3), { nil: null }), p: fc.nat(1) });
    fc.assert(
      fc.property(fc.array(arbEdge, { maxLength: 20 }), fc.nat(), (raw, seed) => {
        const typeOf = (n: number) => (n <= 3 ? 'user_id' : n <= 6 ? 'email' : 'device_id');
        const edges = raw.map((e) => edge(e.src, e.dst, `${typeOf(e.src)}:v${e.src}`, `${typeOf(e.dst)}:v${e.dst}`, e.t, e.p));
        const shuffled = [...edges].sort((x, y) => ((x.src * 31 + x.dst + seed) % 7) - ((y.src * 31 + y.dst + seed) % 7));
        const a = resolveLimits(edges, rules);
        const b = resolveLimits(shuffled, rules);
        expect([...b.clusterOf].sort()).toEqual([...a.clusterOf].sort());
        // A label is its cluster's smallest node, and no cluster exceeds a limit.
        for (const [node, cluster] of a.clusterOf) expect(cluster).toBeLessThanOrEqual(node);
        const users = new Map<number, number>();
        for (const [node, cluster] of a.clusterOf) if (typeOf(node) === 'user_id') users.set(cluster, (users.get(cluster) ?? 0) + 1);
        for (const n of users.values()) expect(n).toBeLessThanOrEqual(1);
      }),
      { numRuns: 200, seed: 7 },
    );
  });
});
