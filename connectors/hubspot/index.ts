/**
 * The HubSpot destination (DESIGN §4, issue 5 item 7): contacts and companies by batch
 * upsert on a unique property, update-only, archive for removals, static-list membership
 * add/remove by email, and contact→company default associations as an option of contacts.
 *
 * Invariants:
 *  - one outcome per input row, in order; a row is `ok` only when HubSpot acknowledged it
 *    (a result carrying our objectWriteTraceId or its key) — a row HubSpot said nothing
 *    about is `retry`, never `ok` (commit only what was acknowledged);
 *  - per-record errors (207 `errors[]`) become `rejected` with HubSpot's message for exactly
 *    the rows they name (by objectWriteTraceId or context ids); whole-request failures throw
 *    a classified ConnectorError (client.ts) and the engine retries or splits;
 *  - `ok.externalId` is the HubSpot record id, so later removals and list changes can skip
 *    a lookup; `ok.created` is HubSpot's `new` flag of an upsert (mirror deletes only what
 *    this sync created); archive always looks records up by key first, so it can never archive a
 *    record whose key changed in HubSpot since we wrote it;
 *  - keys are normalised the way HubSpot compares them (emails and domains trimmed and
 *    lowercased); two rows that collide after that are not both sent (the later is rejected);
 *  - property values go as strings (HubSpot's API types every property value as a string):
 *    null → '' (clears the property), arrays → ';'-joined (multi-checkbox), objects → JSON.
 */
import { z } from 'zod';
import {
  defineDestination,
  objectOptions,
  ok,
  rejected,
  retry,
  secret,
  type Batch,
  type ConnectorContext,
  type FieldValue,
  type OutboundRow,
  type RowOutcome,
} from '../kit';
import {
  DESTINATION,
  HUBSPOT_BATCH_LIMIT,
  HUBSPOT_WINDOW_MS,
  HubspotClient,
  hubspotReason,
  isTransientRecordError,
  type CrmObjectType,
  type HubspotBatchResponse,
  type HubspotStandardError,
  type UpsertInput,
} from './client';

export const hubspotConfigSchema = z.object({
  /** A private-app access token (or an OAuth access token). */
  accessToken: secret(),
  /** Only changed to point tests at a local fake. */
  baseUrl: z.string().url().default('https://api.hubapi.com'),
});
export type HubspotConfig = z.output<typeof hubspotConfigSchema>;

// Sync options per object (Batch.options is a flat string map). Parsed on every write so a
// bad option is a 'config' failure that stops the run, not a row rejection; strict, so a
// misspelt option (companykeyfield) fails loudly instead of being silently ignored.
const crmOptionsSchema = (defaultIdProperty: string) =>
  z.strictObject({
    /** The unique property rows are matched on (HubSpot's idProperty). */
    idProperty: z.string().min(1).default(defaultIdProperty),
  });
const contactOptionsSchema = crmOptionsSchema('email').extend({
  /** Mapped field holding the company's key; when set, each upserted contact is associated with that company. */
  companyKeyField: z.string().min(1).optional(),
  /** Unique company property `companyKeyField` holds (default domain). */
  companyIdProperty: z.string().min(1).default('domain'),
});
const listOptionsSchema = z.strictObject({
  listId: z.string().regex(/^\d+$/, 'listId is the numeric ILS id shown in the list URL'),
  /** 'true' (default): a contact not yet in HubSpot is created (upserted by email) before it is added. */
  createContacts: z.enum(['true', 'false']).default('true'),
});
const OPTIONS = objectOptions(DESTINATION, { contacts: contactOptionsSchema, companies: crmOptionsSchema('domain'), list_memberships: listOptionsSchema });

