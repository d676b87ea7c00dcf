/**
 * Loads a project folder: `cdp.yml` (validated, env resolved) and the model files it points
 * at. Model files are read here but parsed by the compiler, which owns template syntax.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { configError } from '../errors';
import { projectConfigSchema, type ProjectConfig } from './project-schema';
import { readYamlFile, type Env } from './yaml-file';

export interface ModelFile {
  /** File name without `.sql`; unique within the project. */
  name: string;
  /** Path relative to the project folder, with forward slashes (shown in errors). */
  path: string;
  text: string;
}

export interface Project {
  dir: string;
  config: ProjectConfig;
  models: ModelFile[];
}

export const PROJECT_FILE = 'cdp.yml';

export function loadProject(dir: string, env: Env): Project {
  const projectDir = resolve(dir);
  const file = join(projectDir, PROJECT_FILE);
  if (!existsSync(file)) {
    throw configError(dir, `no ${PROJECT_FILE} here`, 'run `cdp init` to create a project, or pass --project-dir');
  }
  const config = readYamlFile(file, PROJECT_FILE, projectConfigSchema, env);
  return { dir: projectDir, config, models: readModelFiles(projectDir, config.model_paths) };
}

function readModelFiles(projectDir: string, modelPaths: string[]): ModelFile[] {
  const models: ModelFile[] = [];
  const seen = new Map<string, string>();
  for (const modelPath of modelPaths) {
    const root = join(projectDir, modelPath);
    if (!existsSync(root)) continue;
    for (const absolute of walk(root)) {
      const path = relative(projectDir, absolute).split(sep).join('/');
      const name = absolute.slice(absolute.lastIndexOf(sep) + 1, -'.sql'.length);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        throw configError(path, `model name '${name}' is not a SQL identifier`, 'rename the file to letters, digits and _ only');
      }
      const previous = seen.get(name);
      if (previous) {
        throw configError(path, `model '${name}' is also defined in ${previous}`, 'model names are file names and must be unique: rename one');
      }
      seen.set(name, path);
      models.push({ name, path, text: readFileSync(absolute, 'utf8') });
    }
  }
  return models.sort((a, b) => a.path.localeCompare(b.path));
}

function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir).sort()) {
    const full = join(dir, entry);
    if (statSync(full).isDirectory()) yield* walk(full);
    else if (entry.endsWith('.sql')) yield full;
  }
}
