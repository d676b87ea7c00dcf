/**
 * Bench `sync` (issue 5):
 *  - plan: a 10M-row audience (small: 200k) with 1% changed on DuckDB — hash the mapped
 *    columns, diff against the state, write the change set — against a bare FULL OUTER
 *    JOIN on stored 64-bit hashes of the same two tables (the floor of any diff);
 *    PostgreSQL at 1/10 of the rows, same method;
 *  - delivery: 1M added rows (small: 50k) to a local receiver without limits, 1,000-row
 *    batches, in a child process so its peak RSS is the sync's alone (the audience is
 *    generated beforehand by this process; the child's RSS includes DuckDB's native memory);
 *  - rate limit: against a receiver allowing N requests per second (sliding window),
 *    utilisation = accepted requests / the most its window allows over the same interval;
 *  - Klaviyo rate limit (issue 8): a real sync against the Klaviyo fake at Klaviyo's documented
 *    limits (bench/cases/sync-klaviyo.ts).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openControlDb } from '../../src/control';
import { planSync, runSync, type SyncTarget } from '../../src/sync';
import { connectWarehouse, type Warehouse } from '../../src/warehouse';
import { startWebhookReceiver } from '../../test/fakes/webhook-receiver';
import { POSTGRES_TEST_URL } from '../../test/helpers/test-warehouses';
import { round, timed, type BenchCase } from '../harness';
import { measureKlaviyoRateLimit } from './sync-klaviyo';
import { benchSyncProject, createAudience } from './sync-support';

export const syncCase: BenchCase = {
  name: 'sync',
  description: 'sync plan (10M rows, 1% changed) vs a bare hash join; delivery rows/s and RSS; rate-limit utilisation',
  async run(scale, log) {
    const small = scale === 'small';
    const planRows = small ? 200_000 : 10_000_000;
    const pgRows = planRows / 10;
    const deliveryRows = small ? 50_000 : 1_000_000;
    const rateSeconds = small ? 4 : 10;
    const rps = 20;
    // At the burst rate 150 requests take 15 s; a longer run only waits out the steady window.
    // The default crosses a minute, so both Klaviyo windows (per second and per minute) bind.
    const klaviyoSeconds = small ? 6 : 75;
    const dir = mkdtempSync(join(tmpdir(), 'cdp-bench-sync-'));
    try {
      log(`delivery: ${deliveryRows} rows in 1,000-row batches to a receiver without limits (child process)`);
      const delivery = await measureDelivery(deliveryRows, dir, DELIVERY_MEMORY_LIMIT_MB);
      log(`  ${delivery.succeeded} rows in ${delivery.deliver_ms} ms (plan ${delivery.plan_ms} ms before it), peak RSS ${delivery.peak_rss_mb} MB (DuckDB memory_limit ${DELIVERY_MEMORY_LIMIT_MB} MB)`);
      const deliveryAlt = await measureDelivery(deliveryRows, dir, DELIVERY_MEMORY_LIMIT_ALT_MB);
      log(`  again with DuckDB memory_limit ${DELIVERY_MEMORY_LIMIT_ALT_MB} MB: ${deliveryAlt.deliver_ms} ms (plan ${deliveryAlt.plan_ms} ms), peak RSS ${deliveryAlt.peak_rss_mb} MB`);

      log(`rate limit: receiver allows ${rps} req/s for ~${rateSeconds}s`);
      const rate = await measureRateLimit(dir, rps, rateSeconds);
      log(`  ${rate.accepted} accepted, ${rate.tooMany} × 429, utilisation ${round(rate.utilisation, 3)}`);

      log(`Klaviyo rate limit: a real sync to the Klaviyo fake at burst 10/s, steady 150/min for ~${klaviyoSeconds}s`);
      const kl = await measureKlaviyoRateLimit(dir, klaviyoSeconds);
      log(`  ${kl.rows} rows, ${kl.accepted} accepted in ${round(kl.spanSeconds)} s, ${kl.tooMany} × 429, utilisation ${round(kl.utilisation, 3)}`);

      log(`plan on DuckDB: ${planRows} rows, 1% changed`);
      const duck = await connectWarehouse({ type: 'duckdb', path: join(dir, 'plan.duckdb'), schema: 'main' }, { projectDir: dir });
      const duckPlan = await measurePlan(duck, planRows, 'bench', log).finally(() => duck.close());
      log(`  plan ${round(duckPlan.planSeconds)} s vs bare join ${round(duckPlan.bareSeconds)} s`);

      log(`plan on PostgreSQL: ${pgRows} rows, 1% changed`);
      const pg = await connectWarehouse(
        { type: 'postgres', url: POSTGRES_TEST_URL, host: '127.0.0.1', port: 5432, schema: 'public', statement_timeout_ms: 600_000, pool_max: 4, ssl: false },
        { projectDir: dir },
      );
      const pgSchema = `bench_sync_${process.pid}`;
      const pgPlan = await measurePlan(pg, pgRows, pgSchema, log).finally(async () => {
        await pg.execute(`DROP SCHEMA IF EXISTS ${pgSchema} CASCADE`).catch(() => undefined);
        await pg.execute(`DROP SCHEMA IF EXISTS ${pgSchema}_state CASCADE`).catch(() => undefined);
        await pg.close();
      });
      log(`  plan ${round(pgPlan.planSeconds)} s vs bare join ${round(pgPlan.bareSeconds)} s`);

      const deliverySeconds = delivery.deliver_ms / 1000;
      return {
        params: { plan_rows: planRows, changed_share: 0.01, postgres_plan_rows: pgRows, delivery_rows: deliveryRows, batch_rows: 1000, delivery_concurrency: 4, delivery_duckdb_memory_limit_mb: DELIVERY_MEMORY_LIMIT_MB, delivery_alt_duckdb_memory_limit_mb: DELIVERY_MEMORY_LIMIT_ALT_MB, rate_limit_rps: rps, klaviyo_rows: kl.rows, klaviyo_batch_rows: kl.batchRows },
        results: {
          plan_seconds: round(duckPlan.planSeconds),
          plan_changes: duckPlan.changes,
          postgres_plan_seconds: round(pgPlan.planSeconds),
          delivery_seconds: round(deliverySeconds),
          delivery_rows_per_s: Math.round(delivery.succeeded / deliverySeconds),
          delivery_commit_seconds: round(delivery.commit_ms / 1000),
          delivery_plan_seconds: round(delivery.plan_ms / 1000),
          peak_rss_mb: delivery.peak_rss_mb,
          peak_rss_mb_at_duckdb_128mb: deliveryAlt.peak_rss_mb,
          delivery_rows_per_s_at_duckdb_128mb: Math.round(deliveryAlt.succeeded / (deliveryAlt.deliver_ms / 1000)),
          delivery_rss_before_run_mb: delivery.rss_before_mb,
          rate_limit_accepted_requests: rate.accepted,
          rate_limit_429s: rate.tooMany,
          klaviyo_accepted_requests: kl.accepted,
          klaviyo_429s: kl.tooMany,
          klaviyo_seconds: round(kl.spanSeconds),
        },
        baselines: {
          bare_join_seconds: round(duckPlan.bareSeconds),
          postgres_bare_join_seconds: round(pgPlan.bareSeconds),
          rate_limit_allowed_requests: rate.allowed,
          klaviyo_allowed_requests: kl.allowed,
        },
        ratios: {
          plan_vs_bare_join: round(duckPlan.planSeconds / duckPlan.bareSeconds, 2),
          postgres_plan_vs_bare_join: round(pgPlan.planSeconds / pgPlan.bareSeconds, 2),
          rate_limit_utilisation: round(rate.utilisation, 3),
          klaviyo_rate_limit_utilisation: round(kl.utilisation, 3),
        },
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

async function measurePlan(warehouse: Warehouse, rows: number, schema: string, log: (line: string) => void): Promise<{ planSeconds: number; bareSeconds: number; changes: number }> {
  const d = warehouse.dialect;
  const { target, dir } = benchSyncProject({ url: 'http://127.0.0.1:9/unused', batchRows: 1000, concurrency: 1, stateSchema: `${schema}_state`, sourceSchema: schema });
  try {
    log('  setup: audience, state of a full previous sync');
    await createAudience(warehouse, schema, rows);
    await planSync(warehouse, target, { full: false, retryRejected: false });
    await commitAll(warehouse, target);
    await createAudience(warehouse, schema, rows, 100);
    // Baseline input: the current audience's hashes stored, like the state's — over the same
    // inputs as the plan's row hash (mapped columns + the mapping's fingerprint), so the bare
    // join finds the same 1% of changes. (Without the fingerprint every hash differed from the
    // state's and the "baseline" wrote all 10M rows — not the floor of a diff.)
    const hashed = { schema, name: 'audience_hashed' };
    await warehouse.execute(d.dropTableIfExists(hashed));
    const hashInputs = [...target.sync.mapping.columns.map((c) => d.quoteIdent(c)), d.literal(target.sync.mapping.fingerprint)];
    await warehouse.execute(d.createTableAs(hashed, `SELECT email AS key, ${d.rowHash64(hashInputs)} AS h FROM ${d.qualify(target.source)}`));
    // Setup wrote ~20M rows: DuckDB checkpoints its WAL on the commit after it passes a size,
    // so without this the first timed statement (bare join or plan, whichever) pays for the
    // setup's checkpoint. PostgreSQL's own checkpoints are asynchronous.
    if (d.name === 'duckdb') await warehouse.execute('CHECKPOINT');
    const bareRef = { schema, name: 'bare_changes' };
    const bare = await timed(async () => {
      await warehouse.execute(d.dropTableIfExists(bareRef));
      await warehouse.execute(
        d.createTableAs(
          bareRef,
          `SELECT COALESCE(a.key, s.key) AS key, a.h AS h FROM ${d.qualify(hashed)} AS a FULL OUTER JOIN ${d.qualify(target.tables.state)} AS s ON s.key = a.key ` +
            `WHERE a.key IS NULL OR s.key IS NULL OR a.h <> s.row_hash`,
        ),
      );
    });
    const plan = await timed(() => planSync(warehouse, target, { full: false, retryRejected: false }));
    // Same answer, or the comparison means nothing.
    const [{ n: bareChanges }] = await warehouse.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${d.qualify(bareRef)}`);
    if (Number(bareChanges) !== plan.value.counts.planned) throw new Error(`bare join found ${bareChanges} changes, the plan ${plan.value.counts.planned}: not the same diff`);
    return { planSeconds: plan.seconds, bareSeconds: bare.seconds, changes: plan.value.counts.planned };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** As if the destination acknowledged every added row. */
