/**
 * Everything a long-running process (`cdp serve`, `cdp worker`) holds open: the project, the
 * warehouse, the control DB, the destination store and the secret box. Sync definitions are
 * re-read for every job and request (files and API rows can change while the process runs;
 * reading them costs milliseconds). The environment is handed in by the CLI — the only
 * place `process.env` is read — and used to resolve `${ENV}` in project files.
 */
import { compileProject, type CompiledProject } from '../compiler';
import { openControlDb, type ControlDb } from '../control';
import { CdpError } from '../errors';
import { loadProject, type Env, type Project } from '../project';
import { apiSegmentRecords, segmentMembersRef } from '../segments';
import {
  loadSync,
  loadSyncProject,
  resolveSyncTarget,
  saveSyncDefinitions,
  storableSync,
  storedSyncs,
  type LoadedDestination,
  type LoadedSync,
  type SyncTarget,
} from '../sync';
import { connectWarehouse, dialectFor, type Warehouse } from '../warehouse';
import { DestinationStore } from './destination-store';
import { createSecretBox, type SecretBox } from './secret-box';

export interface RuntimeOptions {
  projectDir: string;
  env: Env;
  /** Text of the secret key (from CDP_SECRET_KEY); without it API destinations cannot hold secrets. */
  secretKey?: string;
  /** Overrides cdp.yml's control.url (tests, operators). */
  controlUrl?: string;
}

export interface SyncCatalog {
  syncs: Map<string, LoadedSync & { origin: 'file' | 'api' }>;
  destinations: Map<string, LoadedDestination & { origin: 'file' | 'api' }>;
}

export class CdpRuntime {
  readonly destinations: DestinationStore;
  private compiledCache?: CompiledProject;

  private constructor(
    readonly project: Project,
    readonly warehouse: Warehouse,
    readonly control: ControlDb,
    readonly box: SecretBox | undefined,
    readonly env: Env,
  ) {
    this.destinations = new DestinationStore(control, project.config.name, box);
  }

  static async open(options: RuntimeOptions): Promise<CdpRuntime> {
    const project = loadProject(options.projectDir, options.env);
    const box = options.secretKey ? createSecretBox(options.secretKey) : undefined;
    const warehouse = await connectWarehouse(project.config.warehouse, { projectDir: project.dir });
    try {
      const control = await openControlDb(options.controlUrl ?? project.config.control.url, project.dir);
      return new CdpRuntime(project, warehouse, control, box, options.env);
    } catch (error) {
      await warehouse.close();
      throw error;
    }
  }

  get name(): string {
    return this.project.config.name;
  }

  compiled(): CompiledProject {
    this.compiledCache ??= compileProject(this.project, dialectFor(this.project.config.warehouse.type));
    return this.compiledCache;
  }

  /**
   * File syncs (mirrored into the control DB, as the CLI does) plus syncs created through the
   * API, which may use file or API destinations. A broken API sync is skipped here and
   * reported when it is used, so one bad row never stops the others.
   */
  async catalog(options: { mirror?: boolean } = {}): Promise<SyncCatalog> {
    const fileProject = loadSyncProject(this.project.dir, this.env);
    if (options.mirror) await saveSyncDefinitions(this.control, this.name, [...fileProject.syncs.values()].map(storableSync));
    const apiDestinations = await this.destinations.loadAll().catch(() => new Map<string, LoadedDestination>());
    const destinations = new Map<string, LoadedDestination & { origin: 'file' | 'api' }>();
    for (const [name, d] of apiDestinations) destinations.set(name, { ...d, origin: 'api' });
    for (const [name, d] of fileProject.destinations) destinations.set(name, { ...d, origin: 'file' });
    const syncs = new Map<string, LoadedSync & { origin: 'file' | 'api' }>();
    for (const stored of await storedSyncs(this.control, this.name)) {
      if (stored.origin !== 'api') continue;
      try {
        syncs.set(stored.name, { ...this.loadApiSync(stored.name, stored.definition, destinations, fileProject.purposes), origin: 'api' });
      } catch {
        // Reported by syncTarget() when someone uses it.
      }
    }
    for (const [name, s] of fileProject.syncs) syncs.set(name, { ...s, origin: 'file' });
    return { syncs, destinations };
  }

  loadApiSync(name: string, definitionJson: string, destinations: Map<string, LoadedDestination>, purposes: ReturnType<typeof loadSyncProject>['purposes']): LoadedSync {
    // JSON is YAML: the engine's own loader does every cross-check (destination, object, mode, purpose).
    return loadSync(name, `api:syncs/${name}`, definitionJson, destinations, purposes, this.env);
  }

  async syncTarget(name: string): Promise<SyncTarget> {
    const catalog = await this.catalog();
    const sync = catalog.syncs.get(name);
    if (!sync) {
      const stored = (await storedSyncs(this.control, this.name)).find((s) => s.name === name && s.origin === 'api');
      if (stored) {
        // Surface why it did not load.
        const fileProject = loadSyncProject(this.project.dir, this.env);
        this.loadApiSync(name, stored.definition, catalog.destinations, fileProject.purposes);
      }
      throw new CdpError('no such sync', { code: 'NOT_FOUND', kind: 'config', where: `sync ${name}`, hint: `syncs are ${[...catalog.syncs.keys()].join(', ') || 'none'}` });
    }
    const models = new Map(this.compiled().models.map((m) => [m.name, m.ref]));
    const apiSegments = (await apiSegmentRecords(this.control, this.name)).map((r) => r.name);
    return resolveSyncTarget(sync, {
      models,
      defaultSchema: this.warehouse.defaultSchema,
      stateSchema: this.project.config.state_schema,
      segment: (name) => segmentMembersRef(this.project, name, this.env, apiSegments),
    });
  }

  async close(): Promise<void> {
    await this.control.close().catch(() => undefined);
    await this.warehouse.close().catch(() => undefined);
  }
}
