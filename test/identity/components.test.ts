/**
 * The connected-components engine on real DuckDB and PostgreSQL: every strategy's output
 * equals an in-memory union-find reference (minimum-id labels) on random graphs — chains in
 * random id order, stars, cliques, duplicates, self-loops, several components — the SQL
 * path's rounds stay logarithmic on long chains, and scratch tables never outlive a run.
 */
import fc from 'fast-check';
import { CdpError } from '../../src/errors';
import { connectedComponents, type ComponentsStrategy } from '../../src/identity/components';
import type { TableRef, Warehouse } from '../../src/warehouse';
import { localWarehouseTypes, openTestWarehouse, type TestWarehouse } from '../helpers/test-warehouses';

type Edge = [number, number];

/** The reference: a plain Map-based union-find, independent of the engine's typed arrays. */
function referenceComponents(edges: Edge[]): Map<number, number> {
  const parent = new Map<number, number>();
  const find = (x: number): number => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r)!;
    return r;
  };
  for (const [a, b] of edges) {
    for (const x of [a, b]) if (!parent.has(x)) parent.set(x, x);
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(Math.max(ra, rb), Math.min(ra, rb));
  }
  // Roots are always the smaller id, so a root is its set's minimum.
  return new Map([...parent.keys()].map((x) => [x, find(x)]));
}

function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let state = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** A chain over ids 1..n visiting them in a random (seeded) or sorted order. */
function chain(n: number, seed?: number): Edge[] {
  const ids = Array.from({ length: n }, (_, i) => i + 1);
  const order = seed === undefined ? ids : shuffled(ids, seed);
  return order.slice(1).map((id, i) => [order[i], id]);
}

const shapeArb = fc.record({
  kind: fc.constantFrom('chain', 'star', 'clique', 'random', 'loop'),
  size: fc.integer({ min: 1, max: 25 }),
});

/** Random graphs: a permutation of ids cut into shaped groups, plus random extra edges, duplicates and reversed copies. */
const graphArb = fc
  .record({
    shapes: fc.array(shapeArb, { minLength: 1, maxLength: 6 }),
    seed: fc.integer({ min: 1, max: 2 ** 30 }),
    extra: fc.array(fc.tuple(fc.nat(200), fc.nat(200)), { maxLength: 8 }),
    duplicates: fc.nat(5),
  })
  .map(({ shapes, seed, extra, duplicates }) => {
    const total = shapes.reduce((sum, s) => sum + s.size, 0);
    const ids = shuffled(
      Array.from({ length: total }, (_, i) => i + 1),
      seed,
    );
    const edges: Edge[] = [];
    let offset = 0;
    for (const { kind, size } of shapes) {
      const group = ids.slice(offset, offset + size);
      offset += size;
      if (kind === 'chain' || size === 1) {
        for (let i = 1; i < group.length; i++) edges.push([group[i - 1], group[i]]);
        if (size === 1) edges.push([group[0], group[0]]);
      } else if (kind === 'star') {
        for (const leaf of group.slice(1)) edges.push([leaf, group[0]]);
      } else if (kind === 'clique') {
        for (let i = 0; i < group.length; i++) for (let j = i + 1; j < Math.min(group.length, i + 8); j++) edges.push([group[i], group[j]]);
      } else if (kind === 'random') {
        for (let i = 1; i < group.length; i++) edges.push([group[i], group[(seed + i * 7) % i]]);
      } else {
        for (const id of group) edges.push([id, id]);
      }
    }
    // Extra edges among the used ids (they may join groups) and duplicates / reversed copies.
    for (const [a, b] of extra) edges.push([(a % total) + 1, (b % total) + 1]);
    for (let i = 0; i < duplicates && edges.length > 0; i++) {
      const [a, b] = edges[(seed + i * 13) % edges.length];
      edges.push(i % 2 === 0 ? [a, b] : [b, a]);
    }
    return edges;
  });

async function loadEdges(warehouse: Warehouse, table: TableRef, edges: Edge[]): Promise<void> {
  const { dialect } = warehouse;
  await warehouse.execute(dialect.dropTableIfExists(table));
  await warehouse.execute(
    dialect.createTable(table, [
      { name: 'src', type: 'integer' },
      { name: 'dst', type: 'integer' },
    ]),
  );
  async function* rows() {
    yield edges.map(([src, dst]) => ({ src, dst }));
  }
  await warehouse.load(table, [
    { name: 'src', type: 'integer' },
    { name: 'dst', type: 'integer' },
  ], rows());
}

async function readOutput(warehouse: Warehouse, table: TableRef): Promise<Map<number, number>> {
  const rows = await warehouse.query<{ node: number; component: number }>(`SELECT node, component FROM ${warehouse.dialect.qualify(table)} ORDER BY node`);
  return new Map(rows.map((r) => [Number(r.node), Number(r.component)]));
}

