/**
 * The hubspot connector against `hubspotFake` (test/fakes/hubspot-fake.ts), which validates
 * every request against HubSpot's published OpenAPI specs. The conformance suite runs once
 * per object; the rest covers what is special to HubSpot: 100-row batches, 207 partial
 * failures mapped by objectWriteTraceId, 429 waits, auth hints, archive, list membership by
 * email, associations. Every test asserts the fake's end state, and every test ends by
 * asserting that no request the connector sent was refused by the spec.
 */
import hubspot, { toHubspotValue } from '../../connectors/hubspot';
import { ConnectorError, createConnectorContext, type Batch, type BatchOp, type OutboundRow, type RowOutcome } from '../../connectors/kit';
import { startHubspotFake, HUBSPOT_SPEC_DIR, type HubspotFake } from '../fakes/hubspot-fake';
import { describeConnectorConformance, type ConnectorFake } from './conformance';

type HubspotConfigInput = { accessToken: string; baseUrl?: string };

function contactRows(count: number, variant = 0, offset = 0): OutboundRow[] {
  return Array.from({ length: count }, (_, i) => {
    const n = i + offset;
    return { key: `person${n}@example.com`, fields: { firstname: `First${n}`, lastname: `Last${n}-v${variant}`, score: n * 10 + variant, vip: n % 2 === 0 } };
  });
}

function companyRows(count: number, variant = 0): OutboundRow[] {
  return Array.from({ length: count }, (_, i) => ({ key: `company${i}.example.org`, fields: { name: `Company ${i} v${variant}`, numberofemployees: 10 + i + variant } }));
}

/** What the fake stores for a field value: HubSpot keeps strings; '' (from null) clears. */
const storedValue = (value: Parameters<typeof toHubspotValue>[0]) => (value === null ? undefined : toHubspotValue(value));

function asRecordMap(entries: Array<[string, Record<string, string>]>): Map<string, Record<string, unknown>> {
  return new Map(entries);
}

/** Adapts the fake to the conformance suite's ConnectorFake for one object. */
async function conformanceFake(object: 'contacts' | 'companies' | 'list_memberships', setup?: (fake: HubspotFake) => void): Promise<ConnectorFake<typeof hubspot.config>> {
  const fake = await startHubspotFake();
  setup?.(fake);
  const listId = object === 'list_memberships' ? fake.createList('conformance') : undefined;
  return {
    config: { accessToken: fake.token, baseUrl: fake.url },
    badCredentialsConfig: { accessToken: 'pat-na1-wrong', baseUrl: fake.url },
    object,
    options: listId ? { listId } : {},
    rows: (count, variant = 0) => (object === 'companies' ? companyRows(count, variant) : contactRows(count, variant)),
    invalidRow: (): OutboundRow => (object === 'companies' ? { key: 'bad.example.org', fields: { name: 'Bad', description: 'REFUSE' } } : { key: 'not-an-email', fields: { firstname: 'Bad' } }),
    records: async () => {
      if (object === 'list_memberships') {
        const members = fake.listMembers(listId!);
        return asRecordMap(
          fake
            .records('contacts')
            .filter((r) => members.includes(r.id))
            .map((r) => [r.properties.email!, r.properties]),
        );
      }
      const key = object === 'contacts' ? 'email' : 'domain';
      return asRecordMap(fake.records(object).map((r) => [r.properties[key]!, r.properties]));
    },
    failNext: (count, status) => fake.failNext(count, { status, retryAfterSeconds: status === 429 ? 1 : undefined }),
    close: async () => {
      // The suite's requests must all conform to the spec, like every other test here.
      expect(fake.validationFailures().map((r) => `${r.method} ${r.path}: ${r.validationErrors.join('; ')}`)).toEqual([]);
      expect(fake.responseValidationFailures().map((r) => `${r.method} ${r.path}: ${r.responseErrors.join('; ')}`)).toEqual([]);
      await fake.close();
    },
  };
}

/** Companies have no natural per-record refusal like an invalid email: the fake is told to refuse one. */
const conformanceCompaniesFake = () =>
  conformanceFake('companies', (fake) => fake.setRecordFault((type, _id, properties) => (type === 'companies' && properties.description === 'REFUSE' ? 'Property "description" was refused' : undefined)));

