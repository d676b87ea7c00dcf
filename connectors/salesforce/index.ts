/**
 * The Salesforce destination (issue 9): contacts, leads and accounts by an external id field
 * — upserted (upsert, mirror), created (insert) or changed only when they exist (update) —
 * through sObject Collections (≤200 records a call) for small batches and a Bulk API 2.0
 * ingest job for large ones; removed (mirror, archive) through Collections delete, or a Bulk
 * `delete` / `hardDelete` job for large batches or option `removal: hardDelete`; with the
 * contact → account relation for B2B (a contact names its account by the account's external
 * id, so people who change company follow it on the next run).
 *
 * Invariants:
 *  - one outcome per row, in order; `ok` only for a row Salesforce reported saved (a
 *    Collections result in request order, or a Bulk `successfulResults` line matched by
 *    external id — Bulk does not keep row order); per-record errors become `rejected` with
 *    Salesforce's code and message, or `retry` for lock/timeout codes; Bulk
 *    `unprocessedrecords`, rows missing from every result and a job that did not finish in
 *    `bulkTimeoutMs` are `retry` (an upsert by external id is idempotent, so resending is safe);
 *  - `ok.externalId` is the Salesforce record id and `created` its `created` flag, so mirror
 *    deletes only records this sync created and needs no lookup;
 *  - two rows with the same external id in one batch are not both sent (the later is rejected);
 *  - update never creates: a row whose external id Salesforce does not hold is `rejected`;
 *    a removal of a record Salesforce no longer holds is `ok` (absent is the goal).
 */
import { z } from 'zod';
import { csvRecords, defineDestination, objectOptions, ok, rejected, retry, secret, toCsv, type Batch, type ConnectorContext, type FieldValue, type OutboundRow, type RowOutcome } from '../kit';
import { bulkErrorCode, COLLECTION_LIMIT, DESTINATION, recordErrorText, SalesforceClient, TRANSIENT_RECORD_ERRORS, type BulkOperation, type SaveResult } from './client';

export { resetSalesforceCaches, parseLimitInfo } from './client';

export const salesforceConfigSchema = z.object({
  /** The org's instance URL (https://yourorg.my.salesforce.com); taken from the token answer when omitted. */
  baseUrl: z.string().url().optional(),
  apiVersion: z.string().regex(/^\d+\.\d$/).default('62.0'),
  /** A session token (expires); prefer the refresh-token flow below. */
  accessToken: secret().optional(),
  /** Connected app consumer key and secret, and a refresh token from the OAuth web-server flow. */
  clientId: z.string().optional(),
  clientSecret: secret().optional(),
  refreshToken: secret().optional(),
  tokenUrl: z.string().url().default('https://login.salesforce.com/services/oauth2/token'),
  bulkPollIntervalMs: z.number().int().positive().default(2_000),
  bulkTimeoutMs: z.number().int().positive().default(10 * 60_000),
  /** Wait after REQUEST_LIMIT_EXCEEDED (Salesforce sends no Retry-After). */
  requestLimitWaitMs: z.number().int().nonnegative().default(60_000),
}).refine((c) => c.accessToken !== undefined || (c.refreshToken !== undefined && c.clientId !== undefined), { message: 'give accessToken, or clientId + refreshToken (and clientSecret) for the refresh-token flow' });
export type SalesforceConfig = z.output<typeof salesforceConfigSchema>;

const SOBJECT: Record<string, string> = { contacts: 'Contact', leads: 'Lead', accounts: 'Account' };

const optionsSchema = z.strictObject({
  /** The external id field rows are matched on (must be marked External ID in Salesforce). */
  externalIdField: z.string().regex(/^\w+$/).default('External_Id__c'),
  /** contacts only: the mapped field holding the contact's account's external id. */
  accountKeyField: z.string().min(1).optional(),
  /** The Account external id field that value is matched on. */
  accountExternalIdField: z.string().regex(/^\w+$/).default('External_Id__c'),
  /** Batches with more rows than this go through a Bulk API 2.0 job (Salesforce suggests 2,000). */
  bulkThreshold: z.coerce.number().int().min(0).default(2_000),
  /** What a removal does: `delete` (to the recycle bin) or `hardDelete` (Bulk only; needs the "Bulk API Hard Delete" permission). */
  removal: z.enum(['delete', 'hardDelete']).default('delete'),
});
type Options = z.output<typeof optionsSchema>;
const OPTIONS = objectOptions(DESTINATION, { contacts: optionsSchema, leads: optionsSchema, accounts: optionsSchema }, { unsupported: 'use mode upsert, update, insert, mirror or archive' });
type Ctx = ConnectorContext<SalesforceConfig>;

