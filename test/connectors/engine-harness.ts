/**
 * Drives an email/CRM destination through the real sync engine (`runSync`: DuckDB warehouse,
 * SQLite control DB, a project folder with destinations.yml and syncs) for the "three runs of
 * a 5,000-person audience" tests of Braze, Customer.io, Mailchimp, Klaviyo, SendGrid and
 * Iterable: `setAudience` replaces the source table, `run` runs a sync until it is no longer
 * partial (faults leave rows for the next run, as in production).
 */
import { join } from 'node:path';
import { openControlDb, type ControlDb } from '../../src/control';
import { loadSyncProject, resolveSyncTarget, runSync, type SyncRunResult, type SyncTarget } from '../../src/sync';
import type { Row } from '../../src/warehouse';
import { makeProject, type FixtureProject } from '../helpers/project-fixture';
import { openTestWarehouse, type TestWarehouse } from '../helpers/test-warehouses';

export interface EngineFixture<Person extends object> {
  wh: TestWarehouse;
  control: ControlDb;
  project: FixtureProject;
  targets: Map<string, SyncTarget>;
  /** Replaces `$SCHEMA.audience` with these people (every column a string, as the tests load them). */
  setAudience(people: Person[]): Promise<void>;
  /** Runs a sync until it is not partial (faults leave rows for the next run). */
  run(sync: string): Promise<SyncRunResult>;
  cleanup(): Promise<void>;
}

export interface EngineOptions<Person extends object> {
  /** The audience table's columns, in order: the fields of `Person` the syncs read. */
  columns: ReadonlyArray<keyof Person & string>;
  /** Further runs after a partial one before `run` gives its result back. */
  reruns?: number;
  /**
   * Runs proceed although the deletion circuit breaker tripped. The Braze, Customer.io and
   * Mailchimp runs set max_deletion_share: 1 and want every removal through; the Klaviyo,
   * SendGrid and Iterable runs keep the breaker armed, as a production sync would.
   */
  allowDeletions?: boolean;
}

/** The audience row the Braze, Customer.io and Mailchimp runs share. */
export interface TieredPerson {
  email: string;
  first_name: string;
  tier: string;
  score: string;
  consent: string;
}
export const TIERED_COLUMNS: ReadonlyArray<keyof TieredPerson> = ['email', 'first_name', 'tier', 'score', 'consent'];

/**
 * `files` are the project's files (destinations.yml, consent.yml, syncs/*.yml); `$SCHEMA` in
 * them becomes the test schema. `env` fills `${VAR}` references in destinations.yml.
 */
export async function openEngine<Person extends object>(files: Record<string, string>, env: Record<string, string>, options: EngineOptions<Person>): Promise<EngineFixture<Person>> {
  const { reruns = 6, allowDeletions = true } = options;
  const wh = await openTestWarehouse('duckdb');
  const project = makeProject(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, v.replaceAll('$SCHEMA', wh.schema)])));
  const loaded = loadSyncProject(project.dir, env);
  const control = await openControlDb(`sqlite://${join(project.dir, 'control.db')}`, project.dir);
  const stateSchema = `${wh.schema}_st`;
  const targets = new Map([...loaded.syncs].map(([name, sync]) => [name, resolveSyncTarget(sync, { models: new Map(), defaultSchema: wh.schema, stateSchema })]));
  const d = wh.warehouse.dialect;
  const audience = { schema: wh.schema, name: 'audience' };
  const columns = options.columns.map((name) => ({ name, type: 'string' as const }));
  return {
    wh,
    control,
    project,
    targets,
    async setAudience(people) {
      await wh.warehouse.execute(d.dropTableIfExists(audience));
      await wh.warehouse.execute(d.createTable(audience, columns));
      await wh.warehouse.load(audience, columns, (async function* () {
        yield people as unknown as Row[];
      })());
    },
    async run(sync) {
      const go = () => runSync({ warehouse: wh.warehouse, control, project: 'fixture', projectDir: project.dir }, targets.get(sync)!, { retryBaseMs: 5, allowDeletions });
      let result = await go();
      for (let i = 0; i < reruns && result.status === 'partial'; i++) result = await go();
      if (result.status !== 'success' && process.env.CDP_TEST_TIMINGS) console.log(sync, result.status, result.message, result.counts, result.notes);
      return result;
    },
    async cleanup() {
      await wh.warehouse.execute(`DROP SCHEMA IF EXISTS ${d.quoteIdent(stateSchema)} CASCADE`).catch(() => undefined);
      await control.close();
      await wh.cleanup();
      project.remove();
    },
  };
}
