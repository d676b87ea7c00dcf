/**
 * Shared pieces of the sync bench: a throwaway project (destinations.yml + one sync file)
 * loaded through the real loader, and a seeded audience generated in SQL (generate_series
 * exists on DuckDB and PostgreSQL), so data generation never dominates the measurements.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSyncProject, resolveSyncTarget, type SyncTarget } from '../../src/sync';
import type { Warehouse } from '../../src/warehouse';

export function benchSyncProject(options: { url: string; batchRows: number; concurrency: number; requestsPerSecond?: number; stateSchema: string; sourceSchema: string }): { dir: string; target: SyncTarget } {
  const dir = mkdtempSync(join(tmpdir(), 'cdp-bench-sync-'));
  mkdirSync(join(dir, 'syncs'));
  const rate = options.requestsPerSecond ? `, requests_per_second: ${options.requestsPerSecond}` : '';
  writeFileSync(join(dir, 'destinations.yml'), `hook:\n  type: webhook\n  config: { url: "${options.url}" }\n  limits: { batch_rows: ${options.batchRows}, concurrency: ${options.concurrency}${rate} }\n`);
  writeFileSync(join(dir, 'consent.yml'), 'purposes:\n  email_marketing: { column: consent }\n');
  writeFileSync(
    join(dir, 'syncs', 'audience.yml'),
    `source: { table: ${options.sourceSchema}.audience }\ndestination: hook\nobject: records\nmode: mirror\nkey: email\n` +
      `mapping: { email: email, first_name: first_name, tier: tier, score: score }\npurpose: email_marketing\noptions: { max_deletion_share: 1, timeout_ms: 60000 }\n`,
  );
  const sync = loadSyncProject(dir, {}).syncs.get('audience')!;
  return { dir, target: resolveSyncTarget(sync, { models: new Map(), defaultSchema: options.sourceSchema, stateSchema: options.stateSchema }) };
}

/** `rows` people; `changedEvery` > 0 changes the tier of every n-th (the "after" audience). */
export async function createAudience(warehouse: Warehouse, schema: string, rows: number, changedEvery = 0): Promise<void> {
  const d = warehouse.dialect;
  const i = 'g.i';
  const tier = changedEvery > 0 ? `CASE WHEN ${i} % ${changedEvery} = 0 THEN 'gold' WHEN ${i} % 3 = 0 THEN 'vip' ELSE 'basic' END` : `CASE WHEN ${i} % 3 = 0 THEN 'vip' ELSE 'basic' END`;
  await warehouse.execute(d.createSchemaIfNotExists(schema));
  await warehouse.execute(d.dropTableIfExists({ schema, name: 'audience' }));
  await warehouse.execute(
    d.createTableAs(
      { schema, name: 'audience' },
      `SELECT 'p' || ${d.cast(i, 'string')} || '@example.com' AS email, 'Name' || ${d.cast(`${i} % 1000`, 'string')} AS first_name, ${tier} AS tier, ` +
        `${i} % 997 AS score, 'granted' AS consent FROM generate_series(1, ${rows}) AS g(i)`,
    ),
  );
}
