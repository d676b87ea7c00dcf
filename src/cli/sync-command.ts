/**
 * `cdp sync plan|run|runs|rejected NAME`: loads the project's syncs (mirrored into the
 * control DB on every load), resolves the named one and calls the sync engine; prints counts
 * and samples for people, or one JSON result with --json. Exit 0 ok, 1 a run that did not
 * fully succeed (partial, failed, stopped by the circuit breaker, cancelled), 2 config.
 */
import { compileForWarehouse, connectProjectWarehouse, loadProjectFromCli, openProjectControlDb, type GlobalOptions } from './project-context';
import { formatCount, formatDuration, type Output } from './output';
import type { ControlDb } from '../control';
import { configError } from '../errors';
import type { Project } from '../project';
import { segmentMembersRef } from '../segments';
import {
  dryRunSync,
  loadSyncProject,
  rejectedRows,
  resolveSyncTarget,
  runSync,
  saveSyncDefinitions,
  storableSync,
  syncRuns,
  runMatchRate,
  type SyncCounts,
  type SyncProject,
  type SyncRunResult,
  type SyncTarget,
} from '../sync';
import type { Warehouse } from '../warehouse';
import type { MatchRateReport } from '../../connectors/kit/match-rate';

export interface SyncSession {
  project: Project;
  syncProject: SyncProject;
  warehouse: Warehouse;
  control: ControlDb;
  target(name: string): SyncTarget;
}

/** Loads and validates everything, mirrors definitions to the control DB, then runs `fn`. */
export async function withSyncSession<T>(project: Project, fn: (session: SyncSession) => Promise<T>, env: NodeJS.ProcessEnv = process.env): Promise<T> {
  const syncProject = loadSyncProject(project.dir, env);
  const compiled = compileForWarehouse(project);
  const models = new Map(compiled.models.map((m) => [m.name, m.ref]));
  const warehouse = await connectProjectWarehouse(project);
  try {
    const control = await openProjectControlDb(project);
    try {
      await saveSyncDefinitions(control, project.config.name, [...syncProject.syncs.values()].map(storableSync));
      const target = (name: string) => {
        const sync = syncProject.syncs.get(name.replace(/-/g, '_'));
        if (!sync) {
          const known = [...syncProject.syncs.keys()];
          throw configError(`sync ${name}`, 'no such sync', known.length ? `syncs are ${known.join(', ')}` : 'add a file syncs/<name>.yml');
        }
        return resolveSyncTarget(sync, { models, defaultSchema: warehouse.defaultSchema, stateSchema: project.config.state_schema, segment: (name) => segmentMembersRef(project, name, process.env) });
      };
      return await fn({ project, syncProject, warehouse, control, target });
    } finally {
      await control.close();
    }
  } finally {
    await warehouse.close();
  }
}

export async function syncPlanCommand(global: GlobalOptions, name: string, options: { full: boolean; retryRejected: boolean }, out: Output): Promise<number> {
  const project = loadProjectFromCli(global);
  return withSyncSession(project, async (session) => {
    const target = session.target(name);
    const { plan, samples } = await dryRunSync({ warehouse: session.warehouse, control: session.control, project: project.config.name, projectDir: project.dir }, target, options);
    out.line(`Plan for ${target.sync.name} → ${target.sync.destination.name} (${target.sync.destination.type} ${target.sync.spec.object}, mode ${target.sync.mode}) in ${formatDuration(plan.durationMs)}; nothing was sent`);
    out.line(countsLine(plan.counts));
    const ops = Object.entries(plan.byOp).map(([op, n]) => `${op} ${formatCount(n)}`);
    out.line(`  would send: ${ops.length ? ops.join(', ') : 'nothing'}${plan.bookkeeping ? `; ${formatCount(plan.bookkeeping)} state-only updates` : ''}`);
    if (plan.breaker) out.line(`  CIRCUIT BREAKER: ${plan.breaker.message}`);
    for (const sample of samples) {
      const detail = sample.fields ? JSON.stringify(sample.fields) : (sample.note ?? '');
      out.line(`  ${sample.kind.padEnd(22)} ${String(sample.key ?? '(null key)').padEnd(32)} ${sample.op ?? '-'} ${detail}`);
    }
    out.result({ sync: target.sync.name, counts: plan.counts, by_op: plan.byOp, bookkeeping: plan.bookkeeping, breaker: plan.breaker ?? null, samples, duration_ms: plan.durationMs });
    return 0;
  });
}

