/**
 * `cdp run`: compile, build the selected models in the warehouse, record the run in the
 * control DB, print each model's result and a summary. A full run (no --select) of a project
 * with segments/*.yml then resolves identity and materialises the segments.
 * Exit 1 when any model, the identity run or a segment failed.
 */
import { selectModels, type CompiledProject } from '../compiler';
import { finishRun, recordModelResult, startRun, type ControlDb } from '../control';
import type { Project } from '../project';
import { runModels, type ModelResult, type RunSummary } from '../runner';
import type { Warehouse } from '../warehouse';
import { formatCount, formatDuration, type Output } from './output';
import { runIdentityAndSegments } from './run-identity-segments';
import { compileForWarehouse, connectProjectWarehouse, loadProjectFromCli, openProjectControlDb, type GlobalOptions } from './project-context';

export interface RunCommandOptions {
  select: string[];
  threads?: number;
  fullRefresh: boolean;
}

export async function runCommand(global: GlobalOptions, options: RunCommandOptions, out: Output): Promise<number> {
  const project = loadProjectFromCli(global);
  const compiled = compileForWarehouse(project);
  const selected = selectModels(compiled.graph, compiled.nodes, options.select);
  const warehouse = await connectProjectWarehouse(project);
  try {
    const control = await openProjectControlDb(project);
    try {
      const summary = await buildAndRecord({ project, compiled, warehouse, control, selected, out, ...options });
      if (!summary.ok) return 1;
      // A full run of a project with segments continues into identity and segments; a
      // --select run builds the chosen models only.
      if (options.select.length > 0) return 0;
      return (await runIdentityAndSegments(project, warehouse, out, { fullRefresh: options.fullRefresh })) ? 0 : 1;
    } finally {
      await control.close();
    }
  } finally {
    await warehouse.close();
  }
}

export interface BuildAndRecordInput extends RunCommandOptions {
  project: Project;
  compiled: CompiledProject;
  warehouse: Warehouse;
  control: ControlDb;
  selected: string[];
  out: Output;
}

/** Shared by `cdp run` and `cdp demo`. */
export async function buildAndRecord(input: BuildAndRecordInput): Promise<RunSummary> {
  const { project, compiled, warehouse, control, selected, out } = input;
  const threads = input.threads ?? project.config.threads;
  out.line(`Running ${selected.length} model(s) on ${warehouse.dialect.name} with ${threads} thread(s)`);
  const runId = await startRun(control, {
    project: project.config.name,
    kind: 'models',
    selector: input.select.join(' ') || undefined,
    warehouseType: warehouse.dialect.name,
  });
  const running = new Set<string>();
  const pendingWrites: Promise<void>[] = [];
  let summary: RunSummary;
  try {
    summary = await runModels(warehouse, compiled, {
      selected,
      threads,
      fullRefresh: input.fullRefresh,
      onStart: (model) => {
        running.add(model.name);
        out.progress(`building ${[...running].join(', ')}`);
      },
      onResult: (result, done, total) => {
        running.delete(result.model);
        out.line(resultLine(result, done, total));
        if (running.size) out.progress(`building ${[...running].join(', ')}`);
        // Written as each model finishes, so a crashed run still shows what it built.
        pendingWrites.push(recordModelResult(control, runId, result));
      },
    });
    await Promise.all(pendingWrites);
  } catch (error) {
    await Promise.allSettled(pendingWrites);
    await finishRun(control, runId, { error: String(error) });
    throw error;
  }
  await finishRun(control, runId, summary);
  out.line(summaryLine(summary));
  for (const failed of summary.results.filter((r) => r.status === 'error')) out.error(failed.message ?? failed.model);
  out.result({ run_id: runId, ok: summary.ok, counts: summary.counts, duration_ms: summary.durationMs, results: summary.results });
  return summary;
}

function resultLine(result: ModelResult, done: number, total: number): string {
  const position = `[${String(done).padStart(String(total).length)}/${total}]`;
  const status = { success: 'OK   ', error: 'ERROR', skipped: 'SKIP ' }[result.status];
  const detail =
    result.status === 'success'
      ? `${result.kind}${result.rows !== undefined ? `, ${formatCount(result.rows)} rows` : ''}`
      : result.status === 'skipped'
        ? `skipped: ${result.message}`
        : 'failed (see below)';
  return `${position} ${status} ${result.model.padEnd(28)} ${detail} in ${formatDuration(result.durationMs)}`;
}

function summaryLine(summary: RunSummary): string {
  const { success, error, skipped } = summary.counts;
  return `Done in ${formatDuration(summary.durationMs)}: ${success} succeeded, ${error} failed, ${skipped} skipped`;
}
