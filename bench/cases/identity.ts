/**
 * Bench `identity`: connected components on an adversarial identity graph (issue 3).
 * 2M people (40k at --scale small), each with a user id, an email and two anonymous ids; 2%
 * share a device with one other person; one junk email is shared by 1% of people (20k); one
 * chain of 1,000 people is linked through shared anonymous ids (diameter ≈ 2,000) — about
 * 8M identifiers and 6M edges, generated deterministically in DuckDB SQL as dense BIGINT
 * ids (ROW_NUMBER over the identifier text, as an identity pipeline numbers them).
 *
 * Measured in the same run, on the same edges:
 *  - in_process_bound: edges streamed into Node as typed arrays + union-find (no write-back);
 *  - label_propagation: min-label propagation with pointer jumping in SQL (the usual method);
 *  - sql: the contraction SQL path on DuckDB (what PostgreSQL/BigQuery/Snowflake run);
 *  - default: strategy 'auto' on DuckDB (in process when the edges fit), with write-back;
 *  - postgres_sql: the SQL path on PostgreSQL at 1/10 of the people, edges loaded via `load`.
 * Every partition is checked equal (component count + a checksum of node → label).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectedComponents, DenseUnionFind, type ComponentsResult, type ComponentsStrategy } from '../../src/identity/components';
import { connectWarehouse, type TableRef, type Warehouse } from '../../src/warehouse';
import { peakRssMb, round, timed, type BenchCase } from '../harness';

const POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';
const CHAIN_PEOPLE = 1000;
/** A checksum of node → label that JS numbers hold exactly (each term < 1e9+7; sums < 2^53 up to ~9M nodes). */
const CHECK_MOD = 1_000_000_007;
const CHECK_SPREAD = 9973;

interface Partition {
  nodes: number;
  components: number;
  checksum: number;
}

