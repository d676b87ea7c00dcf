/**
 * Bench `models`: the demo retailer at 1M people (20k at --scale small) on DuckDB.
 *  - generate_seconds: seeded generator → DuckDB (appender), all raw tables;
 *  - build_seconds: compile + build every demo model (full refresh);
 *  - baselines in the same run: the generator alone with no warehouse (JS bound of the
 *    load), and copying every raw table once with CREATE TABLE AS (the warehouse's bound
 *    for touching all the data) — so the ratios say how far each stage is from its floor.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDemoTables, loadDemoData } from '../../examples/demo/generator';
import { bundledDemoDir } from '../../src/cli/demo-command';
import { compileProject } from '../../src/compiler';
import { loadProject, type Project } from '../../src/project';
import { runModels } from '../../src/runner';
import { connectWarehouse } from '../../src/warehouse';
import { peakRssMb, round, timed, type BenchCase } from '../harness';

const AS_OF = new Date('2026-11-01T00:00:00Z');
const SEED = 42;

export const modelsCase: BenchCase = {
  name: 'models',
  description: 'demo data generation and model build on DuckDB (1M people; small: 20k)',
  async run(scale, log) {
    const people = scale === 'small' ? 20_000 : 1_000_000;
    const dir = mkdtempSync(join(tmpdir(), 'cdp-bench-models-'));
    try {
      const demo = loadProject(bundledDemoDir, {});
      const project: Project = { ...demo, dir, config: { ...demo.config, warehouse: { type: 'duckdb', path: join(dir, 'bench.duckdb'), schema: 'analytics' } } };
      const warehouse = await connectWarehouse(project.config.warehouse, { projectDir: dir });
      try {
        log(`baseline: generator alone at ${people} people`);
        const jsOnly = await timed(async () => {
          let rows = 0;
          for (const table of generateDemoTables({ people, seed: SEED, asOf: AS_OF })) {
            for await (const batch of table.rows()) rows += batch.length;
          }
          return rows;
        });

        log('generate → DuckDB');
        const generate = await timed(() => loadDemoData(warehouse, 'raw', { people, seed: SEED, asOf: AS_OF }));
        const rawRows = generate.value.reduce((sum, t) => sum + t.rows, 0);

        log('build models');
        const compiled = compileProject(project, warehouse.dialect);
        const build = await timed(() => runModels(warehouse, compiled, { selected: compiled.graph.order, threads: 2, fullRefresh: true }));
        if (!build.value.ok) {
          const failed = build.value.results.filter((r) => r.status !== 'success').map((r) => `${r.model}: ${r.message}`);
          throw new Error(`model build failed: ${failed.join('; ')}`);
        }

        log('baseline: copy every raw table once');
        const copy = await timed(async () => {
          await warehouse.execute(warehouse.dialect.createSchemaIfNotExists('bench_copy'));
          for (const table of generate.value) {
            const target = { schema: 'bench_copy', name: table.table };
            await warehouse.execute(warehouse.dialect.dropTableIfExists(target));
            await warehouse.execute(warehouse.dialect.createTableAs(target, `SELECT * FROM ${warehouse.dialect.qualify({ schema: 'raw', name: table.table })}`));
          }
        });

        return {
          params: { people, seed: SEED, warehouse: 'duckdb', raw_rows: rawRows, models: compiled.models.length, threads: 2 },
          results: { generate_seconds: round(generate.seconds), build_seconds: round(build.seconds), peak_rss_mb: peakRssMb() },
          baselines: { generator_only_seconds: round(jsOnly.seconds), copy_raw_tables_seconds: round(copy.seconds) },
          ratios: {
            generate_vs_generator_only: round(generate.seconds / jsOnly.seconds, 2),
            build_vs_copy_raw_tables: round(build.seconds / copy.seconds, 2),
            raw_rows_per_second: Math.round(rawRows / generate.seconds),
          },
        };
      } finally {
        await warehouse.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
