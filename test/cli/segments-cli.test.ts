/**
 * `cdp run` and `cdp segments …` as a user runs them: a real process on the embedded DuckDB.
 * A full run builds models, identity and segments; size shows each condition group; preview
 * masks personal data unless --unmask; a broken definition is one line, exit 2, and builds
 * nothing.
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
SELECT 'u1' AS user_id, 'ann@example.com' AS email, 'Ann' AS first_name, 5 AS orders, CAST('2026-05-01' AS TIMESTAMP) AS seen_at
UNION ALL SELECT 'u2', 'bob@example.com', 'Bob', 1, CAST('2026-05-02' AS TIMESTAMP)
UNION ALL SELECT 'u3', 'cy@example.com', 'Cy', 7, CAST('2026-05-03' AS TIMESTAMP)
`;
const events = `---
materialized: table
---
SELECT 'u1' AS user_id, 'add_to_cart' AS event_type, CAST('2026-05-20' AS TIMESTAMP) AS occurred_at
UNION ALL SELECT 'u3', 'add_to_cart', CAST('2026-05-21' AS TIMESTAMP)
UNION ALL SELECT 'u3', 'checkout', CAST('2026-05-22' AS TIMESTAMP)
UNION ALL SELECT 'u2', 'add_to_cart', CAST('2025-01-01' AS TIMESTAMP)
`;

describe('cdp segments', () => {
  let project: FixtureProject;
  beforeAll(() => {
    project = makeProject({
      'cdp.yml': 'name: seg_cli\nwarehouse: { type: duckdb, path: .cdp/warehouse.duckdb, schema: analytics }\n',
      'models/people.sql': people,
      'models/events.sql': events,
      'identity.yml':
        'identifiers:\n  user_id: {}\n  email: {}\nsources:\n  - { name: people, model: people, identifiers: { user_id: user_id, email: email }, timestamp: seen_at, traits: { first_name: first_name, orders: orders } }\n' +
        'traits:\n  first_name: {}\n  orders: { rule: max, type: integer }\n',
      'segments.yml': "as_of: '2026-06-01'\nevents:\n  web: { model: events, identifier: { type: user_id, column: user_id }, event: event_type, timestamp: occurred_at }\n",
      'segments/buyers.yml': 'rules: { trait: orders, op: gte, value: 5 }\npreview: [first_name, orders]\n',
      'segments/abandoners.yml':
        'rules:\n  all:\n    - { event: add_to_cart, within: { last: 30, unit: day } }\n    - { event: checkout, times: { at_most: 0 }, within: { last: 30, unit: day } }\n',
    });
  });
  afterAll(() => project.remove());

  test('a full cdp run builds models, identity and segments; size, preview, overlap, list and show', () => {
    const run = cdp(['run'], project.dir);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/OK {4}abandoners +1 members \(\+1 −0\)/);
    expect(run.stdout).toMatch(/OK {4}buyers +2 members \(\+2 −0\)/);

    const size = cdp(['segments', 'size', 'abandoners'], project.dir);
    expect(size.code).toBe(0);
    expect(size.stdout.split('\n').slice(1, 4).map((l) => l.trim())).toEqual([
      '3  all profiles',
      '2  performed add_to_cart at least 1 time(s) in the last 30 day(s)',
      '1  and performed checkout at most 0 time(s) in the last 30 day(s)',
    ]);

    const masked = cdp(['segments', 'preview', 'buyers'], project.dir);
    expect(masked.code).toBe(0);
    expect(masked.stdout).toMatch(/A\*\*\* +5/);
    expect(masked.stdout).not.toMatch(/Ann/);
    const unmasked = cdp(['segments', 'preview', 'buyers', '--unmask', '--traits', 'first_name'], project.dir);
    expect(unmasked.stdout).toMatch(/Ann/);
    expect(unmasked.stdout).toMatch(/Cy/);

    const overlap = cdp(['--json', 'segments', 'overlap', 'buyers', 'abandoners'], project.dir);
    expect(JSON.parse(overlap.stdout)).toEqual({ segments: ['buyers', 'abandoners'], sizes: { buyers: 2, abandoners: 1 }, pairs: [{ a: 'buyers', b: 'abandoners', both: 1 }] });

    const list = cdp(['segments', 'list'], project.dir);
    expect(list.stdout).toMatch(/buyers +profiles +rules +2 members/);
    const show = cdp(['segments', 'show', 'abandoners'], project.dir);
    expect(show.stdout).toMatch(/LEFT JOIN e1 ON e1\."profile_id" = p\."profile_id"/);
  });

  test('a broken definition is one line, exit 2, and nothing is built', () => {
    project.write('segments/broken.yml', 'rules:\n  all:\n    - { trait: orderz, op: gte, value: 1 }\n');
    project.write('segments/buyers.yml', 'rules: { trait: orders, op: gte, value: 1 }\n');
    try {
      const run = cdp(['run'], project.dir);
      expect(run.code).toBe(2);
      expect(run.stderr.trim()).toBe("error: segments/broken.yml:3: rules.all.0.trait: unknown trait 'orderz' of profiles — known: profile_id, identifiers, identifier_count, first_seen, last_seen, first_name, orders");
      // buyers would now hold 3 people had anything been materialised.
      const list = cdp(['segments', 'list'], project.dir);
      expect(list.code).toBe(2);
    } finally {
      project.write('segments/broken.yml', 'rules: { trait: orders, op: gte, value: 1 }\n');
    }
    const list = cdp(['--json', 'segments', 'list'], project.dir);
    const buyers = (JSON.parse(list.stdout) as { segments: { name: string; materialized?: number }[] }).segments.find((s) => s.name === 'buyers');
    expect(buyers?.materialized).toBe(2);
  });
});