interface Prepared {
  index: number;
  key: string;
  record: Record<string, FieldValue>;
}

/** Salesforce field values: JSON types as they are; arrays are multi-select picklists (';'). */
function sfValue(value: FieldValue): string | number | boolean | null {
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.map((v) => (v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v))).join(';');
  return JSON.stringify(value);
}

function prepare(batch: Batch, options: Options, outcomes: RowOutcome[]): Prepared[] {
  const seen = new Map<string, number>();
  const prepared: Prepared[] = [];
  batch.rows.forEach((row: OutboundRow, index) => {
    const key = row.key.trim();
    if (key === '') return void (outcomes[index] = rejected(`empty ${options.externalIdField}`));
    const earlier = seen.get(key);
    if (earlier !== undefined) return void (outcomes[index] = rejected(`same ${options.externalIdField} as row ${earlier + 1} of this batch`));
    seen.set(key, index);
    const record: Record<string, FieldValue> = { [options.externalIdField]: key };
    for (const [name, value] of Object.entries(row.fields)) if (name !== options.accountKeyField && name !== options.externalIdField) record[name] = sfValue(value);
    if (options.accountKeyField && batch.object === 'contacts' && options.accountKeyField in row.fields) {
      const account = row.fields[options.accountKeyField];
      // A relationship by external id: Salesforce resolves it, so a person who changed company follows.
      if (account === null || account === undefined || String(account).trim() === '') record.AccountId = null;
      else record.Account = { [options.accountExternalIdField]: String(account).trim() };
    }
    prepared.push({ index, key, record });
  });
  return prepared;
}

function recordOutcome(result: SaveResult): RowOutcome {
  if (result.success && result.id) return result.created === undefined ? ok(result.id) : { status: 'ok', externalId: result.id, created: result.created };
  if (result.success) return retry('Salesforce reported success without a record id');
  const transient = result.errors.some((e) => TRANSIENT_RECORD_ERRORS.has(e.statusCode ?? e.errorCode ?? ''));
  return transient ? retry(recordErrorText(result.errors)) : rejected(recordErrorText(result.errors));
}

/** Writes prepared rows in Collections calls of ≤200: results come back in request order. */
async function byCollections<R>(rows: R[], call: (chunk: R[]) => Promise<SaveResult[]>, settle: (row: R, result: SaveResult) => void): Promise<void> {
  for (let i = 0; i < rows.length; i += COLLECTION_LIMIT) {
    const chunk = rows.slice(i, i + COLLECTION_LIMIT);
    const results = await call(chunk);
    chunk.forEach((row, k) => settle(row, results[k]!));
  }
}

/** CSV of the rows: the union of their columns; relationship objects become `Account.Field`; null → #N/A. */
function bulkCsv(rows: Array<{ record: Record<string, FieldValue> }>): string {
  const flat = rows.map((r) => {
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(r.record)) {
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) for (const [f, v] of Object.entries(value)) out[`${name}.${f}`] = String(v);
      else out[name] = value === null ? '#N/A' : String(value);
    }
    return out;
  });
  const header = [...new Set(flat.flatMap((r) => Object.keys(r)))];
  return toCsv(header, flat.map((r) => header.map((h) => r[h] ?? '')));
}

/**
 * One Bulk 2.0 job for the rows: `matchColumn` is the CSV column results are matched back by
 * (Bulk does not keep row order) — the external id for upsert/insert, `Id` for deletes.
 * `onFailed` maps a failed line's error (deletes treat "already gone" as done).
 */
