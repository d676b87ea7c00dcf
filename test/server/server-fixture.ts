/**
 * A project for API tests and the api bench: DuckDB warehouse with raw contacts resolved by
 * identity.yml into profiles, one model, a webhook destination in destinations.yml (its
 * signing secret from ${HOOK_SECRET}) and a sync reading an audience table; started with
 * `startServe` on a SQLite control DB (in-process queue), optionally listening on loopback.
 */
import { join } from 'node:path';
import { loadIdentityPlan, runIdentity } from '../../src/identity';
import { loadProject } from '../../src/project';
import { createLogger, type Logger } from '../../src/scheduler';
import { createToken, startServe, type RunningServe, type ServeOptions } from '../../src/server';
import { connectWarehouse, type Row } from '../../src/warehouse';
import { startWebhookReceiver, type WebhookReceiver } from '../fakes/webhook-receiver';
import { makeProject, type FixtureProject } from '../helpers/project-fixture';

export const HOOK_SECRET = 'hook-signing-secret-DO-NOT-LEAK-1234567890';
export const SECRET_KEY = 'test-secret-key-0123456789abcdefghijklmnopqrstuvwxyz';

export interface ServerFixture {
  project: FixtureProject;
  receiver: WebhookReceiver;
  serve: RunningServe;
  tokens: { read: string; write: string; admin: string };
  logLines: string[];
  people: number;
  close(): Promise<void>;
}

export async function openServerFixture(options: { people?: number; listen?: boolean; api?: ServeOptions['api'] } = {}): Promise<ServerFixture> {
  const people = options.people ?? 50;
  const receiver = await startWebhookReceiver({ secret: HOOK_SECRET });
  const project = makeProject({
    'cdp.yml': 'name: apitest\nwarehouse: { type: duckdb, path: .cdp/warehouse.duckdb, schema: analytics }\nstate_schema: cdp_state\nsources:\n  raw:\n    schema: raw\n    tables: [contacts]\n',
    'models/contacts_clean.sql': '---\nmaterialized: table\n---\nselect email, fname from {{source "raw.contacts"}}\n',
    'identity.yml': 'identifiers:\n  email: {}\n  user_id: {}\npriority: [user_id, email]\nsources:\n  - name: contacts\n    source: raw.contacts\n    identifiers: { email: email, user_id: uid }\n    timestamp: updated_at\n    traits: { first_name: fname }\ntraits:\n  first_name: { rule: latest }\n',
    'destinations.yml': 'hook:\n  type: webhook\n  config: { url: "${HOOK_URL}", signing_secret: "${HOOK_SECRET}" }\n  limits: { batch_rows: 50, concurrency: 2 }\n',
    'segments/name_one.yml': "rules:\n  all:\n    - { trait: first_name, op: starts_with, value: Name1 }\npreview: [first_name]\n",
    'segments/name_two.yml': "rules:\n  any:\n    - { trait: first_name, op: starts_with, value: Name2 }\n    - { trait: first_name, op: eq, value: Name10 }\n",
    'syncs/people.yml': 'source: { table: analytics.audience }\ndestination: hook\nobject: records\nmode: upsert\nkey: email\nmapping: { email: email, name: fname }\nschedule: manual\n',
  });
  const env = { HOOK_URL: receiver.url, HOOK_SECRET };
  const warehouse = await connectWarehouse({ type: 'duckdb', path: join(project.dir, '.cdp', 'warehouse.duckdb'), schema: 'analytics' }, { projectDir: project.dir });
  try {
    const columns = [
      { name: 'uid', type: 'string' as const },
      { name: 'email', type: 'string' as const },
      { name: 'fname', type: 'string' as const },
      { name: 'updated_at', type: 'timestamp' as const },
    ];
    await warehouse.execute('CREATE SCHEMA IF NOT EXISTS raw');
    await warehouse.execute('CREATE SCHEMA IF NOT EXISTS analytics');
    await warehouse.execute(warehouse.dialect.createTable({ schema: 'raw', name: 'contacts' }, columns));
    const rows = Array.from({ length: people }, (_, i) => ({ uid: `u${i}`, email: `person${i}@example.com`, fname: `Name${i}`, updated_at: new Date(Date.UTC(2026, 0, 1 + (i % 28))) }));
    await warehouse.load({ schema: 'raw', name: 'contacts' }, columns, (async function* () {
      yield rows as unknown as Row[];
    })());
    await warehouse.execute('CREATE TABLE analytics.audience AS SELECT email, fname FROM raw.contacts');
    const plan = loadIdentityPlan(loadProject(project.dir, env), warehouse.dialect, env);
    const result = await runIdentity(warehouse, plan);
    if (!result.ok) throw new Error(`identity run failed: ${JSON.stringify(result.steps.filter((s) => s.status !== 'success'))}`);
  } finally {
    await warehouse.close();
  }
  const logLines: string[] = [];
  const log: Logger = createLogger((line) => logLines.push(line));
  const serve = await startServe({
    projectDir: project.dir,
    env,
    secretKey: SECRET_KEY,
    log,
    logRequests: true,
    concurrency: 2,
    tickMs: 200,
    http: options.listen ? { host: '127.0.0.1', port: 0 } : undefined,
    buildApi: true,
    retryBaseMs: 5,
    api: options.api,
  });
  const tokens = {
    read: (await createToken(serve.runtime.control, 'reader', 'read')).token,
    write: (await createToken(serve.runtime.control, 'writer', 'write')).token,
    admin: (await createToken(serve.runtime.control, 'admin', 'admin')).token,
  };
  return {
    project,
    receiver,
    serve,
    tokens,
    logLines,
    people,
    async close() {
      await serve.stop();
      await receiver.close();
      project.remove();
    },
  };
}
