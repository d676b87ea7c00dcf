/**
 * The runner on real DuckDB and PostgreSQL: materialisations, the build-and-swap promise
 * (a failed build leaves the old table whole), incremental merges, parallel runs and
 * skips that cascade.
 */
import { compileProject, type CompiledProject } from '../../src/compiler';
import { loadProject } from '../../src/project';
import { relationKind, runModels, TEMP_SUFFIX } from '../../src/runner';
import { makeProject } from '../helpers/project-fixture';
import { localWarehouseTypes, openTestWarehouse, type TestWarehouse } from '../helpers/test-warehouses';

describe.each(localWarehouseTypes)('runModels on %s', (type) => {
  let t: TestWarehouse;
  beforeEach(async () => {
    t = await openTestWarehouse(type);
    const src = { schema: t.schema, name: 'people' };
    await t.warehouse.execute(t.warehouse.dialect.createTable(src, [{ name: 'id', type: 'integer' }, { name: 'name', type: 'string' }, { name: 'score', type: 'integer' }]));
    await t.warehouse.execute(`INSERT INTO ${t.warehouse.dialect.qualify(src)} VALUES (1, 'ann', 10), (2, 'bob', 20), (3, 'cy', 30)`);
  });
  afterEach(() => t.cleanup());

  const cdpYml = () => `name: runner_test
warehouse: { type: ${type} }
sources:
  raw: { schema: ${t.schema}, tables: [people] }
`;

  function compile(models: Record<string, string>): CompiledProject {
    const fixture = makeProject({ 'cdp.yml': cdpYml(), ...models });
    try {
      return compileProject(loadProject(fixture.dir, {}), t.warehouse.dialect, { schema: t.schema });
    } finally {
      fixture.remove();
    }
  }

  const run = (compiled: CompiledProject, options: { fullRefresh?: boolean; threads?: number } = {}) =>
    runModels(t.warehouse, compiled, { selected: compiled.graph.order, threads: options.threads ?? 2, fullRefresh: options.fullRefresh });

  const rows = (name: string) =>
    t.warehouse.query(`SELECT * FROM ${t.warehouse.dialect.qualify({ schema: t.schema, name })} ORDER BY 1`);

  test('builds views, tables and incremental models in order with results', async () => {
    const compiled = compile({
      'models/stg_people.sql': 'select id, upper(name) as name, score from {{source "raw" "people"}}',
      'models/people_table.sql': '---\nmaterialized: table\n---\nselect id, name from {{ref "stg_people"}} where score >= 20',
      'models/people_inc.sql': '---\nmaterialized: incremental\nunique_key: id\n---\nselect id, score from {{ref "stg_people"}}',
    });
    const summary = await run(compiled);
    expect(summary.counts).toEqual({ success: 3, error: 0, skipped: 0 });
    expect(summary.results.map((r) => [r.model, r.kind, r.rows])).toEqual([
      ['stg_people', 'view', undefined],
      ['people_inc', 'full-refresh', 3],
      ['people_table', 'table', 2],
    ]);
    expect(await relationKind(t.warehouse, { schema: t.schema, name: 'stg_people' })).toBe('view');
    expect(await rows('people_table')).toEqual([
      { id: 2, name: 'BOB' },
      { id: 3, name: 'CY' },
    ]);
  });

  test('a failed rebuild leaves the previous table whole and no temp table behind', async () => {
    const good = compile({ 'models/scores.sql': '---\nmaterialized: table\n---\nselect id, score from {{source "raw" "people"}}' });
    expect((await run(good)).ok).toBe(true);
    // Fails while rows are being produced (cast of 'x' on the third row), not at planning.
    const bad = compile({
      'models/scores.sql':
        "---\nmaterialized: table\n---\nselect id, cast(case when id = 3 then 'x' else cast(score as varchar) end as integer) as score from {{source \"raw\" \"people\"}}",
    });
    const summary = await run(bad);
    expect(summary.results[0].status).toBe('error');
    expect(summary.results[0].message).toMatch(/^models\/scores\.sql: /);
    expect(await rows('scores')).toEqual([
      { id: 1, score: 10 },
      { id: 2, score: 20 },
      { id: 3, score: 30 },
    ]);
    expect(await relationKind(t.warehouse, { schema: t.schema, name: `scores${TEMP_SUFFIX}` })).toBeNull();
  });

  test('incremental models merge on unique_key; --full-refresh rebuilds', async () => {
    const models = {
      'models/latest.sql':
        '---\nmaterialized: incremental\nunique_key: [id]\n---\nselect id, name, score from {{source "raw" "people"}}\n{{#if is_incremental}}where score > (select min(score) from {{this}}){{/if}}',
    };
    expect((await run(compile(models))).ok).toBe(true);
    const src = t.warehouse.dialect.qualify({ schema: t.schema, name: 'people' });
    await t.warehouse.execute(`UPDATE ${src} SET name = 'bobby' WHERE id = 2`);
    await t.warehouse.execute(`INSERT INTO ${src} VALUES (4, 'dee', 40)`);
    await t.warehouse.execute(`DELETE FROM ${src} WHERE id = 1`);

    const incremental = await run(compile(models));
    expect(incremental.results[0]).toMatchObject({ status: 'success', kind: 'incremental', rows: 4 });
    // id 1 is gone from the source but an incremental merge keeps it; 2 updated; 4 added.
    expect(await rows('latest')).toEqual([
      { id: 1, name: 'ann', score: 10 },
      { id: 2, name: 'bobby', score: 20 },
      { id: 3, name: 'cy', score: 30 },
      { id: 4, name: 'dee', score: 40 },
    ]);

    const refreshed = await run(compile(models), { fullRefresh: true });
    expect(refreshed.results[0]).toMatchObject({ kind: 'full-refresh', rows: 3 });
    expect((await rows('latest')).map((r) => r.id)).toEqual([2, 3, 4]);
  });

  test('changing a view into a table and back replaces the relation', async () => {
    expect((await run(compile({ 'models/m.sql': 'select 1 as x' }))).ok).toBe(true);
    expect((await run(compile({ 'models/m.sql': '---\nmaterialized: table\n---\nselect 2 as x' }))).ok).toBe(true);
    expect(await relationKind(t.warehouse, { schema: t.schema, name: 'm' })).toBe('table');
    expect(await rows('m')).toEqual([{ x: 2 }]);
    expect((await run(compile({ 'models/m.sql': 'select 3 as x' }))).ok).toBe(true);
    expect(await relationKind(t.warehouse, { schema: t.schema, name: 'm' })).toBe('view');
    expect(await rows('m')).toEqual([{ x: 3 }]);
  });

  test('independent models build in parallel; a failure skips only its dependants', async () => {
    const models: Record<string, string> = {
      'models/broken.sql': '---\nmaterialized: table\n---\nselect missing_column from {{source "raw" "people"}}',
      'models/after_broken.sql': 'select * from {{ref "broken"}}',
      'models/after_after.sql': 'select * from {{ref "after_broken"}}',
    };
    for (let i = 0; i < 6; i++) models[`models/ok_${i}.sql`] = `---\nmaterialized: table\n---\nselect id, score * ${i} as s from {{source "raw" "people"}}`;
    const summary = await run(compile(models), { threads: 4 });
    expect(summary.counts).toEqual({ success: 6, error: 1, skipped: 2 });
    const byModel = Object.fromEntries(summary.results.map((r) => [r.model, r]));
    expect(byModel.broken.message).toMatch(/missing_column/);
    expect(byModel.after_broken).toMatchObject({ status: 'skipped', message: 'upstream broken failed' });
    expect(byModel.after_after).toMatchObject({ status: 'skipped', message: 'upstream broken failed' });
    expect(await rows('ok_5')).toEqual([
      { id: 1, s: 50 },
      { id: 2, s: 100 },
      { id: 3, s: 150 },
    ]);
  });
});