async function byBulk(client: SalesforceClient, sobject: string, operation: BulkOperation, options: Options, rows: Array<{ index: number; match: string; record: Record<string, FieldValue> }>, outcomes: RowOutcome[], onFailed: (error: string) => RowOutcome): Promise<void> {
  const matchColumn = operation === 'delete' || operation === 'hardDelete' ? 'Id' : options.externalIdField;
  const job = await client.createJob(sobject, operation, operation === 'upsert' ? options.externalIdField : undefined);
  await client.uploadCsv(job.id, bulkCsv(rows));
  await client.setJobState(job.id, 'UploadComplete');
  const done = await client.waitForJob(job.id);
  if (!done) {
    // Not finished in time: the job may still land, and resending is harmless (upsert and delete are idempotent).
    await client.setJobState(job.id, 'Aborted').catch(() => undefined);
    for (const r of rows) outcomes[r.index] = retry(`bulk job ${job.id} did not finish within bulkTimeoutMs; sent again next attempt`);
    return;
  }
  const byMatch = new Map(rows.map((r) => [r.match, r]));
  for (const line of csvRecords(await client.results(job.id, 'successfulResults'))) {
    const row = byMatch.get(line[matchColumn] ?? '');
    if (row) outcomes[row.index] = operation === 'upsert' || operation === 'insert' ? { status: 'ok', externalId: line.sf__Id!, created: operation === 'insert' || line.sf__Created === 'true' } : ok(line.sf__Id || row.match);
  }
  for (const line of csvRecords(await client.results(job.id, 'failedResults'))) {
    const row = byMatch.get(line[matchColumn] ?? '');
    if (row) outcomes[row.index] = onFailed(line.sf__Error ?? 'failed without a reason');
  }
  for (const line of csvRecords(await client.results(job.id, 'unprocessedrecords'))) {
    const row = byMatch.get(line[matchColumn] ?? '');
    if (row) outcomes[row.index] = retry(`Salesforce did not process this row (bulk job ${job.id} ${done.state}${done.errorMessage ? `: ${done.errorMessage}` : ''})`);
  }
  for (const r of rows) outcomes[r.index] ??= retry(`bulk job ${job.id} (${done.state}) reported nothing for this row`);
}

const bulkRecordOutcome = (error: string): RowOutcome => (TRANSIENT_RECORD_ERRORS.has(bulkErrorCode(error)) ? retry(error) : rejected(error));

async function upsertRecords(client: SalesforceClient, sobject: string, options: Options, rows: Prepared[], outcomes: RowOutcome[]): Promise<void> {
  if (rows.length > options.bulkThreshold) return byBulk(client, sobject, 'upsert', options, rows.map((r) => ({ ...r, match: r.key })), outcomes, bulkRecordOutcome);
  await byCollections(rows, (chunk) => client.upsertCollection(sobject, options.externalIdField, chunk.map((r) => r.record)), (row, result) => (outcomes[row.index] = recordOutcome(result)));
}

/** Insert mode: created, never matched; a second row with a taken external id is Salesforce's DUPLICATE_VALUE. */
async function insertRecords(client: SalesforceClient, sobject: string, options: Options, rows: Prepared[], outcomes: RowOutcome[]): Promise<void> {
  if (rows.length > options.bulkThreshold) return byBulk(client, sobject, 'insert', options, rows.map((r) => ({ ...r, match: r.key })), outcomes, bulkRecordOutcome);
  await byCollections(rows, (chunk) => client.createCollection(sobject, chunk.map((r) => r.record)), (row, result) => (outcomes[row.index] = recordOutcome({ ...result, created: result.success ? true : result.created })));
}

/**
 * Update mode: only records Salesforce already holds. The record id comes from an earlier run
 * (`row.externalId`) or a lookup by external id; a row with neither is rejected, never created.
 * Relationship fields (Account by external id) work in updates as in upserts.
 */
async function updateRecords(client: SalesforceClient, sobject: string, options: Options, rows: Prepared[], batch: Batch, outcomes: RowOutcome[]): Promise<void> {
  const unknown = rows.filter((r) => !batch.rows[r.index]!.externalId);
  const ids = unknown.length ? await client.findIds(sobject, options.externalIdField, unknown.map((r) => r.key)) : new Map<string, string>();
  const withId: Array<Prepared & { id: string }> = [];
  for (const r of rows) {
    const id = batch.rows[r.index]!.externalId ?? ids.get(r.key);
    if (id) withId.push({ ...r, id });
    else outcomes[r.index] = rejected(`no ${sobject} has ${options.externalIdField} ${r.key}, and update mode never creates records`);
  }
  await byCollections(
    withId,
    (chunk) => client.updateCollection(sobject, chunk.map((r) => ({ ...r.record, id: r.id }))),
    (row, result) => {
      const gone = !result.success && result.errors.some((e) => ['ENTITY_IS_DELETED', 'INVALID_CROSS_REFERENCE_KEY'].includes(e.statusCode ?? e.errorCode ?? ''));
      outcomes[row.index] = gone ? rejected(`${sobject} ${row.id} (${options.externalIdField} ${row.key}) no longer exists, and update mode never creates records`) : recordOutcome({ ...result, id: result.id ?? row.id, created: false });
    },
  );
}

