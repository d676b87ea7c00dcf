/**
 * The demo generator: deterministic bytes per seed, sizes that scale with people, values that
 * match their declared columns, and the messiness the demo models exist to clean.
 */
import { createHash } from 'node:crypto';
import type { Column, Row } from '../../src/warehouse';
import { DEFAULT_AS_OF, DEMO_TABLE_NAMES, generateDemoTables, type DemoOptions } from '../../examples/demo/generator';

type Tables = Map<string, { columns: Column[]; rows: Row[] }>;

async function collect(options: DemoOptions): Promise<Tables> {
  const tables: Tables = new Map();
  for (const table of generateDemoTables(options)) {
    const rows: Row[] = [];
    for await (const batch of table.rows()) rows.push(...batch);
    tables.set(table.name, { columns: table.columns, rows });
  }
  return tables;
}

async function digest(options: DemoOptions): Promise<string> {
  const hash = createHash('sha256');
  for (const table of generateDemoTables(options)) {
    hash.update(`#${table.name}\n`);
    for await (const batch of table.rows()) {
      for (const row of batch) {
        const cells = table.columns.map((c) => {
          const v = row[c.name];
          return v === null ? '\\N' : v instanceof Date ? v.toISOString() : `${typeof v}:${String(v)}`;
        });
        hash.update(cells.join('\u0001') + '\n');
      }
    }
  }
  return hash.digest('hex');
}

function rowsOf(tables: Tables, name: string): Row[] {
  const table = tables.get(name);
  if (!table) throw new Error(`no table ${name}`);
  return table.rows;
}

const norm = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v.trim().toLowerCase() : null);
const str = (v: unknown): string => {
  if (typeof v !== 'string') throw new Error(`expected a string, got ${String(v)}`);
  return v;
};
const ms = (v: unknown): number => {
  if (!(v instanceof Date)) throw new Error(`expected a Date, got ${String(v)}`);
  return v.getTime();
};

function groupBy<K>(rows: Row[], key: (r: Row) => K): Map<K, Row[]> {
  const groups = new Map<K, Row[]>();
  for (const r of rows) {
    const k = key(r);
    const list = groups.get(k);
    if (list) list.push(r);
    else groups.set(k, [r]);
  }
  return groups;
}

const PEOPLE = 2_000;
let tables: Tables;

beforeAll(async () => {
  tables = await collect({ people: PEOPLE, seed: 20261101 });
});

