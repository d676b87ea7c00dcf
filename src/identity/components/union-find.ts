/**
 * Union-find over dense integer ids in typed arrays: path compression + union by rank, so a
 * union or find is amortised near-constant and the memory is a few bytes per id, with no
 * per-node objects. `labelsByMinimum` turns the forest into the engine's contract: each
 * node's label is the minimum id of its set.
 *
 * Invariants: ids are integers in [1, maxId]; only ids passed to `add` or `union` count as
 * nodes (a self-loop adds an isolated node).
 */
export class DenseUnionFind {
  private readonly parent: Int32Array;
  private readonly rank: Uint8Array;
  private readonly present: Uint8Array;

  constructor(readonly maxId: number) {
    this.parent = new Int32Array(maxId + 1);
    for (let i = 0; i <= maxId; i++) this.parent[i] = i;
    this.rank = new Uint8Array(maxId + 1);
    this.present = new Uint8Array(maxId + 1);
  }

  find(id: number): number {
    const parent = this.parent;
    let root = id;
    while (parent[root] !== root) root = parent[root];
    // Path compression: point the whole walked path at the root.
    let cursor = id;
    while (parent[cursor] !== root) {
      const next = parent[cursor];
      parent[cursor] = root;
      cursor = next;
    }
    return root;
  }

  union(a: number, b: number): void {
    this.present[a] = 1;
    this.present[b] = 1;
    let ra = this.find(a);
    let rb = this.find(b);
    if (ra === rb) return;
    // Union by rank keeps trees shallow, so find stays cheap even before compression.
    if (this.rank[ra] < this.rank[rb]) [ra, rb] = [rb, ra];
    this.parent[rb] = ra;
    if (this.rank[ra] === this.rank[rb]) this.rank[ra]++;
  }

  /** Every present node (ascending) with the minimum id of its set; components counts sets. */
  labelsByMinimum(): { nodes: Int32Array; labels: Int32Array; count: number; components: number } {
    let count = 0;
    for (let i = 1; i <= this.maxId; i++) count += this.present[i];
    const nodes = new Int32Array(count);
    const labels = new Int32Array(count);
    // Walking ids upwards, the first id met under a root is its set's minimum.
    const minimumOfRoot = new Int32Array(this.maxId + 1);
    let next = 0;
    let components = 0;
    for (let i = 1; i <= this.maxId; i++) {
      if (this.present[i] === 0) continue;
      const root = this.find(i);
      if (minimumOfRoot[root] === 0) {
        minimumOfRoot[root] = i;
        components++;
      }
      nodes[next] = i;
      labels[next] = minimumOfRoot[root];
      next++;
    }
    return { nodes, labels, count, components };
  }
}