describe('contacts', () => describeConnectorConformance(hubspot, () => conformanceFake('contacts'), { storedValue }));
describe('companies', () => describeConnectorConformance(hubspot, conformanceCompaniesFake, { storedValue }));
describe('list_memberships', () => describeConnectorConformance(hubspot, () => conformanceFake('list_memberships'), { storedValue }));

describe('hubspot connector against the spec-validating fake', () => {
  let fake: HubspotFake;

  const ctx = (config: Partial<HubspotConfigInput> = {}) =>
    createConnectorContext('hubspot', hubspot.config.parse({ accessToken: fake.token, baseUrl: fake.url, ...config }), { timeoutMs: 5_000 });
  const write = (object: string, op: BatchOp, rows: OutboundRow[], options: Record<string, string> = {}, config: Partial<HubspotConfigInput> = {}): Promise<RowOutcome[]> => {
    const batch: Batch = { object, op, rows, options };
    return hubspot.write(ctx(config), batch);
  };
  const failureOf = async (promise: Promise<unknown>): Promise<ConnectorError> => {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConnectorError);
    return error as ConnectorError;
  };
  const contactEmails = () => fake.records('contacts').map((r) => r.properties.email).sort();

  beforeEach(async () => {
    fake = await startHubspotFake();
  });
  afterEach(async () => {
    // Every request the connector sent in the test conformed to HubSpot's spec, and so did the fake's answers.
    const refused = fake.validationFailures();
    expect(refused.map((r) => `${r.method} ${r.path}: ${r.validationErrors.join('; ')}`)).toEqual([]);
    expect(fake.responseValidationFailures().map((r) => `${r.method} ${r.path}: ${r.responseErrors.join('; ')}`)).toEqual([]);
    await fake.close();
  });

  describe('contacts', () => {
    test('250 contacts upserted in 3 batches: the fake holds exactly the input, with the ids the outcomes report', async () => {
      const rows = contactRows(250);
      const outcomes: RowOutcome[] = [];
      for (let start = 0; start < rows.length; start += hubspot.limits.batchRows) {
        outcomes.push(...(await write('contacts', 'upsert', rows.slice(start, start + hubspot.limits.batchRows))));
      }
      expect(fake.requests.filter((r) => r.path === '/crm/v3/objects/contacts/batch/upsert').map((r) => (r.body as { inputs: unknown[] }).inputs.length)).toEqual([100, 100, 50]);
      expect(outcomes.every((o) => o.status === 'ok')).toBe(true);

      const stored = fake.records('contacts');
      expect(stored).toHaveLength(250);
      const expected = rows.map((row) => ({ email: row.key, firstname: String(row.fields.firstname), lastname: String(row.fields.lastname), score: String(row.fields.score), vip: String(row.fields.vip) }));
      expect(stored.map((r) => r.properties).sort((a, b) => a.email!.localeCompare(b.email!))).toEqual(expected.sort((a, b) => a.email.localeCompare(b.email)));
      // ok.externalId is the HubSpot record id of that row's contact.
      rows.forEach((row, i) => {
        const outcome = outcomes[i]!;
        expect(outcome.status === 'ok' && outcome.externalId).toBe(fake.findByProperty('contacts', 'email', row.key)!.id);
      });
    });

    test('re-upserting the same contacts is idempotent: same records, same ids; `created` says who HubSpot created', async () => {
      const rows = contactRows(100);
      const preexisting = fake.seed('contacts', { email: rows[7]!.key, firstname: 'Before' });
      const first = await write('contacts', 'upsert', rows);
      expect(first.map((o) => o.status === 'ok' && o.created)).toEqual(rows.map((_, i) => i !== 7));
      expect(first[7]).toEqual({ status: 'ok', externalId: preexisting.id, created: false });
      const before = fake.records('contacts');
      const again = await write('contacts', 'upsert', rows);
      expect(again.every((o) => o.status === 'ok' && o.created === false)).toBe(true);
      const after = fake.records('contacts');
      expect(after.map((r) => [r.id, r.properties])).toEqual(before.map((r) => [r.id, r.properties]));
    });

    test('keys are compared as HubSpot does: case-insensitive email, duplicate in a batch rejected (not sent twice)', async () => {
      const outcomes = await write('contacts', 'upsert', [
        { key: ' Ann@Example.COM ', fields: { firstname: 'Ann' } },
        { key: 'ann@example.com', fields: { firstname: 'Annie' } },
        { key: 'bob@example.com', fields: { firstname: 'Bob' } },
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(['ok', 'rejected', 'ok']);
      expect(outcomes[1]).toMatchObject({ reason: expect.stringContaining('same email as row 1') });
      expect(contactEmails()).toEqual(['ann@example.com', 'bob@example.com']);
      expect(fake.findByProperty('contacts', 'email', 'ann@example.com')!.properties.firstname).toBe('Ann');
    });

    test('field values become HubSpot strings; null clears a property', async () => {
      await write('contacts', 'upsert', [{ key: 'x@example.com', fields: { firstname: 'X', score: 3.5, vip: true, tags: ['a', 'b'], meta: { tier: 'gold' } } }]);
      expect(fake.findByProperty('contacts', 'email', 'x@example.com')!.properties).toEqual({ email: 'x@example.com', firstname: 'X', score: '3.5', vip: 'true', tags: 'a;b', meta: '{"tier":"gold"}' });
      await write('contacts', 'upsert', [{ key: 'x@example.com', fields: { firstname: null, score: 4 } }]);
      expect(fake.findByProperty('contacts', 'email', 'x@example.com')!.properties).toEqual({ email: 'x@example.com', score: '4', vip: 'true', tags: 'a;b', meta: '{"tier":"gold"}' });
    });

    test('a 207 rejects exactly the bad rows, with HubSpot’s message; the good rows are stored', async () => {
      const rows = contactRows(5);
      rows[1] = { key: 'not-an-email', fields: { firstname: 'Bad1' } };
      rows[3] = { key: 'also@bad', fields: { firstname: 'Bad2' } };
      const outcomes = await write('contacts', 'upsert', rows);
      expect(fake.requests.at(-1)!.status).toBe(207);
      expect(outcomes.map((o) => o.status)).toEqual(['ok', 'rejected', 'ok', 'rejected', 'ok']);
      expect(outcomes[1]).toEqual({ status: 'rejected', reason: 'Email address not-an-email is invalid' });
      expect(outcomes[3]).toEqual({ status: 'rejected', reason: 'Email address also@bad is invalid' });
      expect(contactEmails()).toEqual([rows[0]!.key, rows[2]!.key, rows[4]!.key].sort());
    });

    test('per-record errors are matched by objectWriteTraceId, whatever the property', async () => {
      fake.setRecordFault((_type, _id, properties) => (properties.lifecyclestage === 'bogus' ? `Property "lifecyclestage" value "bogus" is not a valid option` : undefined));
      const rows = contactRows(3);
      rows[2] = { key: 'c@example.com', fields: { lifecyclestage: 'bogus' } };
      const outcomes = await write('contacts', 'upsert', rows);
      expect(outcomes.map((o) => o.status)).toEqual(['ok', 'ok', 'rejected']);
      expect(outcomes[2]).toEqual({ status: 'rejected', reason: 'Property "lifecyclestage" value "bogus" is not a valid option' });
    });

    test('update mode changes existing contacts and rejects unknown ones without creating them', async () => {
      await write('contacts', 'upsert', contactRows(2));
      const outcomes = await write('contacts', 'update', [
        { key: 'person0@example.com', fields: { firstname: 'Changed' } },
        { key: 'nobody@example.com', fields: { firstname: 'Ghost' } },
      ]);
      expect(outcomes[0]).toEqual({ status: 'ok', externalId: fake.findByProperty('contacts', 'email', 'person0@example.com')!.id });
      expect(outcomes[1]).toMatchObject({ status: 'rejected', reason: expect.stringContaining('update mode never creates records') });
      expect(fake.findByProperty('contacts', 'email', 'person0@example.com')!.properties.firstname).toBe('Changed');
      expect(contactEmails()).toEqual(['person0@example.com', 'person1@example.com']);
    });

    test('archive (delete op) removes the contacts, and removing one HubSpot never had is ok', async () => {
      await write('contacts', 'upsert', contactRows(10));
      const gone = [...contactRows(4), { key: 'never@example.com', fields: {} }];
      const outcomes = await write('contacts', 'delete', gone);
      expect(outcomes.every((o) => o.status === 'ok')).toBe(true);
      expect(fake.requests.filter((r) => r.path.endsWith('/batch/archive')).map((r) => r.status)).toEqual([204]);
      expect(contactEmails()).toEqual(contactRows(10).slice(4).map((r) => r.key).sort());
    });

    test('archive looks records up by key: a remembered id whose record now has another email is not archived', async () => {
      await write('contacts', 'upsert', contactRows(1));
      const record = fake.findByProperty('contacts', 'email', 'person0@example.com')!;
      const other = fake.seed('contacts', { email: 'someone-else@example.com' });
      const outcomes = await write('contacts', 'delete', [{ key: 'person0@example.com', fields: {}, externalId: other.id }]);
      expect(outcomes).toEqual([{ status: 'ok', externalId: record.id }]);
      expect(contactEmails()).toEqual(['someone-else@example.com']);
    });

    test('a batch larger than 100 rows (batch size override) is sent in chunks HubSpot accepts', async () => {
      const outcomes = await write('contacts', 'upsert', contactRows(150));
      expect(outcomes).toHaveLength(150);
      expect(outcomes.every((o) => o.status === 'ok')).toBe(true);
      expect(fake.records('contacts')).toHaveLength(150);
    });
  });

  describe('companies', () => {
    test('upsert by domain, mirror removal by archive', async () => {
      const rows = companyRows(5);
      expect((await write('companies', 'upsert', rows)).every((o) => o.status === 'ok')).toBe(true);
      expect(fake.records('companies').map((r) => r.properties.domain).sort()).toEqual(rows.map((r) => r.key).sort());
      expect((await write('companies', 'delete', rows.slice(0, 2))).every((o) => o.status === 'ok')).toBe(true);
      expect(fake.records('companies').map((r) => r.properties.domain).sort()).toEqual(rows.slice(2).map((r) => r.key).sort());
    });

    test('a configurable unique property (option idProperty) identifies companies instead of domain', async () => {
      await fake.close();
      fake = await startHubspotFake({ uniqueProperties: { companies: ['erp_id'] } });
      const rows = [{ key: 'ERP-1', fields: { name: 'Acme' } }, { key: 'ERP-2', fields: { name: 'Globex' } }];
      await write('companies', 'upsert', rows, { idProperty: 'erp_id' });
      await write('companies', 'upsert', [{ key: 'ERP-1', fields: { name: 'Acme Corp' } }], { idProperty: 'erp_id' });
      expect(fake.records('companies').map((r) => r.properties).sort((a, b) => a.erp_id!.localeCompare(b.erp_id!))).toEqual([
        { erp_id: 'ERP-1', name: 'Acme Corp' },
        { erp_id: 'ERP-2', name: 'Globex' },
      ]);
    });
  });

  describe('whole-request failures', () => {
    test('429 from the 10-second limiter → rate_limited, waiting the window HubSpot reports', async () => {
      fake.setRateLimit({ count: 2, perMs: 10_000 });
      await write('contacts', 'upsert', contactRows(1));
      await write('contacts', 'upsert', contactRows(1));
      const error = await failureOf(write('contacts', 'upsert', contactRows(1)));
      expect(error.failure).toBe('rate_limited');
      expect(error.retryAfterMs).toBe(10_000);
      expect(error.message).toContain('TEN_SECONDLY_ROLLING');
      const limited = fake.requests.at(-1)!;
      expect(limited.status).toBe(429);
      expect(limited.fault).toBe('rate_limit');
    });

    test('429 with Retry-After → retryAfterMs from the header; a DAILY policy waits an hour', async () => {
      fake.failNext(1, { status: 429, retryAfterSeconds: 7 });
      expect((await failureOf(write('contacts', 'upsert', contactRows(1)))).retryAfterMs).toBe(7_000);
      fake.failNext(1, { status: 429, policyName: 'DAILY' });
      const daily = await failureOf(write('contacts', 'upsert', contactRows(1)));
      expect(daily.retryAfterMs).toBe(3_600_000);
      expect(daily.hint).toContain('daily');
    });

    test('5xx → transient (retryable); nothing was stored', async () => {
      fake.failNext(1, { status: 502 });
      const error = await failureOf(write('contacts', 'upsert', contactRows(3)));
      expect(error.failure).toBe('transient');
      expect(error.retryable).toBe(true);
      expect(fake.records('contacts')).toHaveLength(0);
    });

    test('401 → auth with a hint on where the token comes from, from check and from write', async () => {
      const checked = await failureOf(hubspot.check(ctx({ accessToken: 'pat-na1-revoked' })));
      expect(checked.failure).toBe('auth');
      expect(checked.httpStatus).toBe(401);
      expect(checked.message).toContain('HubSpot refused the access token');
      expect(checked.hint).toContain('Private Apps');
      const written = await failureOf(write('contacts', 'upsert', contactRows(1), {}, { accessToken: 'pat-na1-revoked' }));
      expect(written.failure).toBe('auth');
      expect(fake.records('contacts')).toHaveLength(0);
    });

    test('403 → auth, and the hint names the scopes HubSpot says are missing', async () => {
      const listId = fake.createList('VIP');
      fake.failNext(1, { status: 403, requiredScopes: ['crm.lists.write'] });
      const error = await failureOf(write('list_memberships', 'add', contactRows(1), { listId }));
      expect(error.failure).toBe('auth');
      expect(error.httpStatus).toBe(403);
      expect(error.hint).toContain('crm.lists.write');
      expect(fake.listMembers(listId)).toEqual([]);
    });

    test('a timeout is transient', async () => {
      fake.setLatency(300);
      const slow = createConnectorContext('hubspot', hubspot.config.parse({ accessToken: fake.token, baseUrl: fake.url }), { timeoutMs: 50 });
      const error = await failureOf(hubspot.write(slow, { object: 'contacts', op: 'upsert', rows: contactRows(1), options: {} }));
      expect(error.failure).toBe('transient');
      fake.setLatency(0);
    });

    test('bad options are a config failure, before anything is sent', async () => {
      const error = await failureOf(write('list_memberships', 'add', contactRows(1), { listId: 'vip list' }));
      expect(error.failure).toBe('config');
      expect(error.message).toContain('listId');
      const typo = await failureOf(write('contacts', 'upsert', contactRows(1), { companykeyfield: 'company_domain' }));
      expect(typo.failure).toBe('config');
      expect(fake.requests).toHaveLength(0);
    });
  });

  describe('list memberships', () => {
    test('add and remove by email end to end: contacts are created as needed, ids kept, membership exact', async () => {
      const listId = fake.createList('VIP');
      const existing = fake.seed('contacts', { email: 'person0@example.com', firstname: 'Seeded' });
      const rows = contactRows(5);
      const added = await write('list_memberships', 'add', rows, { listId });
      expect(added.every((o) => o.status === 'ok')).toBe(true);
      const ids = added.map((o) => (o.status === 'ok' ? o.externalId! : ''));
      expect(ids[0]).toBe(existing.id);
      expect(fake.listMembers(listId)).toEqual([...ids].sort((a, b) => Number(a) - Number(b)));
      expect(contactEmails()).toEqual(rows.map((r) => r.key).sort());

      // Idempotent: adding the same people again changes nothing.
      expect((await write('list_memberships', 'add', rows, { listId })).every((o) => o.status === 'ok')).toBe(true);
      expect(fake.listMembers(listId)).toHaveLength(5);

      // Remove two by their remembered ids and one by email only.
      const removals = [
        { ...rows[1]!, externalId: ids[1] },
        { ...rows[2]!, externalId: ids[2] },
        { key: rows[3]!.key, fields: {} },
      ];
      expect((await write('list_memberships', 'remove', removals, { listId })).every((o) => o.status === 'ok')).toBe(true);
      expect(fake.listMembers(listId)).toEqual([ids[0]!, ids[4]!].sort((a, b) => Number(a) - Number(b)));
      // Removing from a list never deletes the contact.
      expect(fake.records('contacts')).toHaveLength(5);
    });

    test('removing people HubSpot does not have, or who are not members, is ok', async () => {
      const listId = fake.createList('VIP');
      fake.seed('contacts', { email: 'member-not@example.com' });
      const outcomes = await write('list_memberships', 'remove', [{ key: 'ghost@example.com', fields: {} }, { key: 'member-not@example.com', fields: {} }, { key: 'x@example.com', fields: {}, externalId: '999999' }], { listId });
      expect(outcomes.map((o) => o.status)).toEqual(['ok', 'ok', 'ok']);
      expect(fake.listMembers(listId)).toEqual([]);
    });

    test('a stale remembered id (contact deleted in HubSpot) is resolved by email again', async () => {
      const listId = fake.createList('VIP');
      const outcomes = await write('list_memberships', 'add', [{ key: 'stale@example.com', fields: {}, externalId: '424242' }], { listId });
      const record = fake.findByProperty('contacts', 'email', 'stale@example.com')!;
      expect(outcomes).toEqual([{ status: 'ok', externalId: record.id }]);
      expect(fake.listMembers(listId)).toEqual([record.id]);
    });

    test('createContacts=false adds only existing contacts and rejects the rest with a reason', async () => {
      const listId = fake.createList('VIP');
      const known = fake.seed('contacts', { email: 'known@example.com' });
      const outcomes = await write('list_memberships', 'add', [{ key: 'known@example.com', fields: {} }, { key: 'unknown@example.com', fields: {} }], { listId, createContacts: 'false' });
      expect(outcomes[0]).toEqual({ status: 'ok', externalId: known.id });
      expect(outcomes[1]).toMatchObject({ status: 'rejected', reason: expect.stringContaining('createContacts: false') });
      expect(fake.listMembers(listId)).toEqual([known.id]);
      expect(contactEmails()).toEqual(['known@example.com']);
    });

    test('an invalid email is rejected with HubSpot’s message and the others are added', async () => {
      const listId = fake.createList('VIP');
      const outcomes = await write('list_memberships', 'add', [...contactRows(2), { key: 'nope', fields: {} }], { listId });
      expect(outcomes.map((o) => o.status)).toEqual(['ok', 'ok', 'rejected']);
      expect(outcomes[2]).toEqual({ status: 'rejected', reason: 'Email address nope is invalid' });
      expect(fake.listMembers(listId)).toHaveLength(2);
    });

    test('a DYNAMIC or unknown list stops the run as a config failure', async () => {
      const dynamic = fake.createList('Active', 'DYNAMIC');
      const error = await failureOf(write('list_memberships', 'add', contactRows(1), { listId: dynamic }));
      expect(error.failure).toBe('config');
      expect(error.hint).toContain('MANUAL or SNAPSHOT');
      expect((await failureOf(write('list_memberships', 'add', contactRows(1), { listId: '987654' }))).failure).toBe('config');
    });
  });

  describe('contact → company associations (contacts option companyKeyField)', () => {
    test('each upserted contact is associated with the company its field names; the field is not a contact property', async () => {
      await write('companies', 'upsert', [{ key: 'acme.com', fields: { name: 'Acme' } }, { key: 'globex.com', fields: { name: 'Globex' } }]);
      const rows = [
        { key: 'a@acme.com', fields: { firstname: 'A', company_domain: 'ACME.com' } },
        { key: 'b@acme.com', fields: { firstname: 'B', company_domain: 'acme.com' } },
        { key: 'c@globex.com', fields: { firstname: 'C', company_domain: 'globex.com' } },
        { key: 'd@nowhere.com', fields: { firstname: 'D', company_domain: 'nowhere.com' } },
        { key: 'e@solo.com', fields: { firstname: 'E', company_domain: null } },
      ];
      const options = { companyKeyField: 'company_domain' };
      const outcomes = await write('contacts', 'upsert', rows, options);
      expect(outcomes.map((o) => o.status)).toEqual(['ok', 'ok', 'ok', 'rejected', 'ok']);
      expect(outcomes[3]).toMatchObject({ reason: expect.stringContaining('no HubSpot company has domain nowhere.com') });

      const id = (type: 'contacts' | 'companies', prop: string, value: string) => fake.findByProperty(type, prop, value)!.id;
      const expected = [
        { contactId: id('contacts', 'email', 'a@acme.com'), companyId: id('companies', 'domain', 'acme.com') },
        { contactId: id('contacts', 'email', 'b@acme.com'), companyId: id('companies', 'domain', 'acme.com') },
        { contactId: id('contacts', 'email', 'c@globex.com'), companyId: id('companies', 'domain', 'globex.com') },
      ];
      const byContact = (a: { contactId: string }, b: { contactId: string }) => a.contactId.localeCompare(b.contactId);
      expect(fake.associations().sort(byContact)).toEqual(expected.sort(byContact));
      expect(fake.records('contacts').every((r) => r.properties.company_domain === undefined)).toBe(true);

      // Idempotent: running again adds no association twice.
      await write('contacts', 'upsert', rows, options);
      expect(fake.associations()).toHaveLength(3);
    });
  });

  describe('the fake is a real gate', () => {
    const direct = (path: string, body: unknown, init: { method?: string; token?: string } = {}) =>
      fetch(`${fake.url}${path}`, {
        method: init.method ?? 'POST',
        headers: { authorization: `Bearer ${init.token ?? fake.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    test('a request the spec refuses gets 400 with the reason and changes nothing', async () => {
      const cases: Array<[string, unknown, string]> = [
        ['/crm/v3/objects/contacts/batch/upsert', { inputs: [{ idProperty: 'email', id: 'a@example.com', properties: { score: 5 } }] }, 'body.inputs[0].properties.score: expected string, got integer 5'],
        ['/crm/v3/objects/contacts/batch/upsert', { inputs: [{ idproperty: 'email', id: 'a@example.com', properties: {} }] }, 'body.inputs[0].idproperty: unknown property'],
        ['/crm/v3/objects/contacts/batch/upsert', { inputs: [{ idProperty: 'email', properties: {} }] }, 'body.inputs[0].id: required'],
        ['/crm/v3/objects/contacts/batch/read', { idProperty: 'email', inputs: [{ id: 'a@example.com' }] }, 'body.properties: required'],
        ['/crm/v4/associations/contacts/companies/batch/associate/default', { inputs: [{ from: { id: 1 }, to: { id: '2' } }] }, 'body.inputs[0].from.id: expected string'],
      ];
      for (const [path, body, reason] of cases) {
        const response = await direct(path, body);
        expect(response.status).toBe(400);
        const answer = (await response.json()) as { category: string; message: string };
        expect(answer.category).toBe('VALIDATION_ERROR');
        expect(answer.message).toContain(reason);
      }
      const membership = await fetch(`${fake.url}/crm/v3/lists/1/memberships/add`, { method: 'PUT', headers: { authorization: `Bearer ${fake.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ recordIdsToAdd: ['1'] }) });
      expect(membership.status).toBe(400);
      expect(fake.validationFailures()).toHaveLength(cases.length + 1);
      expect(fake.records('contacts')).toHaveLength(0);
      fake.requests.length = 0; // these were sent on purpose; the afterEach gate is for the connector's requests
    });

    test('an operation no spec documents is refused and logged', async () => {
      const response = await direct('/crm/v3/objects/contacts/batch/upsertt', { inputs: [] });
      expect(response.status).toBe(404);
      expect(fake.validationFailures()[0]!.validationErrors[0]).toContain('no operation POST /crm/v3/objects/contacts/batch/upsertt');
      fake.requests.length = 0;
    });

    test('more than 100 inputs is a 400 for the whole batch', async () => {
      const inputs = Array.from({ length: 101 }, (_, i) => ({ idProperty: 'email', id: `p${i}@example.com`, properties: {} }));
      const response = await direct('/crm/v3/objects/contacts/batch/upsert', { inputs });
      expect(response.status).toBe(400);
      expect(fake.records('contacts')).toHaveLength(0);
    });

    test('without the bearer token: 401', async () => {
      const response = await direct('/crm/v3/objects/contacts/batch/upsert', { inputs: [] }, { token: 'nope' });
      expect(response.status).toBe(401);
      expect(((await response.json()) as { category: string }).category).toBe('INVALID_AUTHENTICATION');
    });

    test('without the specs the fake refuses to start', async () => {
      await expect(startHubspotFake({ specDir: `${HUBSPOT_SPEC_DIR}-missing` })).rejects.toThrow(/OpenAPI specs not found/);
    });
  });
});
