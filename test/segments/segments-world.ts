/**
 * A small world for segment tests on a real warehouse: identity's output tables (profiles,
 * accounts, account_memberships, identity_graph) and an events table written directly in the
 * test's schema — no identity run needed — plus a project whose segments.yml reads them.
 * Segments are planned from in-memory files, so each test states its definitions inline.
 */
import { loadProject } from '../../src/project';
import { loadSegmentsSetup, planSegments, readCatalog, type Catalog, type PlanOptions, type SegmentSource, type SegmentsPlan, type SegmentsSetup } from '../../src/segments';
import type { Column, Row, Warehouse } from '../../src/warehouse';
import { makeProject } from '../helpers/project-fixture';

export const AS_OF = new Date('2026-06-01T00:00:00Z');

export const worldTables: Record<string, Column[]> = {
  profiles: [
    { name: 'profile_id', type: 'string' },
    { name: 'score', type: 'integer' },
    { name: 'tier', type: 'string' },
    { name: 'seen_at', type: 'timestamp' },
    { name: 'active', type: 'boolean' },
    { name: 'email', type: 'string' },
    { name: 'current_account_id', type: 'string' },
  ],
  accounts: [
    { name: 'account_id', type: 'string' },
    { name: 'size', type: 'integer' },
    { name: 'industry', type: 'string' },
  ],
  account_memberships: [
    { name: 'profile_id', type: 'string' },
    { name: 'account_id', type: 'string' },
    { name: 'is_current', type: 'boolean' },
  ],
  identity_graph: [
    { name: 'identifier_type', type: 'string' },
    { name: 'identifier_value', type: 'string' },
    { name: 'profile_id', type: 'string' },
  ],
  events: [
    { name: 'user_id', type: 'string' },
    { name: 'event_type', type: 'string' },
    { name: 'amount', type: 'integer' },
    { name: 'channel', type: 'string' },
    { name: 'occurred_at', type: 'timestamp' },
  ],
};

export interface SegmentsWorld {
  setup: SegmentsSetup;
  catalog: Catalog;
  schema: string;
  replace(table: string, rows: Row[]): Promise<void>;
  plan(files: Record<string, string>, options?: PlanOptions): SegmentsPlan;
}

export function segmentsYml(schema: string, extra = ''): string {
  return (
    `as_of: '${AS_OF.toISOString()}'\n` +
    `events:\n  ev: { table: ${schema}.events, identifier: { type: user_id, column: user_id }, event: event_type, timestamp: occurred_at }\n` +
    extra
  );
}

export async function makeSegmentsWorld(warehouse: Warehouse, schema: string, segmentsConfig = segmentsYml(schema)): Promise<SegmentsWorld> {
  const d = warehouse.dialect;
  for (const [name, columns] of Object.entries(worldTables)) await warehouse.execute(d.createTable({ schema, name }, columns));
  const fixture = makeProject({
    'cdp.yml': `name: segments_test\nwarehouse: { type: ${d.name === 'postgres' ? 'postgres' : 'duckdb'} }\nsources:\n  raw: { schema: ${schema}, tables: [events] }\n`,
    'identity.yml': 'identifiers:\n  user_id: {}\nsources:\n  - { name: ev, source: raw.events, identifiers: { user_id: user_id } }\n',
    'segments.yml': segmentsConfig,
  });
  let setup: SegmentsSetup;
  try {
    setup = loadSegmentsSetup(loadProject(fixture.dir, {}), d, {}, { outputSchema: schema, stateSchema: schema, files: [] });
  } finally {
    fixture.remove();
  }
  const catalog = await readCatalog(warehouse, setup);
  // Event names come from each test's data; the tests check them on their own.
  for (const e of catalog.events.values()) e.names = undefined;
  return {
    setup,
    catalog,
    schema,
    async replace(table, rows) {
      await warehouse.execute(`DELETE FROM ${d.qualify({ schema, name: table })}`);
      if (rows.length === 0) return;
      await warehouse.load({ schema, name: table }, worldTables[table]!, (async function* () {
        yield rows;
      })());
    },
    plan(files, options) {
      const sources: SegmentSource[] = Object.entries(files).map(([name, text]) => ({ name, file: `segments/${name}.yml`, text }));
      const withFiles = { ...setup, files: sources };
      const segments = new Map(sources.map((s) => [s.name, /over:\s*accounts/.test(s.text) ? ('accounts' as const) : ('profiles' as const)]));
      return planSegments(withFiles, { ...catalog, segments }, options);
    },
  };
}
