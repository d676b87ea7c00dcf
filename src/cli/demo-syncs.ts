/**
 * The sync part of `cdp demo`: starts a local webhook receiver, runs every sync of the demo
 * project (a CSV file hand-off and the webhook), and prints each run's counts. Reuses the
 * demo's open warehouse and control DB (DuckDB allows one writer per file).
 */
import { startDemoReceiver } from '../../examples/demo/demo-receiver';
import type { CompiledProject } from '../compiler';
import type { ControlDb } from '../control';
import type { Project } from '../project';
import { segmentMembersRef } from '../segments';
import { loadSyncProject, resolveSyncTarget, runSync, saveSyncDefinitions, storableSync, type SyncRunResult } from '../sync';
import type { Warehouse } from '../warehouse';
import { formatCount, type Output } from './output';
import { printRunResult } from './sync-command';

const DEMO_SECRET = 'demo-secret';

export async function runDemoSyncs(project: Project, compiled: CompiledProject, warehouse: Warehouse, control: ControlDb, out: Output, extraEnv: Record<string, string> = {}): Promise<SyncRunResult[]> {
  const receiver = await startDemoReceiver(DEMO_SECRET);
  try {
    const env = { ...process.env, ...extraEnv, CDP_DEMO_WEBHOOK_URL: receiver.url, CDP_DEMO_WEBHOOK_SECRET: DEMO_SECRET };
    const syncProject = loadSyncProject(project.dir, env);
    if (syncProject.syncs.size === 0) return [];
    await saveSyncDefinitions(control, project.config.name, [...syncProject.syncs.values()].map(storableSync));
    const models = new Map(compiled.models.map((m) => [m.name, m.ref]));
    out.line('');
    out.line(`Syncing ${syncProject.syncs.size} audience(s) (a local webhook receiver is listening at ${receiver.url})`);
    const results: SyncRunResult[] = [];
    for (const sync of syncProject.syncs.values()) {
      const target = resolveSyncTarget(sync, { models, defaultSchema: warehouse.defaultSchema, stateSchema: project.config.state_schema, segment: (name) => segmentMembersRef(project, name, process.env) });
      const result = await runSync({ warehouse, control, project: project.config.name, projectDir: project.dir }, target, {
        trigger: 'demo',
        // The receiver is new on every demo and the data regenerated: send the whole audience.
        full: true,
        onProgress: (t) => out.progress(t),
      });
      printRunResult(result, out);
      results.push(result);
    }
    out.line(`  the webhook receiver now holds ${formatCount(receiver.records.size)} records from ${formatCount(receiver.requests)} signed requests; files are in ${project.dir}/.cdp/exports`);
    out.line(`  next: cdp --project-dir ${project.dir} sync plan vip_to_file   # what a run would send now`);
    return results;
  } finally {
    await receiver.close();
  }
}
