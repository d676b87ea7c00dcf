/**
 * The B2B part of `cdp demo` (when the project has the demo's Salesforce syncs): a local
 * stand-in Salesforce org receives the accounts and then their people as contacts linked to
 * them; then one person changes company — a new membership row in the raw data, an incremental
 * identity run — and the contacts sync, run again, moves that contact to the new Account.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startDemoSalesforce, type DemoSalesforce } from '../../examples/demo/demo-salesforce';
import type { CompiledProject } from '../compiler';
import type { ControlDb } from '../control';
import { identityTables, loadIdentityPlan, runIdentity, type IdentityPlan } from '../identity';
import type { Project } from '../project';
import { segmentMembersRef } from '../segments';
import { loadSyncProject, resolveSyncTarget, runSync } from '../sync';
import type { Warehouse } from '../warehouse';
import { formatCount, formatDuration, type Output } from './output';
import { printRunResult } from './sync-command';

const B2B_CONTACTS_SYNC = 'b2b_contacts_to_salesforce';
/** The demo's Salesforce destination reads these (examples/demo/destinations.yml). */
export interface B2bDemo {
  org: DemoSalesforce;
  plan: IdentityPlan;
  /** The variables the demo's Salesforce destination reads (examples/demo/destinations.yml). */
  env: Record<string, string>;
  close(): Promise<void>;
}

export function hasB2bSyncs(project: Project): boolean {
  return existsSync(join(project.dir, 'syncs', `${B2B_CONTACTS_SYNC}.yml`)) && existsSync(join(project.dir, 'identity.yml'));
}

/**
 * Before the syncs: the contacts sync's source view (people with a current company, over
 * identity's profiles) and a local stand-in org, which the demo destination finds through the
 * environment it reads (passed to the demo's sync loads; process.env is left alone).
 */
export async function startB2bDemo(project: Project, warehouse: Warehouse): Promise<B2bDemo> {
  const d = warehouse.dialect;
  const plan = loadIdentityPlan(project, d, process.env);
  const T = identityTables(plan);
  const q = (n: string) => d.quoteIdent(n);
  await warehouse.execute(
    d.createOrReplaceView(
      { schema: T.profiles.schema, name: 'b2b_contacts' },
      `SELECT ${q('profile_id')}, ${q('first_name')}, ${q('last_name')}, ${q('email')}, ${q('current_account_id')} FROM ${d.qualify(T.profiles)} WHERE ${q('current_account_id')} IS NOT NULL`,
    ),
  );
  const org = await startDemoSalesforce();
  return {
    org,
    plan,
    env: { CDP_DEMO_SALESFORCE_URL: org.url, CDP_DEMO_SALESFORCE_CLIENT_ID: org.clientId, CDP_DEMO_SALESFORCE_CLIENT_SECRET: org.clientSecret, CDP_DEMO_SALESFORCE_REFRESH_TOKEN: org.refreshToken },
    close: () => org.close(),
  };
}

/**
 * After the syncs: one person moves to another company — the old membership ends and a new
 * one starts (rows in the raw memberships table, as the CRM would add them), identity runs
 * incrementally, and the contacts sync runs again: only that person has changed, and their
 * Contact now points at the other Account. False when a step failed.
 */
