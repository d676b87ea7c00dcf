/**
 * The demo's segments: compiled SQL snapshotted for all four dialects (from a fixed catalog,
 * no warehouse needed), and built for real on DuckDB and PostgreSQL from the same generated
 * data — every segment has the same members on both. Members are compared by their
 * identifiers, since profile ids may differ between engines on collation ties (identity
 * CONTEXT.md, known limits).
 */
import { loadDemoData } from '../../examples/demo/generator';
import { bundledDemoDir } from '../../src/cli/demo-command';
import { compileProject } from '../../src/compiler';
import { loadIdentityPlan, runIdentity } from '../../src/identity';
import { loadProject, type Project } from '../../src/project';
import { runModels } from '../../src/runner';
import { loadSegmentsPlan, loadSegmentsSetup, membersSql, planSegments, runSegments, sizeSql, valueKindOf, type Catalog } from '../../src/segments';
import { dialectFor, warehouseTypes } from '../../src/warehouse';
import { localWarehouseTypes, openTestWarehouse, type TestWarehouse } from '../helpers/test-warehouses';

const demo = loadProject(bundledDemoDir, {});
const kinds = (spec: string) => new Map(spec.split(' ').map((c) => { const [name, type] = c.split(':'); return [name!, valueKindOf(type!)] as const; }));

const demoCatalog = (segments: Catalog['segments']): Catalog => ({
  profiles: kinds('profile_id:VARCHAR identifiers:VARCHAR identifier_count:BIGINT first_seen:TIMESTAMP last_seen:TIMESTAMP first_name:VARCHAR last_name:VARCHAR company_name:VARCHAR orders_count:BIGINT revenue_usd:DECIMAL last_order_at:TIMESTAMP current_account_id:VARCHAR'),
  accounts: kinds('account_id:VARCHAR domain:VARCHAR name:VARCHAR industry:VARCHAR employees:BIGINT members:BIGINT current_members:BIGINT'),
  events: new Map([
    ['web', { columns: kinds('event_id:VARCHAR anonymous_id:VARCHAR user_id:VARCHAR event_type:VARCHAR url:VARCHAR occurred_at:TIMESTAMP event_date:DATE'), names: new Set(['page_view', 'product_view', 'add_to_cart', 'checkout', 'login']) }],
    ['orders', { columns: kinds('order_id:VARCHAR user_id:VARCHAR email:VARCHAR amount:DECIMAL amount_usd:DECIMAL status:VARCHAR ordered_at:TIMESTAMP'), fixedName: 'order' }],
    ['jobs', { columns: kinds('membership_id:VARCHAR email:VARCHAR company_id:VARCHAR title:VARCHAR started_at:TIMESTAMP ended_at:TIMESTAMP'), fixedName: 'job' }],
  ]),
  segments,
});

describe.each(warehouseTypes)('demo segments compiled for %s', (type) => {
  const setup = loadSegmentsSetup(demo, dialectFor(type), {});
  const plan = planSegments(setup, demoCatalog(new Map(setup.files.map((f) => [f.name, /over:\s*accounts/.test(f.text) ? 'accounts' : 'profiles']))));
  test.each(plan.segments.map((s) => [s.name, s] as const))('%s', (_name, segment) => {
    expect(membersSql(plan, segment)).toMatchSnapshot('members');
    expect(sizeSql(plan, segment).sql).toMatchSnapshot('size');
  });
});

describe('demo segments on DuckDB and PostgreSQL', () => {
  const members = new Map<string, Map<string, string[]>>();
  const tests: TestWarehouse[] = [];

  beforeAll(async () => {
    for (const type of localWarehouseTypes) {
      const t = await openTestWarehouse(type);
      tests.push(t);
      const rawSchema = `${t.schema}_raw`;
      const project: Project = { ...demo, config: { ...demo.config, sources: { raw: { ...demo.config.sources.raw, schema: rawSchema } } } };
      await loadDemoData(t.warehouse, rawSchema, { people: 1200, seed: 11, asOf: new Date('2026-11-01T00:00:00Z') });
      const compiled = compileProject(project, t.warehouse.dialect, { schema: t.schema });
      const summary = await runModels(t.warehouse, compiled, { selected: compiled.graph.order, threads: 2 });
      if (!summary.ok) throw new Error(`demo models failed on ${type}`);
      const identity = await runIdentity(t.warehouse, loadIdentityPlan(project, t.warehouse.dialect, {}, { outputSchema: t.schema, stateSchema: t.schema }), { strategy: 'sql' });
      if (!identity.ok) throw identity.error;
      const plan = await loadSegmentsPlan(project, t.warehouse, {}, { outputSchema: t.schema, stateSchema: t.schema });
      const result = await runSegments(t.warehouse, plan, { at: new Date('2026-11-01T00:00:00Z') });
      if (!result.ok) throw new Error(`demo segments failed on ${type}: ${JSON.stringify(result.results.filter((r) => r.status !== 'success'))}`);
      const bySegment = new Map<string, string[]>();
      for (const s of plan.segments) {
        const d = t.warehouse.dialect;
        const sql =
          s.over === 'profiles'
            ? `SELECT pr.identifiers AS k, m.split_group AS g FROM ${d.qualify(plan.tables.members(s.name))} AS m JOIN ${d.qualify(plan.tables.profiles)} AS pr ON pr.profile_id = m.profile_id`
            : `SELECT m.account_id AS k, m.split_group AS g FROM ${d.qualify(plan.tables.members(s.name))} AS m`;
        bySegment.set(s.name, (await t.warehouse.query(sql)).map((r) => `${String(r.k)} ${String(r.g)}`).sort());
      }
      members.set(type, bySegment);
      await t.warehouse.execute(`DROP SCHEMA IF EXISTS ${t.warehouse.dialect.quoteIdent(rawSchema)} CASCADE`);
    }
  }, 180_000);
  afterAll(async () => {
    for (const t of tests) await t.cleanup();
  });

  test.each(loadSegmentsSetup(demo, dialectFor('duckdb'), {}).files.map((f) => f.name))('%s has the same members on both', (name) => {
    const duck = members.get('duckdb')!.get(name)!;
    expect(members.get('postgres')!.get(name)).toEqual(duck);
  });

  test('the demo segments are not empty', () => {
    const sizes = Object.fromEntries([...members.get('duckdb')!].map(([n, m]) => [n, m.length]));
    for (const name of ['vip', 'churn_risk', 'cart_abandoners', 'b2b_decision_makers', 'engaged_accounts']) expect([name, sizes[name]! > 0]).toEqual([name, true]);
  });
});
