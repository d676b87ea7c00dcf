/**
 * The small read routes the UI needs (declared with their schemas, so they are in
 * /openapi.json): a sync source's columns with their kind — for a segment before its first
 * build too (the columns it will have) — the consent purposes of consent.yml (the new-sync
 * wizard), and the rule builder's catalog with an events source (its properties and the
 * event names seen). No browser: plain HTTP against the marketer fixture.
 */
import { deleteApiSegment, insertApiSegment } from '../../src/segments';
import { openMarketerFixture, type MarketerFixture } from './marketer-fixture';

describe('UI read routes: sync source columns, consent purposes, rule catalog', () => {
  let fx: MarketerFixture;
  const get = async (url: string, token?: string) => {
    const response = await fetch(`${fx.url}${url}`, { headers: { authorization: `Bearer ${token ?? fx.tokens.read}` } });
    return { status: response.status, body: (await response.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };

  beforeAll(async () => {
    fx = await openMarketerFixture(12);
  }, 120_000);
  afterAll(async () => {
    await fx?.close();
  });

  test('a segment not built yet answers the columns it will have, with their kinds', async () => {
    const { status, body } = await get('/sync-sources/columns?segment=name_one');
    expect(status).toBe(200);
    expect(body.built).toBe(false);
    expect(body.relation).toMatch(/seg_name_one$/);
    const kinds = Object.fromEntries(body.columns.map((c: { name: string; kind: string }) => [c.name, c.kind]));
    expect(kinds).toMatchObject({ profile_id: 'string', email: 'string', first_name: 'string', orders_count: 'number', first_seen: 'time', split_group: 'string' });
    expect(body.exact).toBe(true);
  });

  test("a sql: segment not built yet answers its subject's columns, flagged not exact; another segment's broken definition changes nothing", async () => {
    const control = fx.serve.runtime.control;
    const project = fx.serve.runtime.name;
    await insertApiSegment(control, { project, name: 'by_sql', definition: JSON.stringify({ sql: 'SELECT profile_id, first_name FROM {{var "profiles"}}' }), createdBy: 'test' });
    await insertApiSegment(control, { project, name: 'broken_one', definition: JSON.stringify({ rules: { trait: 'no_such_trait', op: 'eq', value: 1 } }), createdBy: 'test' });
    try {
      const bySql = await get('/sync-sources/columns?segment=by_sql');
      expect(bySql.status).toBe(200);
      expect(bySql.body).toMatchObject({ built: false, exact: false });
      expect(bySql.body.relation).toMatch(/seg_by_sql$/);
      expect(bySql.body.columns.map((c: { name: string }) => c.name)).toEqual(expect.arrayContaining(['profile_id', 'first_name', 'split_group']));
      const ruled = await get('/sync-sources/columns?segment=name_one');
      expect(ruled.status).toBe(200);
      expect(ruled.body).toMatchObject({ built: false, exact: true });
      // The broken one says why; the table and model sources do not plan segments at all.
      const broken = await get('/sync-sources/columns?segment=broken_one');
      expect(broken.status).toBe(400);
      expect(broken.body.message).toMatch(/unknown trait 'no_such_trait'/);
      expect((await get('/sync-sources/columns?table=raw.contacts', fx.tokens.write)).body.exact).toBe(true);
    } finally {
      await deleteApiSegment(control, project, 'by_sql');
      await deleteApiSegment(control, project, 'broken_one');
    }
  });

  test('a table source reads the warehouse (write scope: it can name any relation); an unknown segment is 404; zero or two sources are 400', async () => {
    const asReader = await get('/sync-sources/columns?table=raw.contacts');
    expect(asReader.status).toBe(403);
    expect(asReader.body.hint).toMatch(/segment=|model=|write/);
    const table = await get('/sync-sources/columns?table=raw.contacts', fx.tokens.write);
    expect(table.status).toBe(200);
    expect(table.body).toMatchObject({ relation: 'raw.contacts', built: true });
    expect(table.body.columns.map((c: { name: string }) => c.name)).toEqual(['uid', 'email', 'fname', 'city', 'orders', 'consent', 'updated_at']);
    expect(table.body.columns.find((c: { name: string }) => c.name === 'updated_at').kind).toBe('time');
    const unknown = await get('/sync-sources/columns?segment=nope');
    expect(unknown.status).toBe(404);
    expect(unknown.body.hint).toMatch(/GET \/segments/); // a user error says how to fix it
    expect((await get('/sync-sources/columns?model=nope')).body.hint).toMatch(/GET \/models/);
    const none = await get('/sync-sources/columns');
    expect(none.status).toBe(400);
    expect(none.body.issues[0].path).toBe('query');
    expect((await get('/sync-sources/columns?segment=name_one&table=raw.contacts')).status).toBe(400);
    expect((await get('/sync-sources/columns?table=not%20a%20table', fx.tokens.write)).status).toBe(400);
  });

  test('consent purposes, and both routes in the OpenAPI document', async () => {
    const purposes = await get('/consent-purposes');
    expect(purposes.status).toBe(200);
    expect(purposes.body).toEqual([{ name: 'email_marketing', description: 'Marketing email', model: null, key: null, column: 'email_consent', granted: ['granted'] }]);
    expect((await fetch(`${fx.url}/consent-purposes`)).status).toBe(401);
    const doc = (await (await fetch(`${fx.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/sync-sources/columns', '/consent-purposes']));
  });

  test("the rule builder's catalog: traits with kinds, the events source with its properties and the names seen", async () => {
    const { status, body } = await get('/segments/catalog?over=profiles');
    expect(status).toBe(200);
    const kinds = Object.fromEntries(body.traits.map((c: { name: string; kind: string }) => [c.name, c.kind]));
    expect(kinds).toMatchObject({ first_name: 'string', city: 'string', orders_count: 'number', first_seen: 'time' });
    // Properties leave out what the source's definition uses (the person's identifier, the event name).
    expect(body.events).toEqual([
      {
        source: 'web',
        names: ['page_view', 'purchase'],
        fixed_name: null,
        timestamp: 'ts',
        properties: [
          { name: 'amount', kind: 'number' },
          { name: 'ts', kind: 'time' },
        ],
      },
    ]);
    expect(body.segments).toEqual(['name_one']);
    expect(body.operators.number).toEqual(expect.arrayContaining(['gte', 'between']));
    const doc = (await (await fetch(`${fx.url}/openapi.json`)).json()) as { paths: Record<string, { get?: { 'x-required-scope'?: string } }> };
    expect(doc.paths['/segments/catalog']!.get!['x-required-scope']).toBe('read');
  });
});
