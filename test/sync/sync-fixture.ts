/**
 * A sync under test: a real warehouse (DuckDB or PostgreSQL, private schema) holding an
 * `audience` table, a SQLite control DB, a webhook receiver, and a project folder with
 * destinations.yml, consent.yml and one sync file — loaded through the same code the CLI
 * uses. `setAudience` replaces the audience; `run` runs the sync.
 */
import { join } from 'node:path';
import { openControlDb, type ControlDb } from '../../src/control';
import { loadSyncProject, resolveSyncTarget, runSync, syncTables, type LoadedSync, type SyncRunOptions, type SyncRunResult, type SyncTarget } from '../../src/sync';
import type { Row } from '../../src/warehouse';
import { startWebhookReceiver, type WebhookReceiver, type WebhookReceiverOptions } from '../fakes/webhook-receiver';
import { makeProject, type FixtureProject } from '../helpers/project-fixture';
import { openTestWarehouse, type LocalWarehouseType, type TestWarehouse } from '../helpers/test-warehouses';

export interface Person {
  email: string | null;
  first_name: string | null;
  tier: string;
  consent: string;
}

export interface SyncFixture {
  wh: TestWarehouse;
  control: ControlDb;
  receiver: WebhookReceiver;
  project: FixtureProject;
  sync: LoadedSync;
  target: SyncTarget;
  setAudience(people: Person[]): Promise<void>;
  run(options?: SyncRunOptions): Promise<SyncRunResult>;
  cleanup(): Promise<void>;
}

export interface SyncFixtureOptions {
  type?: LocalWarehouseType;
  mode?: string;
  receiver?: WebhookReceiverOptions;
  /** Extra YAML lines under options: in the sync file. */
  syncOptions?: string;
  batchRows?: number;
  concurrency?: number;
  requestsPerSecond?: number;
  timeoutMs?: number;
}

export async function openSyncFixture(options: SyncFixtureOptions = {}): Promise<SyncFixture> {
  const wh = await openTestWarehouse(options.type ?? 'duckdb');
  const receiver = await startWebhookReceiver(options.receiver);
  const limits = [
    `batch_rows: ${options.batchRows ?? 10}`,
    `concurrency: ${options.concurrency ?? 3}`,
    ...(options.requestsPerSecond ? [`requests_per_second: ${options.requestsPerSecond}`] : []),
  ].join(', ');
  const project = makeProject({
    'destinations.yml': `hook:\n  type: webhook\n  config: { url: "\${HOOK_URL}"${options.receiver?.secret ? `, signing_secret: "${options.receiver.secret}"` : ''} }\n  limits: { ${limits} }\n`,
    'consent.yml': `purposes:\n  email_marketing: { column: consent, granted: [granted] }\n`,
    'syncs/people.yml': [
      `source: { table: ${wh.schema}.audience }`,
      'destination: hook',
      'object: records',
      `mode: ${options.mode ?? 'mirror'}`,
      'key: email',
      'mapping: { email: email, name: "{{trim first_name}}", tier: "{{lower tier}}", source: { const: cdp } }',
      'purpose: email_marketing',
      `options: { max_attempts: 8, timeout_ms: ${options.timeoutMs ?? 2000}${options.syncOptions ? `, ${options.syncOptions}` : ''} }`,
    ].join('\n'),
  });
  const loaded = loadSyncProject(project.dir, { HOOK_URL: receiver.url });
  const sync = loaded.syncs.get('people')!;
  const target = resolveSyncTarget(sync, { models: new Map(), defaultSchema: wh.schema, stateSchema: `${wh.schema}_state`.slice(0, 60) });
  const control = await openControlDb(`sqlite://${join(project.dir, 'control.db')}`, project.dir);
  const d = wh.warehouse.dialect;
  const audience = { schema: wh.schema, name: 'audience' };
  const columns = [
    { name: 'email', type: 'string' as const },
    { name: 'first_name', type: 'string' as const },
    { name: 'tier', type: 'string' as const },
    { name: 'consent', type: 'string' as const },
  ];
  return {
    wh,
    control,
    receiver,
    project,
    sync,
    target,
    async setAudience(people) {
      await wh.warehouse.execute(d.dropTableIfExists(audience));
      await wh.warehouse.execute(d.createTable(audience, columns));
      await wh.warehouse.load(audience, columns, (async function* () {
        yield people as unknown as Row[];
      })());
    },
    run: (runOptions = {}) => runSync({ warehouse: wh.warehouse, control, project: 'fixture', projectDir: project.dir }, target, { retryBaseMs: 5, ...runOptions }),
    async cleanup() {
      await wh.warehouse.execute(`DROP SCHEMA IF EXISTS ${d.quoteIdent(target.tables.state.schema!)} CASCADE`).catch(() => undefined);
      await control.close();
      await receiver.close();
      await wh.cleanup();
      project.remove();
    },
  };
}

export function people(count: number, overrides: (i: number) => Partial<Person> = () => ({})): Person[] {
  return Array.from({ length: count }, (_, i) => ({ email: `p${i}@example.com`, first_name: ` Name${i} `, tier: i % 3 === 0 ? 'VIP' : 'Basic', consent: 'granted', ...overrides(i) }));
}

/** What the receiver should hold: each person with consent, keyed by email, mapped. */
export function expectedRecords(audience: Person[], without: Set<string> = new Set()): Map<string, Record<string, unknown>> {
  const counts = new Map<string, number>();
  for (const p of audience) if (p.email) counts.set(p.email, (counts.get(p.email) ?? 0) + 1);
  const expected = new Map<string, Record<string, unknown>>();
  for (const p of audience) {
    if (!p.email || counts.get(p.email)! > 1 || p.consent !== 'granted' || without.has(p.email)) continue;
    expected.set(p.email, { email: p.email, name: (p.first_name ?? '').trim(), tier: p.tier.toLowerCase(), source: 'cdp' });
  }
  return expected;
}

export { syncTables };
