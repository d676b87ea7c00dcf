/**
 * `cdp identity run | explain | stats` as a user runs them: a real process on the embedded
 * DuckDB, exit codes, output and one-line errors.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { makeProject, type FixtureProject } from '../helpers/project-fixture';

const bin = join(__dirname, '..', '..', 'bin', 'cdp.js');
function cdp(args: string[], cwd: string) {
  const result = spawnSync(process.execPath, [bin, ...args], { cwd, env: { ...process.env, CDP_DEBUG: '' }, encoding: 'utf8', timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const people = `---
materialized: table
---
SELECT 'u1' AS user_id, ' Ann@Example.com' AS email, 'd1' AS device_id, CAST('2024-01-01' AS TIMESTAMP) AS seen_at
UNION ALL SELECT 'u1', NULL, 'a1', CAST('2024-01-02' AS TIMESTAMP)
UNION ALL SELECT 'u2', 'test@test.com', 'd1', CAST('2024-01-03' AS TIMESTAMP)
UNION ALL SELECT 'u3', 'cy@example.com', NULL, CAST('2024-01-04' AS TIMESTAMP)
`;
const identityYml = `identifiers:
  user_id: { limit: 1 }
  email: {}
  device_id: {}
sources:
  - { name: people, model: people, identifiers: { user_id: user_id, email: email, device_id: device_id }, timestamp: seen_at }
`;

describe('cdp identity', () => {
  let project: FixtureProject;
  beforeAll(() => {
    project = makeProject({
      'cdp.yml': 'name: id_cli\nwarehouse: { type: duckdb, path: .cdp/warehouse.duckdb, schema: analytics }\n',
      'models/people.sql': people,
      'identity.yml': identityYml,
    });
    expect(cdp(['run'], project.dir).code).toBe(0);
  });
  afterAll(() => project.remove());

  test('run, explain and stats', () => {
    const run = cdp(['identity', 'run'], project.dir);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Run 1 \(full\): 3 profiles from 7 identifiers; 3 new, 0 merged, 0 split; 1 edges over a limit, 1 blocked\/invalid values/);

    const explain = cdp(['identity', 'explain', 'email:ANN@example.com '], project.dir);
    expect(explain.code).toBe(0);
    expect(explain.stdout).toMatch(/^email:ann@example\.com → profile p_[0-9a-f]{16}$/m);
    expect(explain.stdout).toMatch(/Identifiers \(4\):/);
    expect(explain.stdout).toMatch(/device_id:d1 — user_id:u1 {2}\[people, first 2024-01-01 00:00:00Z\]/);
    expect(explain.stdout).toMatch(/Rejected \(1\):\n {2}device_id:d1 — user_id:u2 {2}limit user_id: at most 1 per profile \[people\]/);

    const stats = cdp(['identity', 'stats'], project.dir);
    expect(stats.code).toBe(0);
    expect(stats.stdout).toMatch(/^3 profiles, 7 identifiers \(2\.33 per profile\); last run 1 \(full\)$/m);
    expect(stats.stdout).toMatch(/blocked\s+blocked value\s+1 value\(s\)\s+1 occurrence\(s\)/);
    expect(stats.stdout).toMatch(/limit\s+limit user_id: at most 1 per profile\s+1 value\(s\)/);

    const json = cdp(['--json', 'identity', 'stats'], project.dir);
    expect(JSON.parse(json.stdout)).toMatchObject({ profiles: 3, identifiers: 7 });

    const again = cdp(['identity', 'run'], project.dir);
    expect(again.stdout).toMatch(/Run 2 \(incremental\): 3 profiles .* 0 new, 0 merged/);
  });

  test('errors are one line with the right exit code', () => {
    const missing = cdp(['identity', 'explain', 'email:nobody@example.com'], project.dir);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe('error: identity explain: email:nobody@example.com is in no profile — check the value, or run `cdp identity run` after new data lands');
    const blocked = cdp(['identity', 'explain', 'email:test@test.com'], project.dir);
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toMatch(/is in no profile \(blocked value\)/);
    const badType = cdp(['identity', 'explain', 'fax:123'], project.dir);
    expect(badType.code).toBe(2);
    expect(badType.stderr.trim()).toBe("error: explain: unknown identifier type 'fax' — use one of user_id, email, device_id");
    project.write('identity.yml', identityYml.replace('limit: 1', 'limit: 0'));
    const bad = cdp(['identity', 'run'], project.dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^error: identity\.yml:2: identifiers\.user_id\.limit: /);
    project.write('identity.yml', identityYml);
  });
});