async function commitAll(warehouse: Warehouse, target: SyncTarget): Promise<void> {
  const d = warehouse.dialect;
  await warehouse.execute(
    `INSERT INTO ${d.qualify(target.tables.state)} (key, row_hash, external_id, created, synced_at, run_id) ` +
      `SELECT __key, __hash, NULL, TRUE, ${d.now()}, 'bench' FROM ${d.qualify(target.tables.plan)} WHERE __kind = 'added'`,
  );
}

interface DeliveryResult {
  status: string;
  succeeded: number;
  deliver_ms: number;
  commit_ms: number;
  plan_ms: number;
  peak_rss_mb: number;
  rss_before_mb: number;
}

/**
 * The audience is generated here, in the bench process, into a DuckDB file the child then
 * opens, so the child's peak RSS is that of the sync alone (Node, the engine, DuckDB's native
 * memory — everything a `cdp sync run` process carries) and not of data generation. The child
 * runs with Node's default flags and cdp's heap sizing (bin/v8-heap.js), as `cdp` does.
 */
/**
 * DuckDB's memory_limit in the delivery child, as a project running lean sync workers would
 * set it in cdp.yml (warehouse.memory_limit). DuckDB's buffer pool fills up to its limit, so
 * the limit, not the sync, sets most of the process's native memory: DuckDB's default (80% of
 * RAM) lets a 1M-row plan take ~350 MB. The plan of 1M added rows takes as long at 64 MB as at
 * 128 MB (it spills to DuckDB's temp directory); the figure at 128 MB is reported beside it.
 */