export default defineDestination({
  type: 'hubspot',
  title: 'HubSpot',
  category: 'crm',
  config: hubspotConfigSchema,
  objects: {
    contacts: {
      key: 'email',
      modes: ['upsert', 'update', 'mirror', 'archive'],
      description:
        'Contacts, upserted by email (option idProperty: another unique contact property). Option companyKeyField names a mapped field holding the company domain (companyIdProperty for another unique company property): the contact is then associated with that company.',
    },
    companies: {
      key: 'domain',
      modes: ['upsert', 'update', 'mirror', 'archive'],
      description: 'Companies, upserted by domain or by the unique property named in option idProperty.',
    },
    list_memberships: {
      key: 'email',
      modes: ['add_remove'],
      requiredOptions: ['listId'],
      description:
        'Membership of a static (MANUAL or SNAPSHOT) contact list. Rows are contacts by email; option createContacts=false adds only contacts that already exist.',
    },
  },
  limits: { batchRows: HUBSPOT_BATCH_LIMIT, requests: { count: 190, perMs: HUBSPOT_WINDOW_MS }, concurrency: 4 },

  async check(ctx) {
    await new HubspotClient(ctx).checkAccess();
  },

  async write(ctx, batch) {
    // The engine sends at most batchRows rows, but a sync may override the batch size:
    // HubSpot refuses >100 inputs, so larger batches are sent in chunks of 100.
    const outcomes: RowOutcome[] = [];
    for (let start = 0; start < batch.rows.length; start += HUBSPOT_BATCH_LIMIT) {
      outcomes.push(...(await writeChunk(ctx, { ...batch, rows: batch.rows.slice(start, start + HUBSPOT_BATCH_LIMIT) })));
    }
    return outcomes;
  },
});

async function writeChunk(ctx: ConnectorContext<HubspotConfig>, batch: Batch): Promise<RowOutcome[]> {
  const client = new HubspotClient(ctx);
  const outcomes = new Outcomes(batch.rows.length);
  if (batch.object === 'contacts' || batch.object === 'companies') {
    const objectType: CrmObjectType = batch.object;
    const options = objectType === 'contacts' ? OPTIONS.parse('contacts', batch) : { ...OPTIONS.parse('companies', batch), companyKeyField: undefined, companyIdProperty: 'domain' };
    const rows = prepareRows(batch.rows, options.idProperty, outcomes, options.companyKeyField);
    if (batch.op === 'upsert') {
      await upsertObjects(client, objectType, options.idProperty, rows, outcomes);
      if (objectType === 'contacts' && options.companyKeyField) await associateCompanies(client, rows, options.companyKeyField, options.companyIdProperty, outcomes);
    } else if (batch.op === 'update') await updateObjects(client, objectType, options.idProperty, rows, outcomes);
    else if (batch.op === 'delete') await archiveObjects(client, objectType, options.idProperty, rows, outcomes);
    else throw OPTIONS.unsupported(batch);
  } else if (batch.object === 'list_memberships') {
    const options = OPTIONS.parse('list_memberships', batch);
    const rows = prepareRows(batch.rows, 'email', outcomes);
    if (batch.op === 'add') await addToList(client, options.listId, options.createContacts === 'true', rows, outcomes);
    else if (batch.op === 'remove') await removeFromList(client, options.listId, rows, outcomes);
    else throw OPTIONS.unsupported(batch);
  } else {
    throw OPTIONS.unknownObject(batch);
  }
  return outcomes.finish();
}

// ----------------------------------------------------------------------------- rows

/** A row ready to send: its position in the batch, normalised key and string properties. */
interface PreparedRow {
  index: number;
  key: string;
  properties: Record<string, string>;
  row: OutboundRow;
}

/** Outcomes by row index; rows never settled are `retry` (HubSpot did not acknowledge them). */
class Outcomes {
  private readonly items: Array<RowOutcome | undefined>;
  constructor(size: number) {
    this.items = new Array<RowOutcome | undefined>(size).fill(undefined);
  }
  set(index: number, outcome: RowOutcome): void {
    this.items[index] = outcome;
  }
  /** Sets only when the row has no outcome yet (the first, most specific answer wins). */
  settle(index: number, outcome: RowOutcome): void {
    if (this.items[index] === undefined) this.items[index] = outcome;
  }
  size(): number {
    return this.items.length;
  }
  get(index: number): RowOutcome | undefined {
    return this.items[index];
  }
  finish(): RowOutcome[] {
    return this.items.map((o) => o ?? retry('HubSpot did not acknowledge this row'));
  }
}

function prepareRows(rows: OutboundRow[], idProperty: string, outcomes: Outcomes, omitField?: string): PreparedRow[] {
  const prepared: PreparedRow[] = [];
  const seen = new Map<string, number>();
  rows.forEach((row, index) => {
    const key = normaliseKey(idProperty, row.key);
    if (key === '') {
      outcomes.set(index, rejected(`empty ${idProperty}`));
      return;
    }
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      // HubSpot refuses a whole batch with duplicate ids; keep the first, explain the other.
      outcomes.set(index, rejected(`same ${idProperty} as row ${earlier + 1} of this batch once compared as HubSpot does (${key})`));
      return;
    }
    seen.set(key, index);
    prepared.push({ index, key, properties: toHubspotProperties(row.fields, omitField), row });
  });
  return prepared;
}

