/**
 * The Salesforce destination (issue 9): contacts, leads and accounts upserted by an
 * external id field — through sObject Collections (≤200 records a call) for small batches
 * and a Bulk API 2.0 ingest job for large ones — deleted through Collections in mirror
 * mode, with the contact → account relation for B2B (a contact names its account by the
 * account's external id, so people who change company follow it on the next run).
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
 *  - two rows with the same external id in one batch are not both sent (the later is rejected).
 */
import { z } from 'zod';
import { ConnectorError, defineDestination, ok, rejected, retry, secret, type Batch, type ConnectorContext, type FieldValue, type OutboundRow, type RowOutcome } from '../kit';
import { bulkErrorCode, COLLECTION_LIMIT, DESTINATION, recordErrorText, SalesforceClient, TRANSIENT_RECORD_ERRORS, type SaveResult } from './client';
import { csvRecords, toCsv } from './csv';

export { resetSalesforceCaches, parseLimitInfo } from './client';
export { parseCsv, toCsv } from './csv';

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
});
type Options = z.output<typeof optionsSchema>;
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

async function upsertByCollections(client: SalesforceClient, sobject: string, options: Options, rows: Prepared[], outcomes: RowOutcome[]): Promise<void> {
  for (let i = 0; i < rows.length; i += COLLECTION_LIMIT) {
    const chunk = rows.slice(i, i + COLLECTION_LIMIT);
    const results = await client.upsertCollection(sobject, options.externalIdField, chunk.map((r) => r.record));
    // Collections answer in request order.
    chunk.forEach((row, k) => (outcomes[row.index] = recordOutcome(results[k]!)));
  }
}

/** CSV of the rows: the union of their columns; relationship objects become `Account.Field`; null → #N/A. */
function bulkCsv(rows: Prepared[]): string {
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

async function upsertByBulk(client: SalesforceClient, sobject: string, options: Options, rows: Prepared[], outcomes: RowOutcome[]): Promise<void> {
  const job = await client.createUpsertJob(sobject, options.externalIdField);
  await client.uploadCsv(job.id, bulkCsv(rows));
  await client.setJobState(job.id, 'UploadComplete');
  const done = await client.waitForJob(job.id);
  if (!done) {
    // Not finished in time: the job may still land, and resending an upsert is harmless.
    await client.setJobState(job.id, 'Aborted').catch(() => undefined);
    for (const r of rows) outcomes[r.index] = retry(`bulk job ${job.id} did not finish within bulkTimeoutMs; sent again next attempt`);
    return;
  }
  const byKey = new Map(rows.map((r) => [r.key, r]));
  const ext = options.externalIdField;
  // Results come back in any order: match them by external id (destinations.md §2).
  for (const line of csvRecords(await client.results(job.id, 'successfulResults'))) {
    const row = byKey.get(line[ext] ?? '');
    if (row) outcomes[row.index] = { status: 'ok', externalId: line.sf__Id!, created: line.sf__Created === 'true' };
  }
  for (const line of csvRecords(await client.results(job.id, 'failedResults'))) {
    const row = byKey.get(line[ext] ?? '');
    if (!row) continue;
    const error = line.sf__Error ?? 'failed without a reason';
    outcomes[row.index] = TRANSIENT_RECORD_ERRORS.has(bulkErrorCode(error)) ? retry(error) : rejected(error);
  }
  for (const line of csvRecords(await client.results(job.id, 'unprocessedrecords'))) {
    const row = byKey.get(line[ext] ?? '');
    if (row) outcomes[row.index] = retry(`Salesforce did not process this row (bulk job ${job.id} ${done.state}${done.errorMessage ? `: ${done.errorMessage}` : ''})`);
  }
  for (const r of rows) outcomes[r.index] ??= retry(`bulk job ${job.id} (${done.state}) reported nothing for this row`);
}

async function deleteRecords(client: SalesforceClient, sobject: string, options: Options, batch: Batch, outcomes: RowOutcome[]): Promise<void> {
  const ids = new Map<number, string>();
  for (const [index, row] of batch.rows.entries()) {
    const id = row.externalId ?? (await client.findId(sobject, options.externalIdField, row.key));
    // Not in Salesforce: the removal already holds.
    if (id === undefined) outcomes[index] = ok();
    else ids.set(index, id);
  }
  const entries = [...ids];
  for (let i = 0; i < entries.length; i += COLLECTION_LIMIT) {
    const chunk = entries.slice(i, i + COLLECTION_LIMIT);
    const results = await client.deleteCollection(chunk.map(([, id]) => id));
    chunk.forEach(([index, id], k) => {
      const result = results[k]!;
      const gone = result.errors.some((e) => ['ENTITY_IS_DELETED', 'INVALID_CROSS_REFERENCE_KEY', 'INVALID_ID_FIELD'].includes(e.statusCode ?? e.errorCode ?? ''));
      outcomes[index] = result.success || gone ? ok(id) : recordOutcome(result);
    });
  }
}

export default defineDestination({
  type: 'salesforce',
  title: 'Salesforce',
  category: 'crm',
  config: salesforceConfigSchema,
  objects: {
    contacts: { key: 'External_Id__c', modes: ['upsert', 'mirror'], description: 'Contacts by external id. Option accountKeyField: a mapped field holding the account external id, linking the contact to that account.' },
    leads: { key: 'External_Id__c', modes: ['upsert', 'mirror'], description: 'Leads by external id (LastName and Company are required by Salesforce).' },
    accounts: { key: 'External_Id__c', modes: ['upsert', 'mirror'], description: 'Accounts by external id (Name is required).' },
  },
  // A batch is one Bulk job (10,000 records is one internal Bulk batch) or ≤50 Collections calls.
  limits: { batchRows: 10_000, concurrency: 2, requests: { count: 20, perMs: 1_000 } },

  async check(ctx) {
    await new SalesforceClient(ctx).limits();
  },

  async write(ctx: Ctx, batch) {
    const sobject = SOBJECT[batch.object];
    if (!sobject) throw new ConnectorError(DESTINATION, 'config', `unknown object ${batch.object}`, { hint: 'use contacts, leads or accounts' });
    const parsed = optionsSchema.safeParse(batch.options ?? {});
    if (!parsed.success) throw new ConnectorError(DESTINATION, 'config', `bad options for ${batch.object}: ${parsed.error.issues[0]?.path.join('.') ?? ''} ${parsed.error.issues[0]?.message ?? ''}`, { hint: 'see connectors/salesforce/README.md' });
    const options = parsed.data;
    const client = new SalesforceClient(ctx);
    const outcomes: RowOutcome[] = new Array(batch.rows.length);
    if (batch.op === 'delete') await deleteRecords(client, sobject, options, batch, outcomes);
    else if (batch.op === 'upsert') {
      const rows = prepare(batch, options, outcomes);
      if (rows.length > options.bulkThreshold) await upsertByBulk(client, sobject, options, rows, outcomes);
      else if (rows.length > 0) await upsertByCollections(client, sobject, options, rows, outcomes);
    } else throw new ConnectorError(DESTINATION, 'config', `${batch.object} does not support ${batch.op}`, { hint: 'use mode upsert or mirror' });
    return outcomes;
  },
});
