/**
 * The project a marketer works on in the UI tests: people with traits (first name, email,
 * city, orders, email consent) resolved by identity.yml into profiles, web events (page_view
 * for every other person, purchase for every fourth) as an events source of segments.yml,
 * one file segment, a consent purpose, a file destination with a file sync on an hourly
 * schedule (paused and resumed from the UI without touching its file) — served by
 * `cdp serve` on loopback, with the HubSpot fake (spec-validated) as the destination the
 * marketer creates. `people` / `eventsOf` compute the same data in JS.
 */
import { join } from 'node:path';
import { loadIdentityPlan, runIdentity } from '../../src/identity';
import { loadProject } from '../../src/project';
import { createLogger } from '../../src/scheduler';
import { createToken, startServe, type RunningServe } from '../../src/server';
import { connectWarehouse, type Row } from '../../src/warehouse';
import { startHubspotFake, type HubspotFake } from '../fakes/hubspot-fake';
import { makeProject, type FixtureProject } from '../helpers/project-fixture';

export interface Person {
  i: number;
  uid: string;
  email: string;
  fname: string;
  city: string;
  orders: number;
  consent: string;
}

export const CITIES = ['Paris', 'Berlin', 'Lisbon'];

/** The web events of a person: page_view for every other one, a purchase for every fourth. */
export function eventsOf(p: Person): string[] {
  return [...(p.i % 2 === 0 ? ['page_view'] : []), ...(p.i % 4 === 0 ? ['purchase'] : [])];
}

export function people(count: number): Person[] {
  return Array.from({ length: count }, (_, i) => ({
    i,
    uid: `u${i}`,
    email: `person${i}@example.com`,
    fname: `Name${i}`,
    city: CITIES[i % 3]!,
    orders: i % 7,
    consent: i % 10 === 3 ? 'withdrawn' : 'granted',
  }));
}

export interface MarketerFixture {
  project: FixtureProject;
  serve: RunningServe;
  url: string;
  hubspot: HubspotFake;
  tokens: { write: string; read: string };
  people: Person[];
  close(): Promise<void>;
}

export async function openMarketerFixture(count = 30): Promise<MarketerFixture> {
  const hubspot = await startHubspotFake();
  const project = makeProject({
    'cdp.yml': 'name: uitest\nwarehouse: { type: duckdb, path: .cdp/warehouse.duckdb, schema: analytics }\nstate_schema: cdp_state\nsources:\n  raw:\n    schema: raw\n    tables: [contacts, events]\n',
    'identity.yml':
      'identifiers:\n  email: {}\n  user_id: {}\npriority: [user_id, email]\nsources:\n  - name: contacts\n    source: raw.contacts\n    identifiers: { email: email, user_id: uid }\n    timestamp: updated_at\n' +
      '    traits: { first_name: fname, email: email, city: city, orders_count: orders, email_consent: consent }\n' +
      'traits:\n  first_name: { rule: latest }\n  email: { rule: latest }\n  city: { rule: latest }\n  orders_count: { rule: latest, type: integer }\n  email_consent: { rule: latest }\n',
    'segments.yml': 'events:\n  web:\n    source: raw.events\n    identifier: { type: user_id, column: uid }\n    event: event\n    timestamp: ts\n',
    'segments/name_one.yml': 'description: People whose first name starts with Name1\nrules:\n  all:\n    - { trait: first_name, op: starts_with, value: Name1 }\npreview: [first_name, city]\n',
    'consent.yml': 'purposes:\n  email_marketing: { description: Marketing email, column: email_consent, granted: [granted] }\n',
    'destinations.yml': 'archive:\n  type: file\n  config: { folder: out }\n',
    'syncs/name_one_archive.yml': 'source: { segment: name_one }\ndestination: archive\nobject: records\nmode: upsert\nkey: email\nmapping: { email: email, name: first_name }\nschedule: every 1h\n',
  });
  const env = {};
  const warehouse = await connectWarehouse({ type: 'duckdb', path: join(project.dir, '.cdp', 'warehouse.duckdb'), schema: 'analytics' }, { projectDir: project.dir });
  const everyone = people(count);
  try {
    const columns = [
      { name: 'uid', type: 'string' as const },
      { name: 'email', type: 'string' as const },
      { name: 'fname', type: 'string' as const },
      { name: 'city', type: 'string' as const },
      { name: 'orders', type: 'integer' as const },
      { name: 'consent', type: 'string' as const },
      { name: 'updated_at', type: 'timestamp' as const },
    ];
    await warehouse.execute('CREATE SCHEMA IF NOT EXISTS raw');
    await warehouse.execute('CREATE SCHEMA IF NOT EXISTS analytics');
    await warehouse.execute(warehouse.dialect.createTable({ schema: 'raw', name: 'contacts' }, columns));
    const rows = everyone.map((p) => ({ uid: p.uid, email: p.email, fname: p.fname, city: p.city, orders: p.orders, consent: p.consent, updated_at: new Date(Date.UTC(2026, 0, 1 + (p.i % 28))) }));
    await warehouse.load({ schema: 'raw', name: 'contacts' }, columns, (async function* () {
      yield rows as unknown as Row[];
    })());
    const eventColumns = [
      { name: 'uid', type: 'string' as const },
      { name: 'event', type: 'string' as const },
      { name: 'amount', type: 'float' as const },
      { name: 'ts', type: 'timestamp' as const },
    ];
    await warehouse.execute(warehouse.dialect.createTable({ schema: 'raw', name: 'events' }, eventColumns));
    const events = everyone.flatMap((p) => eventsOf(p).map((event) => ({ uid: p.uid, event, amount: event === 'purchase' ? 10 + p.i : null, ts: new Date(Date.UTC(2026, 0, 1 + (p.i % 28))) })));
    await warehouse.load({ schema: 'raw', name: 'events' }, eventColumns, (async function* () {
      yield events as unknown as Row[];
    })());
    const plan = loadIdentityPlan(loadProject(project.dir, env), warehouse.dialect, env);
    const result = await runIdentity(warehouse, plan);
    if (!result.ok) throw new Error(`identity run failed: ${JSON.stringify(result.steps.filter((s) => s.status !== 'success'))}`);
  } finally {
    await warehouse.close();
  }
  const serve = await startServe({
    projectDir: project.dir,
    env,
    secretKey: 'ui-test-secret-key-0123456789abcdefghijklmnopqrstuvwxyz',
    log: createLogger(() => undefined),
    concurrency: 2,
    tickMs: 200,
    http: { host: '127.0.0.1', port: 0 },
    buildApi: true,
    retryBaseMs: 5,
  });
  const tokens = {
    write: (await createToken(serve.runtime.control, 'marketer', 'write')).token,
    read: (await createToken(serve.runtime.control, 'viewer', 'read')).token,
  };
  return {
    project,
    serve,
    url: serve.url!,
    hubspot,
    tokens,
    people: everyone,
    async close() {
      serve.api?.app.server.closeAllConnections();
      await serve.stop();
      await hubspot.close();
      project.remove();
    },
  };
}
