/**
 * A small world for identity tests on a real warehouse: raw tables in the test's schema,
 * a project whose identity.yml reads them, and helpers to load rows, run, and read the
 * partition and tables back.
 */
import { loadIdentityPlan, runIdentity, type IdentityPlan, type IdentityRunOptions, type IdentityRunResult } from '../../src/identity';
import { loadProject } from '../../src/project';
import type { Column, Row, Warehouse } from '../../src/warehouse';
import { makeProject } from '../helpers/project-fixture';
import { canonicalPartition } from './reference';

export type Tables = Record<string, Column[]>;

export interface IdentityWorld {
  plan: IdentityPlan;
  insert(table: string, rows: Row[]): Promise<void>;
  run(options?: IdentityRunOptions): Promise<IdentityRunResult>;
  partition(): Promise<string[][]>;
  profileOf(key: string): Promise<string | undefined>;
  rows(table: string, orderBy?: string): Promise<Row[]>;
}

export async function makeIdentityWorld(warehouse: Warehouse, rawSchema: string, outSchema: string, tables: Tables, identityYml: string, options: { createTables?: boolean } = {}): Promise<IdentityWorld> {
  const d = warehouse.dialect;
  if (options.createTables !== false) {
    for (const [name, columns] of Object.entries(tables)) await warehouse.execute(d.createTable({ schema: rawSchema, name }, columns));
  }
  const fixture = makeProject({
    'cdp.yml': `name: identity_test\nwarehouse: { type: ${d.name === 'postgres' ? 'postgres' : 'duckdb'} }\nsources:\n  raw: { schema: ${rawSchema}, tables: [${Object.keys(tables).join(', ')}] }\n`,
    'identity.yml': identityYml,
  });
  let plan: IdentityPlan;
  try {
    plan = loadIdentityPlan(loadProject(fixture.dir, {}), d, {}, { outputSchema: outSchema, stateSchema: outSchema });
  } finally {
    fixture.remove();
  }
  const ref = (name: string) => d.qualify({ schema: outSchema, name });
  return {
    plan,
    async insert(table, rows) {
      await warehouse.load({ schema: rawSchema, name: table }, tables[table], (async function* () {
        yield rows;
      })());
    },
    async run(runOptions = {}) {
      const result = await runIdentity(warehouse, plan, { strategy: 'sql', ...runOptions });
      if (!result.ok) throw result.error;
      return result;
    },
    async partition() {
      const rows = await warehouse.query(`SELECT identifier_type, identifier_value, profile_id FROM ${ref('identity_graph')}`);
      const clusters = new Map<string, string[]>();
      for (const r of rows) {
        const list = clusters.get(String(r.profile_id)) ?? [];
        list.push(`${r.identifier_type}:${r.identifier_value}`);
        clusters.set(String(r.profile_id), list);
      }
      return canonicalPartition([...clusters.values()]);
    },
    async profileOf(key) {
      const [type, ...rest] = key.split(':');
      const [row] = await warehouse.query(
        `SELECT profile_id FROM ${ref('identity_graph')} WHERE identifier_type = ${d.literal(type)} AND identifier_value = ${d.literal(rest.join(':'))}`,
      );
      return row ? String(row.profile_id) : undefined;
    },
    async rows(table, orderBy = '1') {
      return warehouse.query(`SELECT * FROM ${ref(table)} ORDER BY ${orderBy}`);
    },
  };
}

export const ts = (iso: string) => new Date(`${iso}T00:00:00Z`);
