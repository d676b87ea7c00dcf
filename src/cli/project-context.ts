/**
 * What most commands start with: the project (validated, env resolved from the caller's
 * environment — the only place `process.env` is read), the warehouse connection and the
 * control DB, each failure turned into a one-line error that names where to look.
 */
import { compileProject, type CompiledProject } from '../compiler';
import { openControlDb, type ControlDb } from '../control';
import { CdpError, isCdpError, messageOf } from '../errors';
import { loadProject, PROJECT_FILE, type Project } from '../project';
import { connectWarehouse, dialectFor, type Warehouse } from '../warehouse';

export interface GlobalOptions {
  projectDir: string;
  json: boolean;
}

export function loadProjectFromCli(options: GlobalOptions): Project {
  return loadProject(options.projectDir, process.env);
}

export function compileForWarehouse(project: Project): CompiledProject {
  return compileProject(project, dialectFor(project.config.warehouse.type));
}

export async function connectProjectWarehouse(project: Project): Promise<Warehouse> {
  try {
    const warehouse = await connectWarehouse(project.config.warehouse, { projectDir: project.dir });
    await warehouse.check();
    return warehouse;
  } catch (error) {
    throw atProjectFile(error, `warehouse ${project.config.warehouse.type}`);
  }
}

export async function openProjectControlDb(project: Project): Promise<ControlDb> {
  try {
    return await openControlDb(project.config.control.url, project.dir);
  } catch (error) {
    throw atProjectFile(error, 'control');
  }
}

/** Connection errors name cdp.yml and the block to check there. */
function atProjectFile(error: unknown, block: string): CdpError {
  const message = isCdpError(error) ? error.message : messageOf(error);
  const hint = isCdpError(error) ? error.hint : undefined;
  return new CdpError(message, {
    code: isCdpError(error) ? error.code : 'CONNECT',
    kind: 'runtime',
    where: `${PROJECT_FILE} (${block})`,
    hint,
    cause: error,
  });
}