describe('determinism', () => {
  it('gives identical bytes for the same seed and different bytes for another seed', async () => {
    const a = await digest({ people: PEOPLE, seed: 7 });
    const b = await digest({ people: PEOPLE, seed: 7 });
    const c = await digest({ people: PEOPLE, seed: 8 });
    expect(a).toBe(b);
    expect(c).not.toBe(a);
  });

  it('regenerates the same rows on every call to rows(), whatever the batch size', async () => {
    const [first] = generateDemoTables({ people: 500, seed: 3 });
    const once: Row[] = [];
    for await (const batch of first.rows()) once.push(...batch);
    const [again] = generateDemoTables({ people: 500, seed: 3, batchRows: 97 });
    const twice: Row[] = [];
    for await (const batch of again.rows()) twice.push(...batch);
    expect(twice).toEqual(once);
  });

  it('does not depend on the wall clock', async () => {
    const before = await digest({ people: 200, seed: 1 });
    // Fake timers replace both Date.now() and `new Date()`.
    jest.useFakeTimers({ now: new Date('2031-03-04T05:06:07Z') });
    try {
      expect(new Date().getUTCFullYear()).toBe(2031);
      expect(await digest({ people: 200, seed: 1 })).toBe(before);
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('shape', () => {
  it('produces the nine tables in project order', () => {
    expect([...tables.keys()]).toEqual([...DEMO_TABLE_NAMES]);
  });

  it('gives every row exactly its declared columns with values of the declared type', () => {
    for (const [name, { columns, rows }] of tables) {
      expect(rows.length).toBeGreaterThan(0);
      const names = columns.map((c) => c.name).sort();
      for (const row of rows) {
        expect({ table: name, keys: Object.keys(row).sort() }).toEqual({ table: name, keys: names });
        for (const c of columns) {
          const v = row[c.name];
          if (v === null) continue;
          const ok =
            c.type === 'string' ? typeof v === 'string' :
            c.type === 'integer' ? Number.isSafeInteger(v) :
            c.type === 'float' ? typeof v === 'number' && Number.isFinite(v) :
            c.type === 'timestamp' ? v instanceof Date && !Number.isNaN(v.getTime()) :
            false;
          if (!ok) throw new Error(`${name}.${c.name} (${c.type}) holds ${JSON.stringify(v)}`);
        }
      }
    }
  });

  it('yields batches of about batchRows rows', async () => {
    const web = generateDemoTables({ people: 3_000, seed: 1, batchRows: 1_000 })[0];
    const sizes: number[] = [];
    for await (const batch of web.rows()) sizes.push(batch.length);
    expect(sizes.length).toBeGreaterThan(5);
    // A person's events are never split, so a batch may overshoot by one person's rows.
    for (const size of sizes.slice(0, -1)) expect(size).toBeGreaterThanOrEqual(1_000);
    for (const size of sizes) expect(size).toBeLessThan(1_200);
  });

  it('rejects nonsense options', () => {
    expect(() => generateDemoTables({ people: 0, seed: 1 })).toThrow(/people/);
    expect(() => generateDemoTables({ people: 2.5, seed: 1 })).toThrow(/people/);
    expect(() => generateDemoTables({ people: 10, seed: 1, asOf: new Date('nope') })).toThrow(/asOf/);
  });
});

describe('time', () => {
  function timestamps(t: Tables): number[] {
    const out: number[] = [];
    for (const { columns, rows } of t.values()) {
      const cols = columns.filter((c) => c.type === 'timestamp').map((c) => c.name);
      for (const r of rows) for (const c of cols) if (r[c] !== null) out.push(ms(r[c]));
    }
    return out;
  }

  it('keeps every timestamp before asOf (default 2026-11-01)', () => {
    const all = timestamps(tables);
    expect(all.length).toBeGreaterThan(10_000);
    expect(Math.max(...all)).toBeLessThan(DEFAULT_AS_OF.getTime());
    // Recent activity exists: the data is not all ancient.
    expect(Math.max(...all)).toBeGreaterThan(DEFAULT_AS_OF.getTime() - 2 * 86_400_000);
  });

  it('honours a custom asOf that is not midnight', async () => {
    const asOf = new Date('2025-06-15T12:34:56Z');
    const all = timestamps(await collect({ people: 500, seed: 9, asOf }));
    expect(Math.max(...all)).toBeLessThan(asOf.getTime());
  });
});

describe('scale', () => {
  it('grows every per-person table roughly linearly with people', async () => {
    const count = async (people: number): Promise<Map<string, number>> => {
      const counts = new Map<string, number>();
      for (const t of generateDemoTables({ people, seed: 11 })) {
        let n = 0;
        for await (const b of t.rows()) n += b.length;
        counts.set(t.name, n);
      }
      return counts;
    };
    const small = await count(2_000);
    const large = await count(8_000);
    for (const name of DEMO_TABLE_NAMES) {
      if (name === 'companies') continue;
      const ratio = (large.get(name) ?? 0) / (small.get(name) ?? 1);
      // 4× the people ⇒ about 4× the rows (the rarest table, support tickets, is the noisiest).
      expect({ name, ok: ratio > 3 && ratio < 5 }).toEqual({ name, ok: true });
    }
    // One company per 40 people, at least 20.
    expect(small.get('companies')).toBe(50);
    expect(large.get('companies')).toBe(200);
    expect((await count(100)).get('companies')).toBe(20);
    const total = [...large.values()].reduce((a, b) => a + b, 0);
    // About ten rows per person (1M people ≈ 10M rows), 5–8 of them web events.
    expect(total / 8_000).toBeGreaterThan(8);
    expect(total / 8_000).toBeLessThan(10.5);
    const web = (large.get('web_events') ?? 0) / 8_000;
    expect(web).toBeGreaterThan(4.5);
    expect(web).toBeLessThan(8);
  });
});

describe('identity clues', () => {
  it('gives anonymous ids that later log in, keep their user, and never mix users', () => {
    const byAnon = groupBy(rowsOf(tables, 'web_events'), (r) => str(r.anonymous_id));
    let loggedInLater = 0;
    let neverLoggedIn = 0;
    for (const events of byAnon.values()) {
      const sorted = [...events].sort((a, b) => ms(a.occurred_at) - ms(b.occurred_at));
      const users = new Set(sorted.map((e) => e.user_id).filter((u) => u !== null));
      expect(users.size).toBeLessThanOrEqual(1);
      const firstKnown = sorted.findIndex((e) => e.user_id !== null);
      if (firstKnown < 0) {
        neverLoggedIn++;
        continue;
      }
      // Once known, always known on this browser; the first known event is the login.
      for (const e of sorted.slice(firstKnown)) expect(e.user_id).not.toBeNull();
      expect(sorted[firstKnown].event_type).toMatch(/^login$/i);
      if (firstKnown > 0) loggedInLater++;
    }
    expect(loggedInLater).toBeGreaterThan(100);
    expect(neverLoggedIn).toBeGreaterThan(100);
  });

  it('has people on several browsers', () => {
    const anonsPerUser = new Map<string, Set<string>>();
    for (const e of rowsOf(tables, 'web_events')) {
      if (e.user_id === null) continue;
      const set = anonsPerUser.get(str(e.user_id)) ?? new Set<string>();
      set.add(str(e.anonymous_id));
      anonsPerUser.set(str(e.user_id), set);
    }
    const multi = [...anonsPerUser.values()].filter((s) => s.size >= 2).length;
    expect(multi).toBeGreaterThan(20);
  });

  it('logs in only users that exist, and only after they registered', () => {
    const created = new Map(rowsOf(tables, 'app_users').map((u) => [str(u.user_id), ms(u.created_at)]));
    expect(created.size).toBe(rowsOf(tables, 'app_users').length);
    for (const name of ['web_events', 'app_events', 'orders']) {
      for (const r of rowsOf(tables, name)) {
        if (r.user_id === null) continue;
        const at = created.get(str(r.user_id));
        expect(at).toBeDefined();
        const when = ms(name === 'orders' ? r.ordered_at : r.occurred_at);
        expect(when).toBeGreaterThanOrEqual(at ?? Infinity);
      }
    }
  });

  it('sends some tracker events twice (same event id, same row) and no other id twice', () => {
    for (const [table, id] of [['web_events', 'event_id'], ['app_events', 'event_id']] as const) {
      const byId = groupBy(rowsOf(tables, table), (r) => str(r[id]));
      const repeated = [...byId.values()].filter((g) => g.length > 1);
      for (const g of repeated) for (const r of g) expect(r).toEqual(g[0]);
      if (table === 'web_events') expect(repeated.length).toBeGreaterThan(10);
      else expect(repeated.length).toBe(0);
    }
    const unique: [string, string][] = [
      ['app_users', 'user_id'], ['crm_contacts', 'contact_id'], ['orders', 'order_id'],
      ['support_tickets', 'ticket_id'], ['companies', 'company_id'], ['companies', 'name'],
      ['memberships', 'membership_id'],
    ];
    for (const [table, column] of unique) {
      const values = rowsOf(tables, table).map((r) => r[column]);
      expect({ table, column, distinct: new Set(values).size }).toEqual({ table, column, distinct: values.length });
    }
  });
});

describe('messiness', () => {
  const crm = (): Row[] => rowsOf(tables, 'crm_contacts');

  it('has junk CRM emails and phones', () => {
    const emails = new Set(crm().map((r) => r.email));
    for (const junk of ['test@test.com', '', 'null', 'N/A']) expect(emails.has(junk)).toBe(true);
    expect(emails.has(null)).toBe(true);
    expect(crm().some((r) => r.phone === '0000000000')).toBe(true);
  });

  it('has case and whitespace variants of the same email, and duplicate contacts', () => {
    const variants = crm().filter((r) => typeof r.email === 'string' && r.email !== r.email.trim().toLowerCase() && /@/.test(r.email));
    expect(variants.some((r) => str(r.email) !== str(r.email).trim())).toBe(true);
    expect(variants.some((r) => /[A-Z]/.test(str(r.email)))).toBe(true);
    const byEmail = groupBy(
      crm().filter((r) => norm(r.email)?.includes('@') && norm(r.email) !== 'test@test.com'),
      (r) => norm(r.email),
    );
    const dups = [...byEmail.values()].filter((g) => g.length >= 2);
    expect(dups.length).toBeGreaterThan(50);
    // Duplicates are the same person typed differently, not the same bytes twice.
    expect(dups.some((g) => new Set(g.map((r) => r.email)).size >= 2)).toBe(true);
  });

  it('writes phones in several formats', () => {
    const formats = new Set(
      crm()
        .map((r) => r.phone)
        .filter((p): p is string => typeof p === 'string' && /\d{4}$/.test(p) && p !== '0000000000' && p !== '1234567890')
        .map((p) => p.replace(/\d/g, '9')),
    );
    for (const f of ['+9 999-999-9999', '(999) 999 9999', '9999999999']) expect(formats.has(f)).toBe(true);
    expect(formats.size).toBeGreaterThanOrEqual(5);
  });

  it('gives CRM phones that match the app account of the same person', () => {
    const appByEmail = new Map(rowsOf(tables, 'app_users').map((u) => [norm(u.email), u.phone]));
    let matched = 0;
    for (const r of crm()) {
      const appPhone = appByEmail.get(norm(r.email));
      if (typeof appPhone !== 'string' || typeof r.phone !== 'string') continue;
      const digits = r.phone.replace(/\D/g, '').replace(/^1(\d{10})$/, '$1');
      if (digits.length !== 10 || digits === '0000000000' || digits === '1234567890') continue;
      expect(`+1${digits}`).toBe(appPhone);
      matched++;
    }
    expect(matched).toBeGreaterThan(100);
  });

  it('has orders without a user (guest checkout), several statuses and two-decimal amounts', () => {
    const orders = rowsOf(tables, 'orders');
    expect(orders.some((o) => o.user_id === null)).toBe(true);
    expect(new Set(orders.map((o) => o.status))).toEqual(new Set(['completed', 'refunded', 'cancelled']));
    for (const o of orders) {
      const amount = o.amount as number;
      expect(amount).toBeGreaterThan(0);
      expect(Math.round(amount * 100) / 100).toBe(amount);
    }
  });
});

describe('consents', () => {
  it('records several changes per subject and channel, with withdrawals after grants and distinct times', () => {
    const consents = rowsOf(tables, 'consents');
    const groups = groupBy(consents, (r) => `${str(r.subject_type)}|${norm(r.subject_value)}|${str(r.channel)}`);
    let withdrawnAfterGrant = 0;
    let regranted = 0;
    for (const g of groups.values()) {
      const times = g.map((r) => ms(r.recorded_at));
      // Distinct times make "latest wins" unambiguous on every warehouse.
      expect(new Set(times).size).toBe(times.length);
      const statuses = [...g].sort((a, b) => ms(a.recorded_at) - ms(b.recorded_at)).map((r) => r.status);
      const s = statuses.join(',');
      if (s.startsWith('granted,withdrawn')) withdrawnAfterGrant++;
      if (s === 'granted,withdrawn,granted') regranted++;
    }
    expect(withdrawnAfterGrant).toBeGreaterThan(50);
    expect(regranted).toBeGreaterThan(5);
    expect(new Set(consents.map((r) => r.subject_type))).toEqual(new Set(['email', 'phone', 'user_id']));
    expect(new Set(consents.map((r) => r.channel))).toEqual(new Set(['email', 'sms', 'push', 'ads']));
    // The same subject appears in more than one spelling.
    expect(consents.some((r) => r.subject_type === 'email' && str(r.subject_value) !== norm(r.subject_value))).toBe(true);
  });
});

describe('B2B', () => {
  it('gives some people 2+ memberships whose periods never overlap', () => {
    const memberships = rowsOf(tables, 'memberships');
    const companies = new Set(rowsOf(tables, 'companies').map((c) => c.company_id));
    const byPerson = groupBy(memberships, (r) => norm(r.email));
    let movers = 0;
    for (const list of byPerson.values()) {
      const sorted = [...list].sort((a, b) => ms(a.started_at) - ms(b.started_at));
      for (let i = 0; i < sorted.length; i++) {
        const m = sorted[i];
        expect(companies.has(m.company_id)).toBe(true);
        if (m.ended_at !== null) expect(ms(m.ended_at)).toBeGreaterThan(ms(m.started_at));
        if (i < sorted.length - 1) {
          // Only the latest membership may be current; earlier ones end before the next starts.
          expect(m.ended_at).not.toBeNull();
          expect(ms(m.ended_at)).toBeLessThanOrEqual(ms(sorted[i + 1].started_at));
          expect(sorted[i + 1].company_id).not.toBe(m.company_id);
        }
      }
      if (list.length >= 2) movers++;
    }
    const share = movers / byPerson.size;
    expect(share).toBeGreaterThan(0.08);
    expect(share).toBeLessThan(0.25);
    expect(memberships.some((m) => m.ended_at === null)).toBe(true);
  });

  it('names the current company on B2B CRM contacts', () => {
    const names = new Set(rowsOf(tables, 'companies').map((c) => str(c.name).toLowerCase()));
    const named = rowsOf(tables, 'crm_contacts').filter((r) => r.company_name !== null);
    expect(named.length).toBeGreaterThan(50);
    expect(named.filter((r) => names.has(str(r.company_name).toLowerCase())).length / named.length).toBeGreaterThan(0.8);
  });
});
