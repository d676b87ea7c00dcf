/**
 * The `cdp` binary as a user runs it: real process, real DuckDB, exit codes and the
 * one-line error promise (no stack traces).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProject, type FixtureProject } from '../helpers/project-fixture';

const bin = join(__dirname, '..', '..', 'bin', 'cdp.js');

function cdp(args: string[], cwd: string, env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [bin, ...args], { cwd, env: { ...process.env, ...env, CDP_DEBUG: '' }, encoding: 'utf8', timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function expectOneLineError(stderr: string, pattern: RegExp) {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(stderr).not.toMatch(/\n\s+at /);
}

const duckdbYml = (extra = '') => `name: cli_test
warehouse: { type: duckdb, path: .cdp/warehouse.duckdb, schema: analytics }
${extra}`;

describe('cdp init, compile and run', () => {
  let project: FixtureProject;
  beforeAll(() => {
    project = makeProject({});
  });
  afterAll(() => project.remove());

  test('init scaffolds a project that runs as is', () => {
    const init = cdp(['init', 'shop'], project.dir);
    expect(init.code).toBe(0);
    const dir = join(project.dir, 'shop');
    expect(existsSync(join(dir, 'cdp.yml'))).toBe(true);

    const run = cdp(['run'], dir);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/OK\s+stg_contacts\s+view/);
    expect(run.stdout).toMatch(/OK\s+contacts\s+table, 2 rows/);
    expect(run.stdout).toMatch(/2 succeeded, 0 failed, 0 skipped/);

    const json = cdp(['run', '--json', '--select', 'contacts'], dir);
    expect(json.code).toBe(0);
    const result = JSON.parse(json.stdout);
    expect(result.counts).toEqual({ success: 1, error: 0, skipped: 0 });
    expect(result.results[0]).toMatchObject({ model: 'contacts', status: 'success', rows: 2 });
  });

  test('compile writes SQL for another dialect', () => {
    const dir = join(project.dir, 'shop');
    const compile = cdp(['compile', '--dialect', 'bigquery'], dir);
    expect(compile.code).toBe(0);
    const sql = readFileSync(join(dir, 'target/compiled/bigquery/models/marts/contacts.sql'), 'utf8');
    expect(sql).toContain('`analytics`.`stg_contacts`');
    expect(sql).toContain('TO_HEX(MD5(');
  });

  test('init refuses to overwrite a project', () => {
    const again = cdp(['init', 'shop'], project.dir);
    expect(again.code).toBe(2);
    expectOneLineError(again.stderr, /shop\/cdp\.yml: a project already exists here/);
  });
});

describe('cdp debug', () => {
  test('shows the resolved config with secrets redacted and checks both connections', () => {
    const project = makeProject({
      'cdp.yml': 'name: dbg\nwarehouse: { type: postgres, url: "postgres://postgres:hunter2@127.0.0.1:5432/test", password: "${PGPASS}" }\ncontrol: { url: sqlite://.cdp/control.db }\n',
    });
    try {
      const result = cdp(['debug', '--json'], project.dir, { PGPASS: 's3cret-value' });
      expect(result.code).toBe(0);
      expect(result.stdout).not.toContain('s3cret-value');
      expect(result.stdout).not.toContain('hunter2');
      const report = JSON.parse(result.stdout);
      expect(report.warehouse).toMatchObject({ type: 'postgres', password: '***', url: 'postgres://postgres:***@127.0.0.1:5432/test' });
      expect(report.checks).toEqual([
        { name: 'warehouse', ok: true, message: 'ok' },
        { name: 'control', ok: true, message: 'ok' },
      ]);
    } finally {
      project.remove();
    }
  });

  test('a failed connection check exits 1 and says which', () => {
    const project = makeProject({ 'cdp.yml': 'name: dbg\nwarehouse: { type: postgres, port: 1, database: test }\n' });
    try {
      const result = cdp(['debug'], project.dir);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/check\s+warehouse: FAILED — cdp\.yml \(warehouse postgres\): /);
      expect(result.stdout).toMatch(/check\s+control: ok/);
    } finally {
      project.remove();
    }
  });
});

describe('bad input gives one line and the right exit code', () => {
  const cases: { name: string; files: Record<string, string>; args?: string[]; env?: Record<string, string>; code: number; error: RegExp }[] = [
    {
      name: 'unknown ref',
      files: { 'cdp.yml': duckdbYml(), 'models/a.sql': 'select 1 as x', 'models/b.sql': 'select *\nfrom {{ref "aa"}}' },
      code: 2,
      error: /^error: models\/b\.sql:2: unknown model 'aa' in ref — did you mean 'a'\?$/,
    },
    {
      name: 'cycle',
      files: { 'cdp.yml': duckdbYml(), 'models/a.sql': 'select * from {{ref "b"}}', 'models/b.sql': 'select * from {{ref "a"}}' },
      code: 2,
      error: /^error: models\/a\.sql: models form a cycle: a \(models\/a\.sql:1\) → b \(models\/b\.sql:1\) → a/,
    },
    {
      name: 'YAML syntax error',
      files: { 'cdp.yml': 'name: x\nwarehouse: {type: duckdb\n' },
      code: 2,
      error: /^error: cdp\.yml:\d+: YAML syntax error/,
    },
    {
      name: 'unknown key',
      files: { 'cdp.yml': duckdbYml('threadz: 4\n') },
      code: 2,
      error: /^error: cdp\.yml:3: unknown key 'threadz' — remove it or check the spelling$/,
    },
    {
      name: 'missing env var',
      files: { 'cdp.yml': 'name: x\nwarehouse:\n  type: postgres\n  url: ${CDP_TEST_UNSET_URL}\n' },
      code: 2,
      error: /^error: cdp\.yml:4: environment variable CDP_TEST_UNSET_URL is not set/,
    },
    {
      name: 'unreachable warehouse',
      files: { 'cdp.yml': 'name: x\nwarehouse: { type: postgres, host: 127.0.0.1, port: 1, database: test }\n', 'models/a.sql': 'select 1 as x' },
      code: 1,
      error: /^error: cdp\.yml \(warehouse postgres\): .+ — .+/,
    },
    {
      name: 'bad usage',
      files: { 'cdp.yml': duckdbYml() },
      args: ['run', '--threads', 'many'],
      code: 2,
      error: /many/,
    },
  ];

  test.each(cases)('$name', ({ files, args, env, code, error }) => {
    const project = makeProject(files);
    try {
      const result = cdp(args ?? ['run'], project.dir, env);
      expect(result.code).toBe(code);
      expectOneLineError(result.stderr, error);
    } finally {
      project.remove();
    }
  });

  test('a SQL error fails that model, skips its dependants and leaves the others built (exit 1)', () => {
    const project = makeProject({
      'cdp.yml': duckdbYml(),
      'models/good.sql': '---\nmaterialized: table\n---\nselect 1 as id',
      'models/bad.sql': '---\nmaterialized: table\n---\nselect no_such_column from {{ref "good"}}',
      'models/after_bad.sql': 'select * from {{ref "bad"}}',
      'models/also_good.sql': 'select * from {{ref "good"}}',
    });
    try {
      const result = cdp(['run'], project.dir);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/OK\s+good/);
      expect(result.stdout).toMatch(/OK\s+also_good/);
      expect(result.stdout).toMatch(/ERROR\s+bad/);
      expect(result.stdout).toMatch(/SKIP\s+after_bad\s+skipped: upstream bad failed/);
      expect(result.stdout).toMatch(/2 succeeded, 1 failed, 1 skipped/);
      expectOneLineError(result.stderr, /^models\/bad\.sql: .*no_such_column/);
    } finally {
      project.remove();
    }
  });
});