export const identityCase: BenchCase = {
  name: 'identity',
  description: 'connected components: SQL contraction vs label propagation vs in-process union-find (2M people; small: 40k)',
  async run(scale, log) {
    const people = scale === 'small' ? 40_000 : 2_000_000;
    const pgPeople = Math.round(people / 10);
    const dir = mkdtempSync(join(tmpdir(), 'cdp-bench-identity-'));
    const duck = await connectWarehouse({ type: 'duckdb', path: join(dir, 'bench.duckdb'), schema: 'main' }, { projectDir: dir });
    try {
      log(`generate the graph for ${people} people in DuckDB`);
      const edges = await generateGraph(duck, 'graph', people);
      const [{ n: edgeCount }] = await duck.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${duck.dialect.qualify(edges)}`);
      log(`${edgeCount} edges`);

      log('in-process bound: typed-array scan + union-find');
      const bound = await timed(() => inProcessBound(duck, edges));
      log(`  ${round(bound.seconds)} s, ${bound.value.components} components over ${bound.value.nodes} nodes`);

      const runStrategy = async (warehouse: Warehouse, edgeTable: TableRef, strategy: ComponentsStrategy | 'auto', name: string) => {
        log(`${name} …`);
        const output: TableRef = { schema: edgeTable.schema, name: `components_${name}` };
        const result = await connectedComponents(warehouse, { edges: edgeTable, output, scratchSchema: 'cc_scratch', strategy });
        const partition = await partitionOf(warehouse, output);
        log(`  ${round(result.seconds)} s, ${result.rounds} rounds, strategy ${result.strategy}, ${partition.components} components`);
        return { result, partition };
      };
      // The baseline runs last: its dozens of large dropped tables would otherwise leave the
      // DuckDB file busier for the paths measured after it.
      const sql = await runStrategy(duck, edges, 'sql', 'sql');
      const auto = await runStrategy(duck, edges, 'auto', 'default');
      const labelPropagation = await runStrategy(duck, edges, 'label-propagation', 'label_propagation');
      for (const [name, run] of [['label propagation', labelPropagation], ['sql', sql], ['default', auto]] as const) {
        assertSamePartition(name, run.partition, bound.value);
      }

      log(`PostgreSQL: ${pgPeople} people (1/10), edges loaded through the warehouse load`);
      const pgEdgesInDuck = await generateGraph(duck, 'graph_pg', pgPeople);
      const pgBound = await inProcessBound(duck, pgEdgesInDuck);
      const pg = await connectWarehouse(
        { type: 'postgres', url: POSTGRES_URL, host: '127.0.0.1', port: 5432, schema: 'public', statement_timeout_ms: 3_600_000, pool_max: 4, ssl: false },
        { projectDir: dir },
      );
      let postgres: { result: ComponentsResult; partition: Partition };
      let pgEdgeCount: number;
      try {
        const pgSchema = 'cdp_bench_identity';
        await pg.execute(`DROP SCHEMA IF EXISTS ${pg.dialect.quoteIdent(pgSchema)} CASCADE`);
        await pg.execute(pg.dialect.createSchemaIfNotExists(pgSchema));
        const pgEdges: TableRef = { schema: pgSchema, name: 'edges' };
        const columns = [
          { name: 'src', type: 'integer' as const },
          { name: 'dst', type: 'integer' as const },
        ];
        await pg.execute(pg.dialect.createTable(pgEdges, columns));
        pgEdgeCount = await pg.load(pgEdges, columns, duck.stream(`SELECT src, dst FROM ${duck.dialect.qualify(pgEdgesInDuck)}`, 50_000));
        await pg.execute(`ANALYZE ${pg.dialect.qualify(pgEdges)}`);
        postgres = await runStrategy(pg, pgEdges, 'sql', 'postgres_sql');
        assertSamePartition('postgres sql', postgres.partition, pgBound);
        await pg.execute(`DROP SCHEMA IF EXISTS ${pg.dialect.quoteIdent(pgSchema)} CASCADE`);
        await pg.execute(`DROP SCHEMA IF EXISTS ${pg.dialect.quoteIdent('cc_scratch')} CASCADE`);
      } finally {
        await pg.close();
      }

      return {
        params: {
          people,
          identifiers: bound.value.nodes,
          edges: Number(edgeCount),
          components: bound.value.components,
          chain_people: CHAIN_PEOPLE,
          warehouse: 'duckdb',
          default_strategy: auto.result.strategy,
          postgres_people: pgPeople,
          postgres_edges: pgEdgeCount,
        },
        results: {
          sql_rounds: sql.result.rounds,
          sql_seconds: round(sql.result.seconds),
          default_seconds: round(auto.result.seconds),
          postgres_sql_seconds: round(postgres.result.seconds),
          postgres_sql_rounds: postgres.result.rounds,
          peak_rss_mb: peakRssMb(),
        },
        baselines: {
          in_process_bound_seconds: round(bound.seconds),
          label_propagation_seconds: round(labelPropagation.result.seconds),
          label_propagation_rounds: labelPropagation.result.rounds,
        },
        ratios: {
          sql_speedup_vs_label_propagation: round(labelPropagation.result.seconds / sql.result.seconds, 2),
          sql_vs_in_process_bound: round(sql.result.seconds / bound.seconds, 2),
          default_vs_in_process_bound: round(auto.result.seconds / bound.seconds, 2),
        },
      };
    } finally {
      await duck.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

/**
 * The adversarial graph as (src, dst) BIGINT edges from each person's user id to their other
 * identifiers. Identifier texts are zero-padded, so ROW_NUMBER over them numbers the chain in
 * order along its length (the order a pipeline numbering sorted identifiers gives).
 */
async function generateGraph(warehouse: Warehouse, schema: string, people: number): Promise<TableRef> {
  const chainStart = Math.floor(people / 2);
  const pad = (expr: string) => `lpad(CAST(${expr} AS VARCHAR), 10, '0')`;
  const q = (name: string) => `${schema}.${name}`;
  await warehouse.execute(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  await warehouse.executeAll([
    `CREATE OR REPLACE TABLE ${q('identifiers')} AS
     WITH p AS (SELECT range AS pid FROM range(1, ${people + 1}))
     SELECT pid, TRUE AS is_user, 'u:' || ${pad('pid')} AS val FROM p
     UNION ALL SELECT pid, FALSE, CASE WHEN pid % 100 = 7 THEN 'e:junk@example.com' ELSE 'e:' || ${pad('pid')} || '@mail.test' END FROM p
     UNION ALL SELECT pid, FALSE, 'a:' || ${pad(`CASE WHEN pid > ${chainStart} AND pid < ${chainStart + CHAIN_PEOPLE} THEN 2 * (pid - 1) + 1 ELSE 2 * pid END`)} FROM p
     UNION ALL SELECT pid, FALSE, 'a:' || ${pad('2 * pid + 1')} FROM p
     UNION ALL SELECT pid, FALSE, 'd:' || ${pad('pid // 100')} FROM p WHERE pid % 50 = 3`,
    `CREATE OR REPLACE TABLE ${q('ids')} AS SELECT val, ROW_NUMBER() OVER (ORDER BY val) AS id FROM (SELECT DISTINCT val FROM ${q('identifiers')}) v`,
    `CREATE OR REPLACE TABLE ${q('edges')} AS
     WITH n AS (SELECT i.pid, i.is_user, d.id FROM ${q('identifiers')} i JOIN ${q('ids')} d USING (val))
     SELECT CAST(u.id AS BIGINT) AS src, CAST(o.id AS BIGINT) AS dst
     FROM n u JOIN n o ON o.pid = u.pid AND NOT o.is_user WHERE u.is_user ORDER BY u.pid, o.id`,
    `DROP TABLE ${q('identifiers')}`,
    `DROP TABLE ${q('ids')}`,
  ]);
  return { schema, name: 'edges' };
}

/** The lower bound of any in-process strategy: typed-array scan, unions, minimum labels; nothing written back. */
async function inProcessBound(warehouse: Warehouse, edges: TableRef): Promise<Partition> {
  const columnar = warehouse.columnar;
  if (!columnar) throw new Error('the in-process bound needs the DuckDB columnar path');
  const [{ max_id: maxId }] = await warehouse.query<{ max_id: number }>(`SELECT MAX(GREATEST(src, dst)) AS max_id FROM ${warehouse.dialect.qualify(edges)}`);
  const forest = new DenseUnionFind(Number(maxId));
  await columnar.scanInt32(`SELECT CAST(src AS INTEGER) AS src, CAST(dst AS INTEGER) AS dst FROM ${warehouse.dialect.qualify(edges)}`, (columns, rows) => {
    const [a, b] = columns;
    for (let i = 0; i < rows; i++) forest.union(a[i], b[i]);
  });
  const { nodes, labels, count, components } = forest.labelsByMinimum();
  let checksum = 0;
  for (let i = 0; i < count; i++) checksum += (labels[i] * ((nodes[i] % CHECK_SPREAD) + 1)) % CHECK_MOD;
  return { nodes: count, components, checksum };
}

async function partitionOf(warehouse: Warehouse, output: TableRef): Promise<Partition> {
  const [row] = await warehouse.query(
    `SELECT COUNT(*) AS nodes, SUM(CASE WHEN node = component THEN 1 ELSE 0 END) AS components, ` +
      `SUM(MOD(component * (MOD(node, ${CHECK_SPREAD}) + 1), ${CHECK_MOD})) AS checksum FROM ${warehouse.dialect.qualify(output)}`,
  );
  return { nodes: Number(row.nodes), components: Number(row.components), checksum: Number(row.checksum) };
}

function assertSamePartition(name: string, got: Partition, expected: Partition): void {
  if (got.nodes !== expected.nodes || got.components !== expected.components || got.checksum !== expected.checksum) {
    throw new Error(`${name}: partition differs from union-find — got ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);
  }
}
