/**
 * Runs selected models in dependency order, up to `threads` at once (dbt's stages, each with
 * a result). A model starts when everything it refs (within the selection) has succeeded;
 * if one of those failed or was skipped, it is skipped with the name of the failure. One
 * model's failure never stops models that do not depend on it.
 */
import type { CompiledModel, CompiledProject } from '../compiler';
import { isCdpError, messageOf } from '../errors';
import type { Warehouse } from '../warehouse';
import { materialize, type BuildKind } from './materialize';

export type ModelStatus = 'success' | 'error' | 'skipped';

export interface ModelResult {
  model: string;
  path: string;
  status: ModelStatus;
  kind?: BuildKind;
  rows?: number;
  startedAt: Date;
  durationMs: number;
  /** One line for errors; the failed upstream for skips. */
  message?: string;
}

export interface RunSummary {
  results: ModelResult[];
  counts: Record<ModelStatus, number>;
  durationMs: number;
  ok: boolean;
}

export interface RunModelsOptions {
  selected: string[];
  threads: number;
  fullRefresh?: boolean;
  onStart?: (model: CompiledModel) => void;
  onResult?: (result: ModelResult, done: number, total: number) => void;
}

export async function runModels(warehouse: Warehouse, compiled: CompiledProject, options: RunModelsOptions): Promise<RunSummary> {
  const started = Date.now();
  const selected = new Set(options.selected);
  const models = compiled.models.filter((m) => selected.has(m.name));
  const results = new Map<string, ModelResult>();
  const pending = new Set(models.map((m) => m.name));
  const running = new Set<string>();
  const byName = new Map(models.map((m) => [m.name, m]));

  const record = (result: ModelResult) => {
    results.set(result.model, result);
    options.onResult?.(result, results.size, models.length);
  };

  await new Promise<void>((resolve) => {
    const pump = () => {
      // Skips cascade: a model whose upstream failed or was skipped is settled at once.
      let changed = true;
      while (changed) {
        changed = false;
        for (const name of pending) {
          const model = byName.get(name)!;
          const blocker = model.dependsOn.find((dep) => selected.has(dep) && results.get(dep) && results.get(dep)!.status !== 'success');
          if (blocker) {
            pending.delete(name);
            const upstream = results.get(blocker)!;
            const root = upstream.status === 'skipped' ? upstream.message : `upstream ${blocker} failed`;
            record({ model: name, path: model.path, status: 'skipped', startedAt: new Date(), durationMs: 0, message: root });
            changed = true;
          }
        }
      }
      for (const name of [...pending]) {
        if (running.size >= options.threads) break;
        const model = byName.get(name)!;
        const ready = model.dependsOn.every((dep) => !selected.has(dep) || results.get(dep)?.status === 'success');
        if (!ready) continue;
        pending.delete(name);
        running.add(name);
        void buildOne(warehouse, model, options).then((result) => {
          running.delete(name);
          record(result);
          pump();
        });
      }
      if (pending.size === 0 && running.size === 0) resolve();
    };
    pump();
  });

  const ordered = models.map((m) => results.get(m.name)!);
  const counts = { success: 0, error: 0, skipped: 0 };
  for (const r of ordered) counts[r.status]++;
  return { results: ordered, counts, durationMs: Date.now() - started, ok: counts.error === 0 && counts.skipped === 0 };
}

async function buildOne(warehouse: Warehouse, model: CompiledModel, options: RunModelsOptions): Promise<ModelResult> {
  options.onStart?.(model);
  const startedAt = new Date();
  try {
    const outcome = await materialize(warehouse, model, { fullRefresh: options.fullRefresh ?? false });
    return { model: model.name, path: model.path, status: 'success', kind: outcome.kind, rows: outcome.rows, startedAt, durationMs: Date.now() - startedAt.getTime() };
  } catch (error) {
    // A warehouse error carries the database's own first line; name the model file first.
    const message = isCdpError(error) ? error.toLine() : messageOf(error);
    return { model: model.name, path: model.path, status: 'error', startedAt, durationMs: Date.now() - startedAt.getTime(), message: `${model.path}: ${message}` };
  }
}