/** HubSpot compares emails and domains case-insensitively; other unique properties are exact. */
export function normaliseKey(idProperty: string, value: string): string {
  return idProperty === 'email' || idProperty === 'domain' ? value.trim().toLowerCase() : value.trim();
}

/** HubSpot types every property value as a string (spec: additionalProperties string). */
export function toHubspotValue(value: FieldValue): string {
  if (value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.map((v) => (v !== null && typeof v === 'object' ? JSON.stringify(v) : v === null ? '' : String(v))).join(';');
  return JSON.stringify(value);
}

function toHubspotProperties(fields: Record<string, FieldValue>, omitField?: string): Record<string, string> {
  const properties: Record<string, string> = {};
  for (const [name, value] of Object.entries(fields)) if (name !== omitField) properties[name] = toHubspotValue(value);
  return properties;
}

function upsertInputs(idProperty: string, rows: PreparedRow[]): UpsertInput[] {
  return rows.map((r) => ({ idProperty, id: r.key, properties: r.properties, objectWriteTraceId: String(r.index) }));
}

/**
 * Maps a batch response to rows: results by objectWriteTraceId (else the idProperty value),
 * errors by the trace ids / ids in their context. Returns each acknowledged row's record id.
 */
function applyBatchResponse(
  response: HubspotBatchResponse,
  rows: PreparedRow[],
  idProperty: string,
  outcomes: Outcomes,
  reasonFor: (error: HubspotStandardError, row: PreparedRow) => RowOutcome,
): Map<number, string> {
  const byTrace = new Map(rows.map((r) => [String(r.index), r]));
  const byKey = new Map(rows.map((r) => [r.key, r]));
  const recordIds = new Map<number, string>();
  const created = new Map<number, boolean>();
  for (const result of response.results) {
    const keyValue = result.properties[idProperty];
    const row = (result.objectWriteTraceId !== undefined ? byTrace.get(result.objectWriteTraceId) : undefined) ?? (keyValue ? byKey.get(normaliseKey(idProperty, keyValue)) : undefined);
    if (!row) continue;
    recordIds.set(row.index, result.id);
    if (result.new !== undefined) created.set(row.index, result.new);
  }
  const unattributed: string[] = [];
  for (const error of response.errors ?? []) {
    const targets = rowsNamedBy(error, byTrace, byKey, idProperty);
    if (targets.length === 0) unattributed.push(hubspotReason(error));
    for (const row of targets) if (!recordIds.has(row.index)) outcomes.settle(row.index, reasonFor(error, row));
  }
  // Upsert results say whether HubSpot created the record (`new`): mirror deletes only those.
  for (const [index, id] of recordIds) {
    const isNew = created.get(index);
    outcomes.settle(index, isNew === undefined ? ok(id) : { status: 'ok', externalId: id, created: isNew });
  }
  if (unattributed.length > 0) {
    // HubSpot reported errors we cannot tie to rows: the rows it did not confirm stay
    // unacknowledged (retry), with its words, rather than being guessed ok or rejected.
    for (const row of rows) outcomes.settle(row.index, retry(`HubSpot did not confirm this row; it reported: ${unattributed.join(' | ')}`));
  }
  return recordIds;
}

function rowsNamedBy(error: HubspotStandardError, byTrace: Map<string, PreparedRow>, byKey: Map<string, PreparedRow>, idProperty: string): PreparedRow[] {
  const context = error.context ?? {};
  const found = new Set<PreparedRow>();
  for (const trace of context.objectWriteTraceId ?? []) {
    const row = byTrace.get(trace);
    if (row) found.add(row);
  }
  for (const id of context.ids ?? []) {
    const row = byKey.get(normaliseKey(idProperty, id));
    if (row) found.add(row);
  }
  return [...found];
}

function recordErrorOutcome(error: HubspotStandardError): RowOutcome {
  return isTransientRecordError(error) ? retry(hubspotReason(error)) : rejected(hubspotReason(error));
}

// ----------------------------------------------------------------------------- CRM objects

async function upsertObjects(client: HubspotClient, objectType: CrmObjectType, idProperty: string, rows: PreparedRow[], outcomes: Outcomes): Promise<Map<number, string>> {
  if (rows.length === 0) return new Map();
  const response = await client.batchUpsert(objectType, upsertInputs(idProperty, rows));
  return applyBatchResponse(response, rows, idProperty, outcomes, recordErrorOutcome);
}

async function updateObjects(client: HubspotClient, objectType: CrmObjectType, idProperty: string, rows: PreparedRow[], outcomes: Outcomes): Promise<void> {
  if (rows.length === 0) return;
  const response = await client.batchUpdate(objectType, upsertInputs(idProperty, rows));
  applyBatchResponse(response, rows, idProperty, outcomes, (error, row) =>
    error.category === 'OBJECT_NOT_FOUND'
      ? rejected(`no HubSpot ${singular(objectType)} has ${idProperty} ${row.key}, and update mode never creates records (HubSpot: ${error.message})`)
      : recordErrorOutcome(error),
  );
}

/**
 * Looks up record ids by key; rows HubSpot does not have are settled `ok` with
 * `missingOutcome` (absent is the goal of a removal), other errors per row.
 */
async function lookUpIds(client: HubspotClient, objectType: CrmObjectType, idProperty: string, rows: PreparedRow[], outcomes: Outcomes, missingOutcome: (row: PreparedRow) => RowOutcome): Promise<Map<number, string>> {
  if (rows.length === 0) return new Map();
  const response = await client.batchRead(objectType, idProperty, rows.map((r) => r.key));
  return applyBatchResponse(response, rows, idProperty, outcomes, (error, row) => (error.category === 'OBJECT_NOT_FOUND' ? missingOutcome(row) : recordErrorOutcome(error)));
}

async function archiveObjects(client: HubspotClient, objectType: CrmObjectType, idProperty: string, rows: PreparedRow[], outcomes: Outcomes): Promise<void> {
  // Settle "not in HubSpot" as ok first: lookUpIds would otherwise mark found rows ok before archiving.
  const found = new Map<number, string>();
  const probe = new Outcomes(outcomes.size());
  const ids = await lookUpIds(client, objectType, idProperty, rows, probe, () => ok());
  for (const row of rows) {
    const id = ids.get(row.index);
    if (id !== undefined) found.set(row.index, id);
    else outcomes.settle(row.index, probe.get(row.index) ?? retry('HubSpot did not answer the lookup for this row'));
  }
  if (found.size === 0) return;
  await client.batchArchive(objectType, [...new Set(found.values())]);
  for (const [index, id] of found) outcomes.settle(index, ok(id));
}

// ----------------------------------------------------------------------------- associations

/**
 * Associates each upserted contact with the company its `companyKeyField` names (HubSpot's
 * default, unlabeled contact→company association). The contact write already succeeded;
 * a row whose company cannot be found or linked is `rejected` with a reason saying so,
 * so the user sees it and the row is sent again (upsert is idempotent) when it changes.
 */
async function associateCompanies(client: HubspotClient, rows: PreparedRow[], companyKeyField: string, companyIdProperty: string, outcomes: Outcomes): Promise<void> {
  const wanted: Array<{ row: PreparedRow; contactId: string; companyKey: string }> = [];
  for (const row of rows) {
    const outcome = outcomes.get(row.index);
    const raw = row.row.fields[companyKeyField];
    if (outcome?.status !== 'ok' || outcome.externalId === undefined || raw === undefined || raw === null) continue;
    const companyKey = normaliseKey(companyIdProperty, toHubspotValue(raw));
    if (companyKey !== '') wanted.push({ row, contactId: outcome.externalId, companyKey });
  }
  if (wanted.length === 0) return;

  const keys = [...new Set(wanted.map((w) => w.companyKey))];
  const lookup = await client.batchRead('companies', companyIdProperty, keys);
  const companyIds = new Map<string, string>();
  for (const company of lookup.results) {
    const value = company.properties[companyIdProperty];
    if (value) companyIds.set(normaliseKey(companyIdProperty, value), company.id);
  }

  const pairs: Array<{ fromId: string; toId: string }> = [];
  for (const w of wanted) {
    const companyId = companyIds.get(w.companyKey);
    if (companyId === undefined) {
      outcomes.set(w.row.index, rejected(`contact saved (id ${w.contactId}), but no HubSpot company has ${companyIdProperty} ${w.companyKey} to associate it with; sync companies first`));
    } else pairs.push({ fromId: w.contactId, toId: companyId });
  }
  if (pairs.length === 0) return;

  const response = await client.associateDefault('contacts', 'companies', pairs);
  const linked = new Set(response.results.map((r) => `${r.from.id}->${r.to.id}`));
  const errorsById = new Map<string, string>();
  for (const error of response.errors ?? []) for (const id of Object.values(error.context ?? {}).flat()) errorsById.set(id, hubspotReason(error));
  for (const w of wanted) {
    const companyId = companyIds.get(w.companyKey);
    if (companyId === undefined || linked.has(`${w.contactId}->${companyId}`)) continue;
    const reason = errorsById.get(w.contactId) ?? errorsById.get(companyId);
    outcomes.set(
      w.row.index,
      reason !== undefined
        ? rejected(`contact saved (id ${w.contactId}), but associating it with company ${companyId} failed: ${reason}`)
        : retry(`contact saved (id ${w.contactId}), but HubSpot did not confirm its association with company ${companyId}`),
    );
  }
}

// ----------------------------------------------------------------------------- lists

/** Contact ids for rows without one: upserted by email (createContacts) or looked up. */
async function resolveContactIds(client: HubspotClient, rows: PreparedRow[], create: boolean, outcomes: Outcomes, missingOutcome: (row: PreparedRow) => RowOutcome): Promise<Map<number, string>> {
  if (rows.length === 0) return new Map();
  const scratch = new Outcomes(outcomes.size());
  const ids = create ? await upsertObjects(client, 'contacts', 'email', rows, scratch) : await lookUpIds(client, 'contacts', 'email', rows, scratch, missingOutcome);
  // Only failures carry over; successes are settled after the list call confirms them.
  for (const row of rows) if (!ids.has(row.index)) outcomes.settle(row.index, scratch.get(row.index) ?? retry('HubSpot did not return this contact'));
  return ids;
}

async function addToList(client: HubspotClient, listId: string, create: boolean, rows: PreparedRow[], outcomes: Outcomes): Promise<void> {
  const notFound = (row: PreparedRow) => rejected(`no HubSpot contact has email ${row.key}; this list sync adds only existing contacts (createContacts: false)`);
  const ids = new Map<number, string>();
  for (const row of rows) if (row.row.externalId) ids.set(row.index, row.row.externalId);
  for (const [index, id] of await resolveContactIds(client, rows.filter((r) => !r.row.externalId), create, outcomes, notFound)) ids.set(index, id);
  if (ids.size === 0) return;

  const missing = new Set((await client.addToList(listId, [...new Set(ids.values())])).recordIdsMissing);
  // A remembered id can be stale (the contact was deleted or merged): resolve those rows by email once more.
  const stale = rows.filter((r) => r.row.externalId !== undefined && missing.has(r.row.externalId));
  const retried = new Map<number, string>();
  if (stale.length > 0) {
    for (const row of stale) ids.delete(row.index);
    const fresh = await resolveContactIds(client, stale, create, outcomes, notFound);
    if (fresh.size > 0) {
      const missingAgain = new Set((await client.addToList(listId, [...new Set(fresh.values())])).recordIdsMissing);
      for (const [index, id] of fresh) {
        if (missingAgain.has(id)) outcomes.settle(index, retry(`HubSpot reported contact ${id} missing while adding it to list ${listId}`));
        else retried.set(index, id);
      }
    }
  }
  for (const [index, id] of ids) {
    if (missing.has(id)) outcomes.settle(index, retry(`HubSpot reported contact ${id} missing while adding it to list ${listId}`));
    else outcomes.settle(index, ok(id));
  }
  for (const [index, id] of retried) outcomes.settle(index, ok(id));
}

async function removeFromList(client: HubspotClient, listId: string, rows: PreparedRow[], outcomes: Outcomes): Promise<void> {
  // A contact HubSpot does not have is not in the list: removal already holds.
  const absent = () => ok();
  const ids = new Map<number, string>();
  for (const row of rows) if (row.row.externalId) ids.set(row.index, row.row.externalId);
  for (const [index, id] of await resolveContactIds(client, rows.filter((r) => !r.row.externalId), false, outcomes, absent)) ids.set(index, id);
  if (ids.size === 0) return;

  const missing = new Set((await client.removeFromList(listId, [...new Set(ids.values())])).recordIdsMissing);
  // A stale remembered id: the person may live on under another id (merge), so look the email up.
  const stale = rows.filter((r) => r.row.externalId !== undefined && missing.has(r.row.externalId));
  for (const row of stale) ids.delete(row.index);
  const fresh = await resolveContactIds(client, stale, false, outcomes, absent);
  if (fresh.size > 0) await client.removeFromList(listId, [...new Set(fresh.values())]);
  for (const [index, id] of [...ids, ...fresh]) outcomes.settle(index, ok(id));
}

// ----------------------------------------------------------------------------- helpers

function singular(objectType: CrmObjectType): string {
  return objectType === 'contacts' ? 'contact' : 'company';
}