export async function syncRunCommand(global: GlobalOptions, name: string, options: { full: boolean; retryRejected: boolean; allowDeletions: boolean }, out: Output): Promise<number> {
  const project = loadProjectFromCli(global);
  return withSyncSession(project, async (session) => {
    const target = session.target(name);
    const controller = new AbortController();
    const onSignal = () => {
      out.error('cancelling: waiting for requests in flight, then committing what was acknowledged (^C again to force)');
      controller.abort(new Error('cancelled by signal'));
      process.off('SIGINT', onSignal);
    };
    process.on('SIGINT', onSignal);
    try {
      const result = await runSync({ warehouse: session.warehouse, control: session.control, project: project.config.name, projectDir: project.dir }, target, {
        ...options,
        signal: controller.signal,
        trigger: 'cli',
        onProgress: (text) => out.progress(text),
      });
      printRunResult(result, out);
      out.result(result);
      return result.status === 'success' ? 0 : 1;
    } finally {
      process.off('SIGINT', onSignal);
    }
  });
}

export function printRunResult(result: SyncRunResult, out: Output): void {
  for (const note of result.notes) out.line(`  note: ${note}`);
  out.line(`${result.sync}: ${result.status.toUpperCase()} in ${formatDuration(result.timings.total_ms ?? 0)} (run ${result.runId})`);
  out.line(countsLine(result.counts));
  if (result.matchRate) out.line(`  ${matchRateLine(result.matchRate)}`);
  if (result.message) (result.status === 'success' ? out.line : out.error)(`  ${result.message}`);
}

/** e.g. "match: 5,000 members; email 4,812, phone 1,200; sent 4,963, refused 37, invalid 12 (usable 99%)". Counts only. */
export function matchRateLine(m: MatchRateReport): string {
  const ids = Object.entries(m.withIdentifier)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([type, n]) => `${type} ${formatCount(n)}/${formatCount(m.members)}`)
    .join(', ');
  return (
    `match: ${formatCount(m.members)} members${ids ? `; ${ids}` : ''}; ` +
    `sent ${formatCount(m.sent)}, refused ${formatCount(m.rejectedLocally)}, invalid ${formatCount(m.reportedInvalid)} (usable ${Math.round(m.usableShare * 100)}%)`
  );
}

function countsLine(c: SyncCounts): string {
  return (
    `  planned ${formatCount(c.planned)} (added ${formatCount(c.added)}, changed ${formatCount(c.changed)}, removed ${formatCount(c.removed)}); ` +
    `succeeded ${formatCount(c.succeeded)}, rejected ${formatCount(c.rejected)}, retried ${formatCount(c.retried)}, unsent ${formatCount(c.unsent)}; ` +
    `skipped: consent ${formatCount(c.skipped_consent)}, invalid ${formatCount(c.invalid)}, rejected before ${formatCount(c.skipped_rejected)}; unchanged ${formatCount(c.unchanged)}`
  );
}

export async function syncRunsCommand(global: GlobalOptions, name: string, options: { limit: number }, out: Output): Promise<number> {
  const project = loadProjectFromCli(global);
  const syncProject = loadSyncProject(project.dir, process.env);
  const syncName = name.replace(/-/g, '_');
  if (!syncProject.syncs.has(syncName)) throw configError(`sync ${name}`, 'no such sync', `syncs are ${[...syncProject.syncs.keys()].join(', ') || 'none'}`);
  const control = await openProjectControlDb(project);
  try {
    const runs = await syncRuns(control, project.config.name, syncName, options.limit);
    if (runs.length === 0) out.line(`${syncName}: no runs yet — cdp sync run ${syncName}`);
    for (const run of runs) {
      const counts = run.counts ? (JSON.parse(run.counts) as SyncCounts) : undefined;
      const took = run.finished_at ? formatDuration(run.finished_at.getTime() - run.started_at.getTime()) : 'running';
      const summary = counts ? `+${counts.added} ~${counts.changed} -${counts.removed} ok ${counts.succeeded} rejected ${counts.rejected} unsent ${counts.unsent}` : '';
      out.line(`${run.started_at.toISOString()}  ${run.status.padEnd(9)} ${took.padEnd(7)} ${summary}${run.message ? `  ${run.message}` : ''}`);
      const matchRate = runMatchRate(run);
      if (matchRate) out.line(`  ${matchRateLine(matchRate)}`);
    }
    out.result(
      runs.map((r) => ({
        ...r,
        counts: r.counts ? (JSON.parse(r.counts) as unknown) : null,
        timings: r.timings ? (JSON.parse(r.timings) as unknown) : null,
        match_rate: runMatchRate(r) ?? null,
      })),
    );
    return 0;
  } finally {
    await control.close();
  }
}

export async function syncRejectedCommand(global: GlobalOptions, name: string, options: { limit: number }, out: Output): Promise<number> {
  const project = loadProjectFromCli(global);
  return withSyncSession(project, async (session) => {
    const target = session.target(name);
    const { total, rows } = await rejectedRows(session.warehouse, target.tables, options.limit);
    out.line(`${target.sync.name}: ${formatCount(total)} rejected row(s)${total > rows.length ? `, showing ${rows.length}` : ''}; they are retried when their data changes, or with --retry-rejected`);
    for (const row of rows) out.line(`  ${row.key.padEnd(32)} ${row.op.padEnd(7)} ${row.reason ?? ''}`);
    out.result({ total, rows });
    return 0;
  });
}
