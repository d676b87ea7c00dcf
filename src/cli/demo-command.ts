/**
 * `cdp demo` (what `npm start` runs): generates the fictional retailer's data into the demo
 * project's embedded DuckDB, builds the demo models, identity and segments, runs the demo's
 * syncs and prints a summary. Deterministic: the same --people and --seed give the same
 * warehouse.
 * The B2B part (Salesforce accounts and contacts, a person changing company): demo-b2b.ts.
 */
import { join, resolve } from 'node:path';
import { loadDemoData } from '../../examples/demo/generator';
import { selectModels } from '../compiler';
import { loadProject } from '../project';
import { formatCount, formatDuration, type Output } from './output';
import { compileForWarehouse, connectProjectWarehouse, openProjectControlDb } from './project-context';
import { printDemoHighlights } from './demo-highlights';
import { buildAndRecord } from './run-command';
import { runDemoSyncs } from './demo-syncs';
import { printIdentityHighlights } from './demo-identity';
import { printDemoSegments } from './demo-segments';
import { followCompanyMove, hasB2bSyncs, startB2bDemo } from './demo-b2b';

export interface DemoOptions {
  people: number;
  seed: number;
  dir?: string;
  threads?: number;
  json: boolean;
}

export const bundledDemoDir = resolve(join(__dirname, '..', '..', 'examples', 'demo'));
const DEMO_AS_OF = new Date('2026-11-01T00:00:00Z');

export async function demoCommand(options: DemoOptions, out: Output): Promise<number> {
  const project = loadProject(options.dir ?? bundledDemoDir, process.env);
  const compiled = compileForWarehouse(project);
  const warehouse = await connectProjectWarehouse(project);
  try {
    const control = await openProjectControlDb(project);
    try {
      out.line(`warehouse-cdp demo: ${formatCount(options.people)} people, seed ${options.seed}, ${project.config.warehouse.type} at ${project.dir}`);
      const generateStarted = Date.now();
      const rawSchema = project.config.sources.raw?.schema ?? 'raw';
      const loaded = await loadDemoData(warehouse, rawSchema, {
        people: options.people,
        seed: options.seed,
        asOf: DEMO_AS_OF,
        onProgress: ({ table, rows }) => out.progress(`loading ${rawSchema}.${table}: ${formatCount(rows)} rows`),
      });
      for (const { table, rows } of loaded) out.line(`  ${rawSchema}.${table.padEnd(16)} ${formatCount(rows).padStart(12)} rows`);
      const generateMs = Date.now() - generateStarted;
      const rawRows = loaded.reduce((sum, t) => sum + t.rows, 0);
      out.line(`Generated ${formatCount(rawRows)} raw rows in ${formatDuration(generateMs)}`);

      const selected = selectModels(compiled.graph, compiled.nodes, []);
      const summary = await buildAndRecord({ project, compiled, warehouse, control, selected, out, select: [], threads: options.threads, fullRefresh: true });
      out.result({ people: options.people, seed: options.seed, raw: loaded, generate_ms: generateMs, ok: summary.ok, counts: summary.counts });
      if (summary.ok) {
        await printDemoHighlights(warehouse, compiled, out);
        const identity = await printIdentityHighlights(project, warehouse, rawRows, out);
        if (!identity) return 1;
        if (!(await printDemoSegments(project, warehouse, out))) return 1;
        // Syncs last: one of them reads a segment, built just above.
        const b2b = hasB2bSyncs(project) ? await startB2bDemo(project, warehouse) : undefined;
        try {
          const syncs = await runDemoSyncs(project, compiled, warehouse, control, out, b2b?.env);
          if (syncs.some((s) => s.status !== 'success')) return 1;
          if (b2b && !(await followCompanyMove(project, compiled, warehouse, control, b2b, DEMO_AS_OF, out))) return 1;
        } finally {
          await b2b?.close();
        }
        out.line('');
        out.line(`Explore: the DuckDB file is ${join(project.dir, '.cdp', 'warehouse.duckdb')}; models are in ${join(project.dir, 'models')}.`);
        out.line(`Next: cdp --project-dir ${project.dir} compile --dialect postgres   # the same models for PostgreSQL`);
      }
      return summary.ok ? 0 : 1;
    } finally {
      await control.close();
    }
  } finally {
    await warehouse.close();
  }
}
