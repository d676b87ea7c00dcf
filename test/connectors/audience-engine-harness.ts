/**
 * Drives a destination through the real sync engine (`runSync`: DuckDB warehouse, SQLite
 * control DB, a project folder with destinations.yml and one sync) for the ad-audience and
 * Salesforce "three runs" tests: `setAudience` replaces the source table, `run` runs the
 * sync until it is no longer partial (faults leave rows for the next run, as in production).
 * Also the seeded audience generator those tests share.
 */
import { join } from 'node:path';
import { openControlDb, type ControlDb } from '../../src/control';
import { loadSyncProject, rejectedRows, resolveSyncTarget, runSync, type SyncRunResult, type SyncTarget } from '../../src/sync';
import type { Row } from '../../src/warehouse';
import { makeProject, type FixtureProject } from '../helpers/project-fixture';
import { openTestWarehouse, type TestWarehouse } from '../helpers/test-warehouses';

export type SourceRow = Record<string, string | null>;

export interface AudienceEngine {
  wh: TestWarehouse;
  control: ControlDb;
  project: FixtureProject;
  target: SyncTarget;
  setAudience(rows: SourceRow[], table?: string): Promise<void>;
  /** Runs until the status is not partial (at most `maxRuns`); returns every result. */
  run(maxRuns?: number): Promise<SyncRunResult[]>;
  rejected(): Promise<Array<{ key: string; reason: string }>>;
  cleanup(): Promise<void>;
}

/**
 * `destination` is the YAML body under the destination name `dest`; `sync` the sync file's
 * lines (`$SCHEMA` is replaced by the test schema); `columns` the source tables' columns.
 */
export async function openAudienceEngine(input: { destination: string; sync: string[]; env: Record<string, string>; columns: string[]; extraSyncs?: Record<string, string[]> }): Promise<AudienceEngine & { targets: Map<string, SyncTarget>; runSync(name: string, maxRuns?: number): Promise<SyncRunResult[]> }> {
  const wh = await openTestWarehouse('duckdb');
  const syncFiles: Record<string, string> = { 'syncs/audience.yml': input.sync.join('\n').replaceAll('$SCHEMA', wh.schema) };
  for (const [name, lines] of Object.entries(input.extraSyncs ?? {})) syncFiles[`syncs/${name}.yml`] = lines.join('\n').replaceAll('$SCHEMA', wh.schema);
  const project = makeProject({ 'destinations.yml': `dest:\n${input.destination}\n`, ...syncFiles });
  const loaded = loadSyncProject(project.dir, input.env);
  const control = await openControlDb(`sqlite://${join(project.dir, 'control.db')}`, project.dir);
  const stateSchema = `${wh.schema}_st`;
  const targets = new Map([...loaded.syncs].map(([name, sync]) => [name, resolveSyncTarget(sync, { models: new Map(), defaultSchema: wh.schema, stateSchema })]));
  const d = wh.warehouse.dialect;
  const columns = input.columns.map((name) => ({ name, type: 'string' as const }));
  const runNamed = async (name: string, maxRuns = 6) => {
    const results: SyncRunResult[] = [];
    for (let i = 0; i < maxRuns; i++) {
      const result = await runSync({ warehouse: wh.warehouse, control, project: 'fixture', projectDir: project.dir }, targets.get(name)!, { retryBaseMs: 5, allowDeletions: true });
      results.push(result);
      if (result.status !== 'partial') break;
    }
    return results;
  };
  return {
    wh,
    control,
    project,
    targets,
    target: targets.get('audience')!,
    async setAudience(rows, table = 'audience') {
      const ref = { schema: wh.schema, name: table };
      await wh.warehouse.execute(d.dropTableIfExists(ref));
      await wh.warehouse.execute(d.createTable(ref, columns));
      await wh.warehouse.load(ref, columns, (async function* () {
        yield rows as unknown as Row[];
      })());
    },
    run: (maxRuns) => runNamed('audience', maxRuns),
    runSync: runNamed,
    async rejected() {
      const found = await rejectedRows(wh.warehouse, targets.get('audience')!.tables, 100_000);
      return found.rows.map((r) => ({ key: r.key, reason: r.reason ?? '' }));
    },
    async cleanup() {
      await wh.warehouse.execute(`DROP SCHEMA IF EXISTS ${d.quoteIdent(stateSchema)} CASCADE`).catch(() => undefined);
      await control.close();
      await wh.cleanup();
      project.remove();
    },
  };
}

export interface Person {
  id: string;
  email: string | null;
  phone: string | null;
  first_name: string;
  last_name: string;
  country: string;
  zip: string;
}

/** Person `i`: every 7th has no email (phone only), every 499th has neither usable (rejected). */
export function person(i: number, version = 0): Person {
  const unusable = i % 499 === 5;
  return {
    id: `p${i}`,
    email: unusable ? 'not-an-email' : i % 7 === 3 ? null : ` Person.${i}@Example.COM `,
    phone: unusable ? 'n/a' : i % 3 === 0 || i % 7 === 3 ? `+1 (650) ${String(2000000 + i).replace(/^(\d{3})/, '$1-')}` : null,
    first_name: `First${i}${version ? `v${version}` : ''}`,
    last_name: `Last-${i}`,
    country: i % 2 ? 'US' : 'GB',
    zip: i % 2 ? '94043' : 'SW1A 1AA',
  };
}

/** Three audiences of 5,000: run 2 drops 400 and adds 400 new; run 3 drops 300 more and brings 300 back. */
export function threeAudiences(): Person[][] {
  const range = (from: number, to: number, version: number) => Array.from({ length: to - from }, (_, k) => person(from + k, version));
  return [range(0, 5000, 0), [...range(400, 5000, 1), ...range(5000, 5400, 1)], [...range(0, 300, 2), ...range(700, 5000, 2), ...range(5000, 5400, 2)]];
}
