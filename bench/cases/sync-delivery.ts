/**
 * Child process of the sync bench: delivers `rows` added rows from a fresh DuckDB to the
 * receiver at `url` in 1,000-row batches and prints one JSON line with the timings and this
 * process's peak RSS (measured alone, so the fake's memory is not counted).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openControlDb } from '../../src/control';
import { runSync } from '../../src/sync';
import { connectWarehouse } from '../../src/warehouse';
import { benchSyncProject, createAudience } from './sync-support';

async function main(rows: number, url: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cdp-bench-delivery-'));
  const warehouse = await connectWarehouse({ type: 'duckdb', path: join(dir, 'w.duckdb'), schema: 'main' }, { projectDir: dir });
  const control = await openControlDb(`sqlite://${join(dir, 'control.db')}`, dir);
  try {
    await createAudience(warehouse, 'bench', rows);
    const { target } = benchSyncProject({ url, batchRows: 1000, concurrency: 4, stateSchema: 'bench_state', sourceSchema: 'bench' });
    const rssBefore = Math.round(process.resourceUsage().maxRSS / 1024);
    const result = await runSync({ warehouse, control, project: 'bench', projectDir: dir }, target, {});
    const deliverMs = (result.timings.total_ms ?? 0) - (result.timings.plan_ms ?? 0) - (result.timings.bookkeeping_ms ?? 0);
    process.stdout.write(
      `${JSON.stringify({ status: result.status, succeeded: result.counts.succeeded, deliver_ms: deliverMs, send_ms: result.timings.send_ms, commit_ms: result.timings.commit_ms, plan_ms: result.timings.plan_ms, peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024), rss_before_mb: rssBefore })}\n`,
    );
  } finally {
    await control.close();
    await warehouse.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main(Number(process.argv[2]), process.argv[3]!).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