const DELIVERY_MEMORY_LIMIT_MB = 64;
const DELIVERY_MEMORY_LIMIT_ALT_MB = 128;

async function measureDelivery(rows: number, dir: string, memoryLimitMb: number): Promise<DeliveryResult> {
  const file = join(dir, 'delivery.duckdb');
  const warehouse = await connectWarehouse({ type: 'duckdb', path: file, schema: 'main' }, { projectDir: dir });
  try {
    await createAudience(warehouse, 'bench', rows);
  } finally {
    await warehouse.close();
  }
  const receiver = await startWebhookReceiver({ keepLog: false });
  try {
    const child = spawn(process.execPath, [join(__dirname, '..', '..', 'bin', 'run-ts.js'), join(__dirname, 'sync-delivery.ts'), String(rows), receiver.url, file, `${memoryLimitMb}MB`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    if (code !== 0) throw new Error(`delivery child exited with ${code}`);
    const result = JSON.parse(out.trim().split('\n').pop()!) as DeliveryResult;
    if (result.succeeded !== rows || receiver.records.size !== rows) throw new Error(`delivery incomplete: ${result.succeeded} acknowledged, receiver holds ${receiver.records.size} of ${rows}`);
    return result;
  } finally {
    await receiver.close();
    rmSync(file, { force: true });
    rmSync(`${file}.wal`, { force: true });
  }
}

async function measureRateLimit(dir: string, rps: number, seconds: number): Promise<{ accepted: number; tooMany: number; allowed: number; utilisation: number }> {
  const receiver = await startWebhookReceiver({ keepLog: false, rateLimit: { count: rps, perMs: 1000 } });
  const warehouse = await connectWarehouse({ type: 'duckdb', path: join(dir, 'ratelimit-bench.duckdb'), schema: 'main' }, { projectDir: dir });
  const control = await openControlDb(`sqlite://${join(dir, 'ratelimit-control.db')}`, dir);
  try {
    const batchRows = 10;
    await createAudience(warehouse, 'rate', rps * seconds * batchRows);
    const { target, dir: projectDir } = benchSyncProject({ url: receiver.url, batchRows, concurrency: 4, requestsPerSecond: rps, stateSchema: 'rate_state', sourceSchema: 'rate' });
    try {
      const result = await runSync({ warehouse, control, project: 'bench', projectDir }, target, {});
      if (result.status !== 'success') throw new Error(`rate-limited run ended ${result.status}: ${result.message}`);
    } finally {
      rmSync(projectDir, { recursive: true, force: true });
    }
    const times = receiver.acceptedAt;
    const span = times[times.length - 1]! - times[0]!;
    // The most a limiter of `rps` per 1,000 ms window admits over [first, last].
    const allowed = rps * (Math.floor(span / 1000) + 1);
    return { accepted: times.length, tooMany: receiver.stats.tooMany, allowed, utilisation: times.length / allowed };
  } finally {
    await control.close();
    await warehouse.close();
    await receiver.close();
  }
}
