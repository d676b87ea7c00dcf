/**
 * The process running a sync is killed with SIGKILL mid-run, then the sync is run again
 * (both as real `cdp sync run` child processes on a DuckDB file + SQLite control DB): the
 * receiver's end state equals the audience minus the rejected rows, which are listed with
 * reasons — no row lost. In insert mode only batches in flight at the kill may repeat, and
 * the next run says so.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { connectWarehouse, type Row } from '../../src/warehouse';
import { startWebhookReceiver, type WebhookReceiver } from '../fakes/webhook-receiver';
import { makeProject, type FixtureProject } from '../helpers/project-fixture';
import { expectedRecords, people, type Person } from './sync-fixture';

const root = join(__dirname, '..', '..');

function cdp(project: FixtureProject, args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [join(root, 'bin', 'cdp.js'), '--project-dir', project.dir, ...args], {
    env: { ...process.env, ...env, CDP_DEBUG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

async function setUp(mode: string, audience: Person[]) {
  const project = makeProject({
    'cdp.yml': 'name: killtest\nwarehouse: { type: duckdb, path: .cdp/warehouse.duckdb, schema: analytics }\nstate_schema: cdp_state\n',
    'destinations.yml': 'hook:\n  type: webhook\n  config: { url: "${HOOK_URL}" }\n  limits: { batch_rows: 10, concurrency: 2 }\n',
    'consent.yml': 'purposes:\n  email_marketing: { column: consent }\n',
    'syncs/people.yml': `source: { table: analytics.audience }\ndestination: hook\nobject: records\nmode: ${mode}\nkey: email\nmapping: { email: email, name: "{{trim first_name}}", tier: "{{lower tier}}", source: { const: cdp } }\npurpose: email_marketing\n`,
  });
  const warehouse = await connectWarehouse({ type: 'duckdb', path: join(project.dir, '.cdp', 'warehouse.duckdb'), schema: 'analytics' }, { projectDir: project.dir });
  const columns = ['email', 'first_name', 'tier', 'consent'].map((name) => ({ name, type: 'string' as const }));
  await warehouse.execute('CREATE SCHEMA IF NOT EXISTS analytics');
  await warehouse.execute(warehouse.dialect.createTable({ schema: 'analytics', name: 'audience' }, columns));
  await warehouse.load({ schema: 'analytics', name: 'audience' }, columns, (async function* () {
    yield audience as unknown as Row[];
  })());
  await warehouse.close();
  return project;
}

async function killAfter(receiver: WebhookReceiver, accepted: number, child: ReturnType<typeof spawn>) {
  while (receiver.stats.accepted < accepted && child.exitCode === null) await new Promise((r) => setTimeout(r, 5));
  child.kill('SIGKILL');
}

describe('a sync killed with SIGKILL mid-run', () => {
  let receiver: WebhookReceiver;
  let project: FixtureProject;
  afterEach(async () => {
    await receiver?.close();
    project?.remove();
  });

  test('mirror: the rerun completes; end state = audience minus rejected rows (listed with reasons)', async () => {
    receiver = await startWebhookReceiver({ latencyMs: 15, rejectRow: (key) => (key.endsWith('7@example.com') && key.length === 15 ? 'blocked domain' : undefined) });
    const audience = people(400, (i) => (i % 13 === 0 ? { consent: 'denied' } : {}));
    project = await setUp('mirror', audience);
    const env = { HOOK_URL: receiver.url };
    const first = cdp(project, ['sync', 'run', 'people'], env);
    await killAfter(receiver, 12, first.child);
    const killed = await first.done;
    expect(killed.signal).toBe('SIGKILL');
    expect(receiver.records.size).toBeLessThan(expectedRecords(audience).size);

    const second = await cdp(project, ['sync', 'run', 'people'], env).done;
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/was interrupted; this run resumes/);

    const rejectedKeys = new Set(audience.map((p) => p.email!).filter((k) => k.endsWith('7@example.com') && k.length === 15 && audience.find((p) => p.email === k)!.consent === 'granted'));
    expect(receiver.records).toEqual(expectedRecords(audience, rejectedKeys));
    const listed = await cdp(project, ['--json', 'sync', 'rejected', 'people'], env).done;
    const { total, rows } = JSON.parse(listed.stdout) as { total: number; rows: { key: string; reason: string }[] };
    expect(total).toBe(rejectedKeys.size);
    expect(new Set(rows.map((r) => r.key))).toEqual(rejectedKeys);
    expect(rows.every((r) => r.reason === 'blocked domain')).toBe(true);
    // No one without consent was ever sent, in either process.
    const sent = new Set(receiver.log.flatMap((b) => b.rows.map((r) => r.key)));
    for (const p of audience) if (p.consent !== 'granted') expect(sent.has(p.email!)).toBe(false);

    const runs = JSON.parse((await cdp(project, ['--json', 'sync', 'runs', 'people'], env).done).stdout) as { status: string }[];
    expect(runs.map((r) => r.status)).toEqual(['success', 'failed']);
  });

  test('insert: only batches in flight at the kill may be sent twice, and the rerun says so', async () => {
    receiver = await startWebhookReceiver({ latencyMs: 15 });
    const audience = people(300);
    project = await setUp('insert', audience);
    const env = { HOOK_URL: receiver.url };
    const first = cdp(project, ['sync', 'run', 'people'], env);
    await killAfter(receiver, 8, first.child);
    await first.done;
    const second = await cdp(project, ['sync', 'run', 'people'], env).done;
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/insert mode: up to 20 rows that were in flight/);
    expect(new Set(receiver.inserts.keys())).toEqual(new Set(audience.map((p) => p.email!)));
    const duplicated = [...receiver.inserts.values()].filter((n) => n > 1).length;
    // batch_rows 10 × concurrency 2 in flight.
    expect(duplicated).toBeLessThanOrEqual(20);
  });
});
