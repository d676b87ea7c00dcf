/**
 * The demo project's models: compiled SQL snapshotted for all four dialects, and the same
 * models built on DuckDB and PostgreSQL from the same generated data give identical rows.
 */
import { generateDemoTables, loadDemoData } from '../../examples/demo/generator';
import { bundledDemoDir } from '../../src/cli/demo-command';
import { compileProject } from '../../src/compiler';
import { loadProject, type Project } from '../../src/project';
import { runModels } from '../../src/runner';
import { dialectFor, warehouseTypes, type Row } from '../../src/warehouse';
import { localWarehouseTypes, openTestWarehouse, type TestWarehouse } from '../helpers/test-warehouses';

const AS_OF = new Date('2026-11-01T00:00:00Z');
const demo = loadProject(bundledDemoDir, {});

describe.each(warehouseTypes)('demo models compiled for %s', (type) => {
  const compiled = compileProject(demo, dialectFor(type));
  test.each(compiled.models.map((m) => [m.name, m] as const))('%s', (_name, model) => {
    expect(model.sql).toMatchSnapshot('sql');
    if (model.incrementalSql) expect(model.incrementalSql).toMatchSnapshot('incremental sql');
  });
});

describe('demo models on DuckDB and PostgreSQL', () => {
  const people = 1500;
  const built = new Map<string, { t: TestWarehouse; tables: Map<string, Row[]> }>();

  beforeAll(async () => {
    for (const type of localWarehouseTypes) {
      const t = await openTestWarehouse(type);
      const rawSchema = `${t.schema}_raw`;
      // The demo's sources point at `raw`; this test's copy points at its own schema.
      const project: Project = { ...demo, config: { ...demo.config, sources: { raw: { ...demo.config.sources.raw, schema: rawSchema } } } };
      await loadDemoData(t.warehouse, rawSchema, { people, seed: 7, asOf: AS_OF });
      const compiled = compileProject(project, t.warehouse.dialect, { schema: t.schema });
      const summary = await runModels(t.warehouse, compiled, { selected: compiled.graph.order, threads: 2 });
      const failures = summary.results.filter((r) => r.status !== 'success').map((r) => `${r.model}: ${r.message}`);
      if (failures.length) throw new Error(`demo models failed on ${type}: ${failures.join('; ')}`);
      const tables = new Map<string, Row[]>();
      for (const model of compiled.models) {
        const rows = await t.warehouse.query(`SELECT * FROM ${t.warehouse.dialect.qualify(model.ref)}`);
        tables.set(model.name, canonical(rows));
      }
      built.set(type, { t, tables });
      await t.warehouse.execute(`DROP SCHEMA IF EXISTS ${t.warehouse.dialect.quoteIdent(rawSchema)} CASCADE`);
    }
  }, 240_000);

  afterAll(async () => {
    for (const { t } of built.values()) await t.cleanup();
  });

  test('every model has rows', () => {
    for (const [name, rows] of built.get('duckdb')!.tables) expect([name, rows.length > 0]).toEqual([name, true]);
  });

  test.each(compileProject(demo, dialectFor('duckdb')).models.map((m) => m.name))('%s is identical on both', (name) => {
    const duck = built.get('duckdb')!.tables.get(name)!;
    const pg = built.get('postgres')!.tables.get(name)!;
    expect(pg.length).toBe(duck.length);
    expect(pg).toEqual(duck);
  });

  test('the generator is what was loaded', () => {
    const tables = generateDemoTables({ people, seed: 7, asOf: AS_OF });
    expect(tables.map((t) => t.name)).toEqual(demo.config.sources.raw.tables);
  });
});

/** Rows in a fixed order, so two engines' results compare without ORDER BY in the models. */
function canonical(rows: Row[]): Row[] {
  const key = (row: Row) => JSON.stringify(Object.keys(row).sort().map((k) => (row[k] instanceof Date ? (row[k] as Date).toISOString() : row[k])));
  return rows.map((row) => ({ ...row })).sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
