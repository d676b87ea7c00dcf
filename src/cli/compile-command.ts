/**
 * `cdp compile`: render every model for the project's warehouse (or `--dialect`) into
 * `target/compiled/<dialect>/`, so the SQL can be read, diffed and reviewed in CI.
 */
import { join } from 'node:path';
import { compileProject, selectModels, writeCompiled } from '../compiler';
import { configError } from '../errors';
import { dialectFor, warehouseTypes, type WarehouseType } from '../warehouse';
import type { Output } from './output';
import { loadProjectFromCli, type GlobalOptions } from './project-context';

export async function compileCommand(global: GlobalOptions, options: { dialect?: string; select: string[] }, out: Output): Promise<number> {
  const project = loadProjectFromCli(global);
  const type = (options.dialect ?? project.config.warehouse.type) as WarehouseType;
  if (!warehouseTypes.includes(type)) {
    throw configError('--dialect', `unknown dialect '${options.dialect}'`, `use one of ${warehouseTypes.join(', ')}`);
  }
  const compiled = compileProject(project, dialectFor(type));
  const selected = new Set(selectModels(compiled.graph, compiled.nodes, options.select));
  const outDir = join(project.dir, 'target', 'compiled', type);
  const files = writeCompiled({ ...compiled, models: compiled.models.filter((m) => selected.has(m.name)) }, outDir);
  for (const model of compiled.models.filter((m) => selected.has(m.name))) {
    const deps = model.dependsOn.length ? ` ← ${model.dependsOn.join(', ')}` : '';
    out.line(`${model.config.materialized.padEnd(11)} ${model.name}${deps}`);
  }
  out.line(`Compiled ${selected.size} model(s) for ${type} into ${outDir}`);
  out.result({ dialect: type, out_dir: outDir, files, models: compiled.models.filter((m) => selected.has(m.name)).map((m) => ({ name: m.name, path: m.path, materialized: m.config.materialized, depends_on: m.dependsOn })) });
  return 0;
}
