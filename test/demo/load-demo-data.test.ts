/**
 * loadDemoData against a real embedded DuckDB: it (re)creates the raw tables and loads exactly
 * what the generator produces, with values surviving the round trip.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectDuckdb } from '../../src/warehouse/duckdb/duckdb-warehouse';
import type { Row, Warehouse } from '../../src/warehouse';
import { DEMO_TABLE_NAMES, generateDemoTables, loadDemoData } from '../../examples/demo/generator';

const OPTIONS = { people: 2_000, seed: 42, asOf: new Date('2026-11-01T00:00:00Z') };
let dir: string;
let warehouse: Warehouse;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cdp-demo-'));
  warehouse = await connectDuckdb({ type: 'duckdb', path: ':memory:', schema: 'main' }, dir);
});

afterAll(async () => {
  await warehouse.close();
  rmSync(dir, { recursive: true, force: true });
});

async function generatedCounts(): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const t of generateDemoTables(OPTIONS)) {
    let n = 0;
    for await (const b of t.rows()) n += b.length;
    counts.set(t.name, n);
  }
  return counts;
}

async function tableCount(table: string): Promise<number> {
  const [row] = await warehouse.query<{ n: number }>(`SELECT COUNT(*) AS n FROM raw.${table}`);
  return Number(row.n);
}

describe('loadDemoData into DuckDB', () => {
  it('loads exactly the generated rows into every table, and reloading replaces them', async () => {
    const expected = await generatedCounts();
    const progress: string[] = [];
    const first = await loadDemoData(warehouse, 'raw', { ...OPTIONS, onProgress: (p) => progress.push(p.table) });
    expect(first.map((r) => r.table)).toEqual([...DEMO_TABLE_NAMES]);
    for (const { table, rows } of first) {
      expect({ table, rows }).toEqual({ table, rows: expected.get(table) });
      expect({ table, count: await tableCount(table) }).toEqual({ table, count: rows });
    }
    expect(new Set(progress)).toEqual(new Set(DEMO_TABLE_NAMES));

    // Drop + create: a second load must not append.
    const second = await loadDemoData(warehouse, 'raw', OPTIONS);
    expect(second).toEqual(first);
    expect(await tableCount('web_events')).toBe(expected.get('web_events'));
  });

  it('round-trips values: timestamps, floats, NULLs and messy strings', async () => {
    const generated = new Map<string, Row[]>();
    for (const t of generateDemoTables(OPTIONS)) {
      if (t.name !== 'orders' && t.name !== 'crm_contacts') continue;
      const rows: Row[] = [];
      for await (const b of t.rows()) rows.push(...b);
      generated.set(t.name, rows);
    }
    const orders = await warehouse.query('SELECT order_id, user_id, email, amount, currency, status, ordered_at FROM raw.orders');
    const byId = new Map(orders.map((o) => [o.order_id, o]));
    for (const o of generated.get('orders') ?? []) expect(byId.get(o.order_id)).toEqual(o);

    const contacts = await warehouse.query('SELECT contact_id, email, phone, first_name, last_name, company_name, updated_at FROM raw.crm_contacts');
    const contactById = new Map(contacts.map((c) => [c.contact_id, c]));
    const sample = generated.get('crm_contacts') ?? [];
    expect(sample.some((c) => typeof c.email === 'string' && c.email !== c.email.trim())).toBe(true);
    for (const c of sample) expect(contactById.get(c.contact_id)).toEqual(c);

    const [latest] = await warehouse.query<{ latest: Date }>(
      'SELECT MAX(occurred_at) AS latest FROM raw.web_events',
    );
    expect(latest.latest.getTime()).toBeLessThan(OPTIONS.asOf.getTime());
  });
});