export async function followCompanyMove(project: Project, compiled: CompiledProject, warehouse: Warehouse, control: ControlDb, b2b: B2bDemo, movedAt: Date, out: Output): Promise<boolean> {
  const { org, plan } = b2b;
  const d = warehouse.dialect;
  const q = (n: string) => d.quoteIdent(n);
  const T = identityTables(plan);
  const memberships = plan.memberships;
  if (!memberships) return true;
  const accounts = org.records('Account').length;
  const contacts = org.records('Contact');
  out.line(`  Salesforce (the local stand-in org) now holds ${formatCount(accounts)} Accounts and ${formatCount(contacts.length)} Contacts, ${formatCount(contacts.filter((c) => c.fields.AccountId).length)} of them linked to their Account`);
  out.line(`  rejected contacts and why: cdp --project-dir ${project.dir} sync rejected ${B2B_CONTACTS_SYNC}`);

  const [mover] = await warehouse.query<{ profile_id: string; first_name: string | null; last_name: string; email: string; from_account: string; from_name: string }>(
    `SELECT c.${q('profile_id')} AS ${q('profile_id')}, c.${q('first_name')} AS ${q('first_name')}, c.${q('last_name')} AS ${q('last_name')}, c.${q('email')} AS ${q('email')}, ` +
      `c.${q('current_account_id')} AS ${q('from_account')}, a.${q('name')} AS ${q('from_name')} ` +
      `FROM ${d.qualify({ schema: T.profiles.schema, name: 'b2b_contacts' })} AS c JOIN ${d.qualify(T.accounts)} AS a ON a.${q('account_id')} = c.${q('current_account_id')} ` +
      `WHERE c.${q('last_name')} IS NOT NULL AND c.${q('email')} IS NOT NULL ORDER BY c.${q('profile_id')} LIMIT 1`,
  );
  if (!mover) return true;
  const [target] = await warehouse.query<{ account_id: string; name: string }>(
    `SELECT ${q('account_id')}, ${q('name')} FROM ${d.qualify(T.accounts)} WHERE ${q('account_id')} <> ${d.literal(mover.from_account)} AND ${q('name')} IS NOT NULL ORDER BY ${q('account_id')} LIMIT 1`,
  );
  if (!target) return true;
  // Copied: the stand-in org updates its records in place.
  const contactBefore = org.byExternalId('Contact', 'External_Id__c', mover.profile_id);
  const before = { id: contactBefore?.Id, accountId: contactBefore?.fields.AccountId };
  const who = `${mover.first_name ?? ''} ${mover.last_name.slice(0, 1)}.`.trim();
  out.line('');
  out.line(`B2B: ${who} (${mover.profile_id}) moves from ${mover.from_name} to ${target.name}`);

  // The CRM records the move: the current membership ends, a new one starts (at the demo's "now").
  const m = memberships;
  const movedAtSql = d.toTimestamp(d.literal(movedAt.toISOString()));
  const emails = `SELECT ${q('identifier_value')} FROM ${d.qualify(T.graph)} WHERE ${q('profile_id')} = ${d.literal(mover.profile_id)} AND ${q('identifier_type')} = ${d.literal(m.rule.name)}`;
  const started = Date.now();
  await warehouse.execute(
    `UPDATE ${d.qualify(m.ref)} SET ${q(m.valid_to!)} = ${movedAtSql} WHERE ${q(m.account_key)} = ${d.literal(mover.from_account)} AND ${q(m.valid_to!)} IS NULL AND ${d.normalizeString(q(m.column))} IN (${emails})`,
  );
  await warehouse.execute(
    `INSERT INTO ${d.qualify(m.ref)} (${['membership_id', m.column, m.account_key, 'title', m.valid_from!, m.valid_to!].map(q).join(', ')}) ` +
      `VALUES (${d.literal(`mbr_demo_move_${mover.profile_id}`)}, ${d.literal(mover.email)}, ${d.literal(target.account_id)}, ${d.literal('Head of Procurement')}, ${movedAtSql}, NULL)`,
  );
  const identity = await runIdentity(warehouse, plan, {});
  if (!identity.ok) {
    out.error(`  identity run failed: ${identity.error?.message ?? 'unknown error'}`);
    return false;
  }
  const [now] = await warehouse.query<{ current_account_id: string | null }>(`SELECT ${q('current_account_id')} FROM ${d.qualify(T.profiles)} WHERE ${q('profile_id')} = ${d.literal(mover.profile_id)}`);
  out.line(`  a new membership row in ${m.ref.schema}.${m.ref.name}, then identity (incremental run ${identity.run}) in ${formatDuration(Date.now() - started)}: the profile's current account is now ${now?.current_account_id ?? 'none'}`);

  const syncProject = loadSyncProject(project.dir, { ...process.env, ...b2b.env });
  const sync = syncProject.syncs.get(B2B_CONTACTS_SYNC);
  if (!sync) return true;
  const models = new Map(compiled.models.map((model) => [model.name, model.ref]));
  const syncTarget = resolveSyncTarget(sync, { models, defaultSchema: warehouse.defaultSchema, stateSchema: project.config.state_schema, segment: (name) => segmentMembersRef(project, name, process.env) });
  const result = await runSync({ warehouse, control, project: project.config.name, projectDir: project.dir }, syncTarget, { trigger: 'demo', onProgress: (t) => out.progress(t) });
  printRunResult(result, out);
  if (result.status !== 'success') return false;

  const contact = org.byExternalId('Contact', 'External_Id__c', mover.profile_id);
  const accountName = (id: unknown) => (typeof id === 'string' ? org.byId(id)?.fields.Name : undefined) ?? 'none';
  const expected = org.byExternalId('Account', 'External_Id__c', target.account_id)?.Id;
  out.line(
    `  Salesforce Contact ${contact?.Id ?? '?'}: AccountId ${String(before.accountId ?? 'none')} (${String(accountName(before.accountId))}) → ${String(contact?.fields.AccountId ?? 'none')} (${String(accountName(contact?.fields.AccountId))}); still one Contact for the person`,
  );
  if (!contact || contact.fields.AccountId !== expected || contact.fields.AccountId === before.accountId || contact.Id !== before.id) {
    out.error('  the contact did not follow the person to the new account');
    return false;
  }
  return true;
}
