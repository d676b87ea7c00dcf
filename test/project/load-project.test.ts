import { CdpError } from '../../src/errors';
import { loadProject } from '../../src/project';
import { makeProject, minimalCdpYml } from '../helpers/project-fixture';

function loadError(files: Record<string, string>, env: Record<string, string> = {}): CdpError {
  const project = makeProject(files);
  try {
    loadProject(project.dir, env);
  } catch (error) {
    if (error instanceof CdpError) return error;
    throw error;
  } finally {
    project.remove();
  }
  throw new Error('expected loadProject to fail');
}

describe('loadProject', () => {
  test('reads cdp.yml with defaults and the model files', () => {
    const project = makeProject({ 'cdp.yml': minimalCdpYml, 'models/a.sql': 'select 1 as x', 'models/sub/b.sql': 'select 2 as y' });
    try {
      const loaded = loadProject(project.dir, {});
      expect(loaded.config.name).toBe('fixture');
      expect(loaded.config.control.url).toBe('sqlite://.cdp/control.db');
      expect(loaded.config.state_schema).toBe('cdp_state');
      expect(loaded.config.warehouse).toEqual({ type: 'duckdb', path: '.cdp/warehouse.duckdb', schema: 'analytics' });
      expect(loaded.models.map((m) => [m.name, m.path])).toEqual([
        ['a', 'models/a.sql'],
        ['b', 'models/sub/b.sql'],
      ]);
    } finally {
      project.remove();
    }
  });

  test('resolves ${ENV} and ${ENV:-default} before validation', () => {
    const yml = `name: p
warehouse:
  type: postgres
  url: \${PG_URL}
  schema: \${PG_SCHEMA:-analytics}
  port: 5432
`;
    const project = makeProject({ 'cdp.yml': yml });
    try {
      const loaded = loadProject(project.dir, { PG_URL: 'postgres://u@h/db' });
      expect(loaded.config.warehouse).toMatchObject({ type: 'postgres', url: 'postgres://u@h/db', schema: 'analytics' });
    } finally {
      project.remove();
    }
  });

  test('a missing env var names the file, the line and the variable', () => {
    const error = loadError({ 'cdp.yml': 'name: p\nwarehouse:\n  type: postgres\n  password: ${PG_PASSWORD}\n' });
    expect(error.kind).toBe('config');
    expect(error.toLine()).toBe('cdp.yml:4: environment variable PG_PASSWORD is not set — export PG_PASSWORD=… before running, or write ${PG_PASSWORD:-default}');
  });

  test('a YAML syntax error names the line', () => {
    const error = loadError({ 'cdp.yml': 'name: p\nwarehouse:\n  type: duckdb\n  path: [unclosed\n' });
    expect(error.toLine()).toMatch(/^cdp\.yml:\d+: YAML syntax error: .+ — fix the YAML/);
  });

  test('an unquoted ${ENV} inside a flow map gets a hint to quote it', () => {
    const error = loadError({ 'cdp.yml': 'name: p\nwarehouse: { type: postgres, password: ${PW} }\n' }, { PW: 'x' });
    expect(error.toLine()).toMatch(/^cdp\.yml:2: YAML syntax error: .+ — quote environment references inside \{ \}: "\$\{NAME\}"$/);
  });

  test('an unknown key names the key and its line', () => {
    const error = loadError({ 'cdp.yml': 'name: p\nwarehouse:\n  type: duckdb\n  pathh: x.duckdb\n' });
    expect(error.toLine()).toBe("cdp.yml:4: unknown key 'pathh' in warehouse — remove it or check the spelling");
  });

  test('a wrong type names the field and what was expected', () => {
    const error = loadError({ 'cdp.yml': 'name: p\nwarehouse:\n  type: postgres\n  port: "five"\n' });
    expect(error.toLine()).toBe('cdp.yml:4: warehouse.port: expected number, got string "five" — write warehouse.port as a number');
  });

  test('an unknown warehouse type lists the valid ones', () => {
    const error = loadError({ 'cdp.yml': 'name: p\nwarehouse:\n  type: oracle\n' });
    expect(error.toLine()).toMatch(/^cdp\.yml:3: warehouse\.type: .*duckdb.*postgres.*bigquery.*snowflake/);
  });

  test('a missing required field says so', () => {
    const error = loadError({ 'cdp.yml': 'warehouse: { type: duckdb }\n' });
    expect(error.toLine()).toBe('cdp.yml:1: name is required — add name');
  });

  test('no cdp.yml suggests cdp init', () => {
    const error = loadError({});
    expect(error.toLine()).toMatch(/no cdp\.yml here — run `cdp init`/);
  });

  test('two models with one name are an error naming both files', () => {
    const error = loadError({ 'cdp.yml': minimalCdpYml, 'models/a/x.sql': 'select 1', 'models/b/x.sql': 'select 2' });
    expect(error.toLine()).toBe("models/b/x.sql: model 'x' is also defined in models/a/x.sql — model names are file names and must be unique: rename one");
  });
});
