/**
 * Two real `cdp worker` processes share a PostgreSQL control DB (graphile-worker queue) and
 * a PostgreSQL warehouse: 20 syncs on a six-field (seconds) cron. One worker is killed with
 * SIGKILL while it runs the big sync; the other takes the job over. Checked afterwards:
 * every fire was enqueued once across the fleet, every fire that ran produced exactly one
 * successful run, no sync ever overlapped itself, the killed run was marked interrupted and
 * resumed, and the receiver holds every row of every audience (no row lost). The survivor
 * then stops on SIGTERM and exits cleanly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import knex from 'knex';
import type { Row } from '../../src/warehouse';
import { startWebhookReceiver, type WebhookReceiver } from '../fakes/webhook-receiver';
import { makeProject, type FixtureProject } from '../helpers/project-fixture';
import { openTestWarehouse, POSTGRES_TEST_URL, uniqueName, type TestWarehouse } from '../helpers/test-warehouses';

const root = join(__dirname, '..', '..');
const SYNCS = 20;
const BIG = 300; // rows of s01, the sync the kill interrupts
const SMALL = 12;

function worker(project: FixtureProject, env: Record<string, string>): { child: ChildProcess; exited: Promise<number | null>; output: () => string } {
  const child = spawn(process.execPath, [join(root, 'bin', 'cdp.js'), '--project-dir', project.dir, 'worker', '--concurrency', '3', '--tick-ms', '200', '--heartbeat-ms', '400', '--dead-after-ms', '4000'], {
    env: { ...process.env, ...env, CDP_DEBUG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

const waitFor = async (what: string, predicate: () => Promise<boolean> | boolean, timeoutMs = 40_000) => {
  const until = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

describe('a fleet of two workers on PostgreSQL', () => {
  let wh: TestWarehouse;
  let receiver: WebhookReceiver;
  let project: FixtureProject;
  const controlSchema = uniqueName('ctl');
  const stateSchema = uniqueName('st');
  const control = knex({ client: 'pg', connection: POSTGRES_TEST_URL, searchPath: [controlSchema], pool: { min: 0, max: 2 } });
  const workers: ReturnType<typeof worker>[] = [];

  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.exited));
    for (const schema of [controlSchema, `${controlSchema}_jobs`, stateSchema]) await control.raw(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await control.destroy();
    await receiver?.close();
    await wh?.cleanup();
    project?.remove();
  });

  test('each fire runs once, never overlapping; a killed run is taken over and no row is lost', async () => {
    wh = await openTestWarehouse('postgres');
    // Latency makes the big sync's run last ~2 s, so the kill lands mid-run.
    receiver = await startWebhookReceiver({ latencyMs: 60 });
    const columns = [{ name: 'email', type: 'string' as const }, { name: 'name', type: 'string' as const }];
    const expected = new Map<string, string>();
    const files: Record<string, string> = {
      'cdp.yml': `name: fleet\nwarehouse: { type: postgres, url: "${POSTGRES_TEST_URL}", schema: ${wh.schema} }\ncontrol: { url: "${POSTGRES_TEST_URL}?schema=${controlSchema}" }\nstate_schema: ${stateSchema}\n`,
      'destinations.yml': 'hook:\n  type: webhook\n  config: { url: "${HOOK_URL}" }\n  limits: { batch_rows: 10, concurrency: 1 }\n',
    };
    for (let s = 1; s <= SYNCS; s++) {
      const name = `s${String(s).padStart(2, '0')}`;
      const rows = Array.from({ length: s === 1 ? BIG : SMALL }, (_, i) => ({ email: `${name}-p${i}@example.com`, name: `${name} ${i}` }));
      for (const r of rows) expected.set(r.email, r.name);
      await wh.warehouse.execute(wh.warehouse.dialect.createTable({ schema: wh.schema, name }, columns));
      await wh.warehouse.load({ schema: wh.schema, name }, columns, (async function* () {
        yield rows as unknown as Row[];
      })());
      // Fires every 5 seconds; the big sync every 10 (its run is long).
      files[`syncs/${name}.yml`] = `source: { table: ${wh.schema}.${name} }\ndestination: hook\nobject: records\nmode: upsert\nkey: email\nmapping: { email: email, name: name }\nschedule: "${s === 1 ? '*/10' : '*/5'} * * * * *"\n`;
    }
    project = makeProject(files);
    const env = { HOOK_URL: receiver.url };
    const a = worker(project, env);
    workers.push(a);
    await waitFor('worker a to start', () => a.output().includes('cdp worker'));
    const b = worker(project, env);
    workers.push(b);
    await waitFor('worker b to start', () => b.output().includes('cdp worker'));

    // Kill whichever worker runs s01 once part of its rows arrived.
    const s01Arrived = () => [...receiver.records.keys()].filter((k) => k.startsWith('s01-')).length;
    const runningS01 = async () => ((await control('cdp_jobs').where({ target: 's01', status: 'running' }).select('worker')) as { worker: string }[])[0];
    // Both at once: on a loaded machine the job row can lag the first rows arriving.
    await waitFor('s01 to be running and half way', async () => s01Arrived() >= 40 && (await runningS01()) !== undefined);
    const running = await runningS01();
    expect(running).toBeDefined();
    const victimPid = Number(running!.worker.split(':')[1]);
    const victim = [a, b].find((w) => w.child.pid === victimPid)!;
    const survivor = [a, b].find((w) => w !== victim)!;
    expect(s01Arrived()).toBeLessThan(BIG);
    victim.child.kill('SIGKILL');
    await victim.exited;

    // The survivor takes over and finishes s01; let two more fire rounds pass.
    await waitFor('s01 to be complete', () => s01Arrived() === BIG);
    await new Promise((r) => setTimeout(r, 11_000));
    survivor.child.kill('SIGTERM');
    expect(await survivor.exited).toBe(0);
    expect(survivor.output()).toMatch(/took over from a dead worker/);

    // No row lost.
    expect(receiver.records.size).toBe(expected.size);
    for (const [email, name] of expected) expect(receiver.records.get(email)).toMatchObject({ email, name });

    const jobs = (await control('cdp_jobs').select('id', 'target', 'fire_at', 'status', 'run_id', 'attempts')) as { id: string; target: string; fire_at: Date; status: string; run_id: string | null; attempts: number }[];
    const runs = (await control('cdp_sync_runs').select('id', 'sync', 'status', 'started_at', 'finished_at', 'message')) as { id: string; sync: string; status: string; started_at: Date; finished_at: Date | null; message: string | null }[];
    // Each fire enqueued once across the fleet.
    const fires = jobs.map((j) => `${j.target}@${j.fire_at.toISOString()}`);
    expect(new Set(fires).size).toBe(fires.length);
    for (let s = 1; s <= SYNCS; s++) expect(jobs.filter((j) => j.target === `s${String(s).padStart(2, '0')}`).length).toBeGreaterThanOrEqual(2);
    // Every fire that finished ran exactly once: one successful run, recorded on its job.
    const finished = jobs.filter((j) => j.status === 'success');
    expect(finished.length).toBeGreaterThan(SYNCS * 2);
    const runById = new Map(runs.map((r) => [r.id, r]));
    for (const job of finished) expect(runById.get(job.run_id!)).toMatchObject({ sync: job.target, status: 'success' });
    expect(new Set(finished.map((j) => j.run_id)).size).toBe(finished.length);
    expect(jobs.filter((j) => !['success', 'coalesced', 'queued', 'running', 'cancelled'].includes(j.status))).toEqual([]);
    // The killed run: marked interrupted, its job taken over (second attempt) and resumed.
    const interrupted = runs.filter((r) => r.sync === 's01' && r.status === 'failed');
    expect(interrupted).toHaveLength(1);
    expect(interrupted[0]!.message).toMatch(/interrupted/);
    const resumed = runs.find((r) => r.sync === 's01' && r.message?.includes(interrupted[0]!.id));
    expect(resumed).toMatchObject({ status: 'success' });
    expect(jobs.find((j) => j.run_id === resumed!.id)!.attempts).toBe(2);
    // Never overlapping: per sync, each run starts after the previous one finished.
    for (let s = 1; s <= SYNCS; s++) {
      const mine = runs.filter((r) => r.sync === `s${String(s).padStart(2, '0')}`).sort((x, y) => x.started_at.getTime() - y.started_at.getTime());
      for (let i = 1; i < mine.length; i++) {
        const previous = mine[i - 1]!;
        // The interrupted run never finished by itself; its lock was taken over after its worker died.
        if (previous.status === 'failed' && previous.message?.includes('interrupted')) continue;
        expect(mine[i]!.started_at.getTime()).toBeGreaterThanOrEqual(previous.finished_at!.getTime());
      }
    }
  }, 90_000);
});