async function scratchTables(warehouse: Warehouse, schema: string): Promise<string[]> {
  const rows = await warehouse.query<{ name: string }>(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ${warehouse.dialect.literal(schema)}`);
  return rows.map((r) => r.name);
}

const strategies: ComponentsStrategy[] = ['sql', 'in-process', 'label-propagation'];

describe.each(localWarehouseTypes)('connected components on %s', (type) => {
  let t: TestWarehouse;
  let edges: TableRef;
  let output: TableRef;
  let scratchSchema: string;

  beforeAll(async () => {
    t = await openTestWarehouse(type);
    edges = { schema: t.schema, name: 'edges' };
    output = { schema: t.schema, name: 'components' };
    scratchSchema = `${t.schema}_scratch`;
  });
  afterAll(async () => {
    await t.warehouse.execute(`DROP SCHEMA IF EXISTS ${t.warehouse.dialect.quoteIdent(scratchSchema)} CASCADE`).catch(() => undefined);
    await t.cleanup();
  });

  it('every strategy equals the union-find reference on random graphs', async () => {
    const numRuns = type === 'duckdb' ? 25 : 6;
    let checked = 0;
    await fc.assert(
      fc.asyncProperty(graphArb, async (graph) => {
        checked++;
        await loadEdges(t.warehouse, edges, graph);
        const expected = referenceComponents(graph);
        for (const strategy of strategies) {
          const result = await connectedComponents(t.warehouse, { edges, output, scratchSchema, strategy });
          expect({ strategy, labels: await readOutput(t.warehouse, output) }).toEqual({ strategy, labels: expected });
          expect(result.strategy).toBe(strategy);
          expect(result.nodes).toBe(expected.size);
          expect(result.components).toBe(new Set(expected.values()).size);
        }
        expect(await scratchTables(t.warehouse, scratchSchema)).toEqual([]);
      }),
      { numRuns },
    );
    expect(checked).toBe(numRuns);
  });

  it('the SQL path needs few rounds on a long chain, in random or sorted id order', async () => {
    for (const graph of [chain(5000, 7), chain(2000)]) {
      await loadEdges(t.warehouse, edges, graph);
      const result = await connectedComponents(t.warehouse, { edges, output, scratchSchema, strategy: 'sql' });
      // log-rounds, not diameter-rounds: ≤ 2·log2(n) + c would allow ~26; contraction needs far fewer.
      expect(result.rounds).toBeLessThanOrEqual(15);
      expect(result.rounds).toBeGreaterThan(1);
      expect(result).toMatchObject({ nodes: graph.length + 1, components: 1 });
      const labels = await readOutput(t.warehouse, output);
      expect(new Set(labels.values())).toEqual(new Set([1]));
    }
  });

  it("'auto' runs in process on an embedded DuckDB and in SQL elsewhere, with the same partition", async () => {
    const graph: Edge[] = [...chain(50, 3), [60, 61], [61, 62], [70, 70]];
    await loadEdges(t.warehouse, edges, graph);
    const result = await connectedComponents(t.warehouse, { edges, output, scratchSchema });
    expect(result.strategy).toBe(type === 'duckdb' ? 'in-process' : 'sql');
    expect(await readOutput(t.warehouse, output)).toEqual(referenceComponents(graph));
    // Over the budget, 'auto' falls back to SQL.
    const small = await connectedComponents(t.warehouse, { edges, output, scratchSchema, maxInProcessEdges: 10 });
    expect(small.strategy).toBe('sql');
    expect(await readOutput(t.warehouse, output)).toEqual(referenceComponents(graph));
  });

  it('an empty edge table gives an empty output (replacing an old one) and zero rounds', async () => {
    await loadEdges(t.warehouse, edges, [[1, 2]]);
    await connectedComponents(t.warehouse, { edges, output, scratchSchema, strategy: 'sql' });
    await loadEdges(t.warehouse, edges, []);
    for (const strategy of strategies) {
      const result = await connectedComponents(t.warehouse, { edges, output, scratchSchema, strategy });
      expect(result).toMatchObject({ strategy, rounds: 0, nodes: 0, components: 0 });
      expect((await readOutput(t.warehouse, output)).size).toBe(0);
    }
  });

  it('drops its scratch tables also when the run fails, and reports a CdpError', async () => {
    await loadEdges(t.warehouse, edges, chain(30, 5));
    const nowhere: TableRef = { schema: `${t.schema}_missing`, name: 'out' };
    for (const strategy of ['sql', 'label-propagation'] as const) {
      const failure = await connectedComponents(t.warehouse, { edges, output: nowhere, scratchSchema, strategy }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(failure).toBeInstanceOf(CdpError);
      expect(await scratchTables(t.warehouse, scratchSchema)).toEqual([]);
    }
  });

  it('refuses node ids below 1 with a clear error', async () => {
    await loadEdges(t.warehouse, edges, [[0, 1]]);
    await expect(connectedComponents(t.warehouse, { edges, output, scratchSchema })).rejects.toThrow(/ids must be >= 1/);
  });
});