const ALREADY_GONE = ['ENTITY_IS_DELETED', 'INVALID_CROSS_REFERENCE_KEY', 'INVALID_ID_FIELD'];

/**
 * Removals (mirror, archive): by the record id remembered from the write, else looked up by
 * external id. Collections delete (≤200 ids a call, to the recycle bin) for small batches; a
 * Bulk `delete` job above `bulkThreshold`, and always a Bulk `hardDelete` job when option
 * removal is hardDelete (Collections cannot hard-delete).
 */
async function deleteRecords(client: SalesforceClient, sobject: string, options: Options, batch: Batch, outcomes: RowOutcome[]): Promise<void> {
  const unknown = batch.rows.filter((r) => !r.externalId).map((r) => r.key.trim()).filter((k) => k !== '');
  const found = unknown.length ? await client.findIds(sobject, options.externalIdField, unknown) : new Map<string, string>();
  const seen = new Map<string, number>();
  const targets: Array<{ index: number; match: string; record: Record<string, FieldValue> }> = [];
  batch.rows.forEach((row, index) => {
    const id = row.externalId ?? found.get(row.key.trim());
    // Not in Salesforce: the removal already holds.
    if (id === undefined) return void (outcomes[index] = ok());
    const earlier = seen.get(id);
    if (earlier !== undefined) return void (outcomes[index] = ok(id));
    seen.set(id, index);
    targets.push({ index, match: id, record: { Id: id } });
  });
  if (targets.length === 0) return;
  if (options.removal === 'hardDelete' || targets.length > options.bulkThreshold) {
    return byBulk(client, sobject, options.removal, options, targets, outcomes, (error) => (ALREADY_GONE.includes(bulkErrorCode(error)) ? ok() : bulkRecordOutcome(error)));
  }
  await byCollections(
    targets,
    (chunk) => client.deleteCollection(chunk.map((t) => t.match)),
    (target, result) => {
      const gone = result.errors.some((e) => ALREADY_GONE.includes(e.statusCode ?? e.errorCode ?? ''));
      outcomes[target.index] = result.success || gone ? ok(target.match) : recordOutcome(result);
    },
  );
}

const MODES = ['upsert', 'update', 'insert', 'mirror', 'archive'] as const;

export default defineDestination({
  type: 'salesforce',
  title: 'Salesforce',
  category: 'crm',
  config: salesforceConfigSchema,
  objects: {
    contacts: { key: 'External_Id__c', modes: MODES, description: 'Contacts by external id. Option accountKeyField: a mapped field holding the account external id, linking the contact to that account.' },
    leads: { key: 'External_Id__c', modes: MODES, description: 'Leads by external id (LastName and Company are required by Salesforce).' },
    accounts: { key: 'External_Id__c', modes: MODES, description: 'Accounts by external id (Name is required).' },
  },
  // A batch is one Bulk job (10,000 records is one internal Bulk batch) or ≤50 Collections calls.
  limits: { batchRows: 10_000, concurrency: 2, requests: { count: 20, perMs: 1_000 } },

  async check(ctx) {
    await new SalesforceClient(ctx).limits();
  },

  async write(ctx: Ctx, batch) {
    const sobject = SOBJECT[batch.object];
    if (!sobject) throw OPTIONS.unknownObject(batch);
    if (!['upsert', 'insert', 'update', 'delete'].includes(batch.op)) throw OPTIONS.unsupported(batch);
    const options = OPTIONS.parse(batch.object as 'contacts', batch);
    const client = new SalesforceClient(ctx);
    const outcomes: RowOutcome[] = new Array(batch.rows.length);
    if (batch.op === 'delete') {
      await deleteRecords(client, sobject, options, batch, outcomes);
      return outcomes;
    }
    const rows = prepare(batch, options, outcomes);
    if (rows.length === 0) return outcomes;
    if (batch.op === 'upsert') await upsertRecords(client, sobject, options, rows, outcomes);
    else if (batch.op === 'insert') await insertRecords(client, sobject, options, rows, outcomes);
    else await updateRecords(client, sobject, options, rows, batch, outcomes);
    return outcomes;
  },
});
