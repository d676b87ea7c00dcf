/**
 * The demo's stand-in Salesforce org (examples/demo/demo-salesforce.ts, what `npm start` syncs
 * the B2B accounts and contacts to) speaks what the salesforce connector needs: the
 * conformance suite against it (Collections only, as the demo syncs configure), the B2B flow
 * the demo shows — accounts, contacts linked to them by the account's external id, a person
 * who changes company moving to the other Account — and the demo project's Salesforce
 * destination and syncs load and validate against the connector.
 */
import { bundledDemoDir } from '../../src/cli/demo-command';
import { loadSyncProject } from '../../src/sync';
import salesforce, { resetSalesforceCaches } from '../../connectors/salesforce';
import { createConnectorContext, type OutboundRow } from '../../connectors/kit';
import { startDemoSalesforce, type DemoSalesforce } from '../../examples/demo/demo-salesforce';
import { describeConnectorConformance, type ConnectorFake } from './conformance';

const configFor = (org: DemoSalesforce) => ({ baseUrl: org.url, tokenUrl: org.tokenUrl, clientId: org.clientId, clientSecret: org.clientSecret, refreshToken: org.refreshToken });
const contactRows = (count: number, variant = 0): OutboundRow[] => Array.from({ length: count }, (_, i) => ({ key: `C-${i}`, fields: { LastName: `Last${i}`, FirstName: `First${i}v${variant}` } }));

afterEach(() => resetSalesforceCaches());

describeConnectorConformance(salesforce, async (): Promise<ConnectorFake<typeof salesforce.config>> => {
  const org = await startDemoSalesforce();
  return {
    config: configFor(org),
    badCredentialsConfig: { ...configFor(org), refreshToken: 'revoked' },
    object: 'contacts',
    // The stand-in has no Bulk API; the demo syncs keep every batch on Collections too.
    options: { bulkThreshold: '10000' },
    rows: contactRows,
    invalidRow: () => ({ key: 'C-bad', fields: { FirstName: 'NoLastName' } }),
    records: async () => new Map(org.records('Contact').map((r) => [String(r.fields.External_Id__c), r.fields])),
    close: () => org.close(),
  };
});

describe('the demo stand-in org', () => {
  test('B2B: accounts, then contacts linked by the account external id; a person who changes company follows; removals by lookup', async () => {
    const org = await startDemoSalesforce();
    try {
      const ctx = createConnectorContext('salesforce', salesforce.config.parse(configFor(org)), { timeoutMs: 10_000 });
      const options = { accountKeyField: 'account_id', bulkThreshold: '10000' };
      const accounts = await salesforce.write(ctx, { object: 'accounts', op: 'upsert', rows: [{ key: 'co_1', fields: { Name: 'Acme' } }, { key: 'co_2', fields: { Name: 'Globex' } }], options: {} });
      expect(accounts.map((o) => o.status)).toEqual(['ok', 'ok']);
      const person = (account: string | null): OutboundRow => ({ key: 'p_1', fields: { LastName: 'Ann', Email: 'ann@acme.example', account_id: account } });
      const accountId = (key: string) => org.byExternalId('Account', 'External_Id__c', key)!.Id;
      const first = await salesforce.write(ctx, { object: 'contacts', op: 'upsert', rows: [person('co_1'), { key: 'p_2', fields: { LastName: 'Bob', account_id: 'co_404' } }], options });
      expect(first[0]).toMatchObject({ status: 'ok', created: true });
      expect(first[1]).toMatchObject({ status: 'rejected', reason: expect.stringContaining('INVALID_FIELD: Foreign key external ID: co_404 not found') });
      const contactId = org.byExternalId('Contact', 'External_Id__c', 'p_1')!.Id;
      expect(org.byId(contactId)!.fields.AccountId).toBe(accountId('co_1'));

      const moved = await salesforce.write(ctx, { object: 'contacts', op: 'upsert', rows: [person('co_2')], options });
      expect(moved[0]).toMatchObject({ status: 'ok', created: false, externalId: contactId });
      expect(org.byId(contactId)!.fields.AccountId).toBe(accountId('co_2'));
      // No current company: the link is cleared, the contact stays.
      await salesforce.write(ctx, { object: 'contacts', op: 'upsert', rows: [person(null)], options });
      expect(org.byId(contactId)!.fields.AccountId).toBeNull();
      expect(org.records('Contact')).toHaveLength(1);

      const removed = await salesforce.write(ctx, { object: 'contacts', op: 'delete', rows: [{ key: 'p_1', fields: {} }, { key: 'p_9', fields: {} }], options });
      expect(removed.map((o) => o.status)).toEqual(['ok', 'ok']);
      expect(org.records('Contact')).toHaveLength(0);
    } finally {
      await org.close();
    }
  });

  test('the demo project’s Salesforce destination and B2B syncs load and validate against the connector', () => {
    const project = loadSyncProject(bundledDemoDir, { CDP_DEMO_SALESFORCE_URL: 'http://127.0.0.1:9' });
    const destination = project.destinations.get('demo_salesforce')!;
    expect(destination.type).toBe('salesforce');
    expect(destination.config).toMatchObject({ baseUrl: 'http://127.0.0.1:9', tokenUrl: 'http://127.0.0.1:9/services/oauth2/token' });
    const accounts = project.syncs.get('b2b_accounts_to_salesforce')!;
    const contacts = project.syncs.get('b2b_contacts_to_salesforce')!;
    expect([accounts.spec.object, contacts.spec.object]).toEqual(['accounts', 'contacts']);
    expect(contacts.spec.object_options).toMatchObject({ accountKeyField: 'account_id' });
    // Accounts run first: sync files run in name order.
    const names = [...project.syncs.keys()];
    expect(names.indexOf('b2b_accounts_to_salesforce')).toBeLessThan(names.indexOf('b2b_contacts_to_salesforce'));
  });
});
