/**
 * Child process of the sync bench: opens the DuckDB file the bench prepared (an audience of
 * `rows` people; optional DuckDB memory_limit), delivers every row to the receiver at `url` in 1,000-row batches through a
 * real `runSync`, and prints one JSON line with the timings and this process's peak RSS —
 * the kernel's high-water mark of the whole process (Node, the engine and DuckDB's native
 * memory), so nothing a `cdp sync run` carries is left out.
 */
// As `cdp` runs (bin/cdp.js): the same V8 heap sizing.
import '../../bin/v8-heap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openControlDb } from '../../src/control';
import { runSync } from '../../src/sync';
import { connectWarehouse } from '../../src/warehouse';
import { benchSyncProject } from './sync-support';

/** Peak resident set of this process (VmHWM), in MB; getrusage's maxRSS where /proc is absent. */
function peakRssMb(): number {
  try {
    const kb = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (kb) return Math.round(Number(kb) / 1024);
  } catch {
    // not Linux
  }
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

async function main(rows: number, url: string, file: string, memoryLimit: string | undefined): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cdp-bench-delivery-'));
  // As a project would set it in cdp.yml (warehouse.memory_limit) for a lean sync worker.
  const warehouse = await connectWarehouse({ type: 'duckdb', path: file, schema: 'main', ...(memoryLimit ? { memory_limit: memoryLimit } : {}) }, { projectDir: dir });
  const control = await openControlDb(`sqlite://${join(dir, 'control.db')}`, dir);
  try {
    const project = benchSyncProject({ url, batchRows: 1000, concurrency: 4, stateSchema: 'bench_state', sourceSchema: 'bench' });
    const rssBefore = peakRssMb();
    const result = await runSync({ warehouse, control, project: 'bench', projectDir: dir }, project.target, {}).finally(() => rmSync(project.dir, { recursive: true, force: true }));
    const deliverMs = (result.timings.total_ms ?? 0) - (result.timings.plan_ms ?? 0) - (result.timings.bookkeeping_ms ?? 0);
    process.stdout.write(
      `${JSON.stringify({ status: result.status, succeeded: result.counts.succeeded, deliver_ms: deliverMs, send_ms: result.timings.send_ms, commit_ms: result.timings.commit_ms, plan_ms: result.timings.plan_ms, peak_rss_mb: peakRssMb(), rss_before_mb: rssBefore })}\n`,
    );
  } finally {
    await control.close();
    await warehouse.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main(Number(process.argv[2]), process.argv[3]!, process.argv[4]!, process.argv[5] || undefined).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
