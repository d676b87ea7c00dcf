import { compileProject, selectModels } from '../../src/compiler';
import { CdpError } from '../../src/errors';
import { loadProject } from '../../src/project';
import { dialectFor } from '../../src/warehouse';
import { makeProject, minimalCdpYml } from '../helpers/project-fixture';

function compile(models: Record<string, string>, dialect: 'duckdb' | 'postgres' | 'bigquery' | 'snowflake' = 'postgres') {
  const project = makeProject({ 'cdp.yml': minimalCdpYml, ...models });
  try {
    return compileProject(loadProject(project.dir, {}), dialectFor(dialect));
  } finally {
    project.remove();
  }
}

function compileError(models: Record<string, string>): string {
  try {
    compile(models);
  } catch (error) {
    if (error instanceof CdpError) return error.toLine();
    throw error;
  }
  throw new Error('expected compile to fail');
}

describe('compileProject', () => {
  test('renders ref, source, var and macros through the dialect', () => {
    const compiled = compile({
      'models/stg.sql': '---\nmaterialized: view\n---\nselect {{normalize "email"}} as email from {{source "raw" "contacts"}}',
      'models/mart.sql': "---\nmaterialized: table\ntags: [marts]\n---\nselect email, {{hash \"email\"}} as k, '{{var \"as_of\"}}' as as_of from {{ref \"stg\"}}",
    });
    expect(compiled.models.map((m) => m.name)).toEqual(['stg', 'mart']);
    const [stg, mart] = compiled.models;
    expect(stg.sql).toBe(`select NULLIF(lower(trim(email)), '') as email from "raw"."contacts"\n`);
    expect(mart.sql).toContain(`from "analytics"."stg"`);
    expect(mart.sql).toContain(`'2026-01-01' as as_of`);
    expect(mart.sql).toContain('md5(');
    expect(mart.dependsOn).toEqual(['stg']);
    expect(mart.ref).toEqual({ schema: 'analytics', name: 'mart' });
    expect(mart.config).toMatchObject({ materialized: 'table', tags: ['marts'] });
  });

  test('quotes per dialect', () => {
    const model = { 'models/m.sql': 'select 1 as x from {{source "raw" "events"}}' };
    expect(compile(model, 'duckdb').models[0].sql).toContain('"raw"."events"');
    expect(compile(model, 'bigquery').models[0].sql).toContain('`raw`.`events`');
    expect(compile(model, 'snowflake').models[0].sql).toContain('"RAW"."EVENTS"');
  });

  test('a ref inside {{#if is_incremental}} is still a dependency, and {{this}} is the model itself', () => {
    const compiled = compile({
      'models/a.sql': 'select 1 as id',
      'models/b.sql':
        '---\nmaterialized: incremental\nunique_key: id\n---\nselect id from {{ref "a"}}\n{{#if is_incremental}}where id > (select max(id) from {{this}}){{/if}}',
    });
    const b = compiled.models.find((m) => m.name === 'b')!;
    expect(b.dependsOn).toEqual(['a']);
    expect(b.sql).not.toContain('where');
    expect(b.incrementalSql).toContain('where id > (select max(id) from "analytics"."b")');
    expect(b.uniqueKey).toEqual(['id']);
  });

  test('an unknown ref names the file, the line and a near name', () => {
    expect(compileError({ 'models/orders.sql': 'select 1 as x', 'models/m.sql': 'select *\nfrom {{ref "order"}}' })).toBe(
      "models/m.sql:2: unknown model 'order' in ref — did you mean 'orders'?",
    );
  });

  test('a cycle names every file and line on it', () => {
    const line = compileError({
      'models/a.sql': 'select * from {{ref "c"}}',
      'models/b.sql': '\nselect * from {{ref "a"}}',
      'models/c.sql': '\n\nselect * from {{ref "b"}}',
    });
    expect(line).toMatch(/models form a cycle: /);
    expect(line).toContain('a (models/a.sql:1)');
    expect(line).toContain('b (models/b.sql:2)');
    expect(line).toContain('c (models/c.sql:3)');
  });

  test('an unknown helper or variable names the file and line (front matter counted)', () => {
    expect(compileError({ 'models/m.sql': '---\ntags: [x]\n---\nselect 1\n, {{hsh "a"}} as h' })).toMatch(
      /^models\/m\.sql:5: unknown helper or variable 'hsh' — helpers are ref, source, var/,
    );
  });

  test('an undefined var says where to define it', () => {
    expect(compileError({ 'models/m.sql': "select '{{var \"nope\"}}' as x" })).toBe(
      "models/m.sql:1: variable 'nope' is not defined — add it under vars: in cdp.yml, or give a default: {{var \"nope\" \"…\"}}",
    );
  });

  test('a template syntax error names the line', () => {
    expect(compileError({ 'models/m.sql': 'select 1\n{{#if is_incremental}}\nwhere x' })).toMatch(/^models\/m\.sql:\d+: template syntax error/);
  });

  test('front matter is validated with the file line', () => {
    expect(compileError({ 'models/m.sql': '---\nmaterialized: tabel\n---\nselect 1' })).toBe(
      'models/m.sql:2: materialized: must be one of view, table, incremental — use one of: view, table, incremental',
    );
  });

  test('an incremental model without unique_key is rejected', () => {
    expect(compileError({ 'models/m.sql': '---\nmaterialized: incremental\n---\nselect 1 as id' })).toBe(
      'models/m.sql:1: an incremental model needs a unique_key — add `unique_key: your_id_column` to the front matter',
    );
  });

  test('an unknown source suggests the declared one', () => {
    expect(compileError({ 'models/m.sql': 'select * from {{source "raw" "event"}}' })).toBe(
      "models/m.sql:1: unknown source table 'event' — did you mean 'events'?",
    );
  });

  test('macro arguments are checked', () => {
    expect(compileError({ 'models/m.sql': 'select {{date_add "fortnight" 1 "x"}}' })).toBe(
      "models/m.sql:1: date_add: unknown date unit 'fortnight' — use one of second, minute, hour, day, week, month, year",
    );
  });
});

describe('selectModels', () => {
  const compiled = compile({
    'models/a.sql': '---\ntags: [staging]\n---\nselect 1 as id',
    'models/b.sql': 'select * from {{ref "a"}}',
    'models/c.sql': 'select * from {{ref "b"}}',
    'models/d.sql': '---\ntags: [staging]\n---\nselect 2 as id',
  });
  const select = (...s: string[]) => selectModels(compiled.graph, compiled.nodes, s);

  test.each([
    [[], ['a', 'b', 'c', 'd']],
    [['b'], ['b']],
    [['b+'], ['b', 'c']],
    [['+b'], ['a', 'b']],
    [['+b+'], ['a', 'b', 'c']],
    [['tag:staging'], ['a', 'd']],
    [['c', 'tag:staging'], ['a', 'c', 'd']],
    [['a+ d'], ['a', 'b', 'c', 'd']],
  ])('%j selects %j in dependency order', (selectors, expected) => {
    expect(select(...selectors)).toEqual(expected);
  });

  test('an unknown name or tag is an error', () => {
    expect(() => select('x')).toThrow(/no model named 'x'/);
    expect(() => select('tag:nope')).toThrow(/no model has tag 'nope'/);
  });
});
