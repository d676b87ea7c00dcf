/**
 * The Customer.io destination (issue 8): people identified (created or updated) and deleted
 * through the Track API v2 batch endpoint, and manual segment membership add/remove
 * (1,000 ids a request).
 *
 * Invariants:
 *  - one outcome per row, in order; a 207's `errors[].batch_index` (an index into the batch
 *    we sent) rejects exactly that row with Customer.io's message, every other row is ok;
 *  - requests stay under Customer.io's limits: at most 500 KB a request (rows are packed by
 *    size, not count) and 32 KB an object (a bigger row is rejected here, not sent);
 *  - consent: the connector never sends `unsubscribed: false`. Withdrawn `email_consent`
 *    sends `unsubscribed: true`; granted leaves the attribute alone — so whoever
 *    unsubscribed (through a sync or a Customer.io link) is never re-subscribed;
 *  - people removals (mirror/archive) delete the person in Customer.io.
 */
import { z } from 'zod';
import { ConnectorError, defineDestination, normalizeEmail, objectOptions, ok, rejected, retry, secret, type Batch, type ConnectorContext, type FieldValue, type RowOutcome } from '../kit';
import { CIO_BATCH_BYTES, CIO_OBJECT_BYTES, CIO_SEGMENT_LIMIT, CustomerioClient, DESTINATION, type CioBatchItem, type CioIdentifiers } from './client';

export const customerioConfigSchema = z.object({
  /** Track API site id (Settings → Workspace Settings → API Credentials). */
  siteId: z.string().min(1),
  /** Track API key paired with the site id. */
  apiKey: secret(),
  /** The account's data center: track.customer.io (us) or track-eu.customer.io (eu). */
  region: z.enum(['us', 'eu']).default('us'),
  /** Only set to point tests at a local fake. */
  baseUrl: z.string().url().optional(),
});
export type CustomerioConfig = z.output<typeof customerioConfigSchema>;

const peopleOptionsSchema = z.strictObject({ idType: z.enum(['id', 'email']).default('id') });
const segmentOptionsSchema = z.strictObject({
  segmentId: z.string().regex(/^\d+$/, 'segmentId is the number in the manual segment URL'),
  idType: z.enum(['id', 'email']).default('id'),
});
const OPTIONS = objectOptions(DESTINATION, { people: peopleOptionsSchema, segment_members: segmentOptionsSchema }, { options: 'fix object_options in the sync file' });

const WITHDRAWN = new Set(['false', '0', 'no', 'n', 'denied', 'withdrawn', 'revoked', 'opted_out', 'unsubscribed', '']);
const GRANTED = new Set(['true', '1', 'yes', 'y', 'granted', 'opted_in', 'subscribed']);
/** Room for `{"batch":[` and commas, so the packed request stays under 500 KB. */
const ENVELOPE_BYTES = 64;

export default defineDestination({
  type: 'customerio',
  title: 'Customer.io',
  category: 'email',
  config: customerioConfigSchema,
  objects: {
    people: {
      key: 'id',
      modes: ['upsert', 'mirror', 'archive'],
      description: 'People by id (or email with option idType: email); mapped fields are attributes, null removes one. email_consent (true/false) sets unsubscribed when withdrawn. Removals delete the person.',
    },
    segment_members: {
      key: 'id',
      modes: ['add_remove'],
      requiredOptions: ['segmentId'],
      description: 'Membership of a manual segment (option segmentId; idType id or email). Only people Customer.io has are added.',
    },
  },
  limits: { batchRows: CIO_SEGMENT_LIMIT, requests: { count: 100, perMs: 1000 }, concurrency: 4 },

  async check(ctx) {
    const region = await new CustomerioClient(ctx).region();
    if (region.data_center !== ctx.config.region) {
      throw new ConnectorError(DESTINATION, 'config', `the workspace is in the ${region.data_center.toUpperCase()} data center, the config says region: ${ctx.config.region}`, { hint: `set region: ${region.data_center} in destinations.yml` });
    }
  },

  async write(ctx, batch) {
    if (batch.object === 'people') return writePeople(ctx, batch);
    if (batch.object === 'segment_members') return writeSegment(ctx, batch);
    throw OPTIONS.unknownObject(batch);
  },
});


/** Consent fields → `unsubscribed: true`, nothing, or a rejection. */
export function customerioConsent(fields: Record<string, FieldValue>): { unsubscribed?: true } | { error: string } {
  if ('unsubscribed' in fields) {
    if (fields.unsubscribed === true || String(fields.unsubscribed).toLowerCase() === 'true') return { unsubscribed: true };
    return { error: `unsubscribed '${String(fields.unsubscribed)}' is not sent: cdp never re-subscribes people in Customer.io — map email_consent (true/false) instead` };
  }
  if (!('email_consent' in fields)) return {};
  const consent = fields.email_consent;
  if (consent === true) return {};
  if (consent === null || consent === false) return { unsubscribed: true };
  const text = String(consent).trim().toLowerCase();
  if (GRANTED.has(text)) return {};
  if (WITHDRAWN.has(text)) return { unsubscribed: true };
  return { error: `email_consent '${String(consent)}' is neither a yes nor a no (use true/false)` };
}

function identifiersOf(key: string, idType: 'id' | 'email'): CioIdentifiers | { error: string } {
  if (idType === 'id') return key.trim() === '' ? { error: 'empty id' } : { id: key.trim() };
  const email = normalizeEmail(key);
  return email === null ? { error: `'${key}' is not a valid email address` } : { email };
}

async function writePeople(ctx: ConnectorContext<CustomerioConfig>, batch: Batch): Promise<RowOutcome[]> {
  const { idType } = OPTIONS.parse('people', batch);
  if (batch.op !== 'upsert' && batch.op !== 'delete') throw OPTIONS.unsupported(batch);
  const outcomes = new Array<RowOutcome | undefined>(batch.rows.length).fill(undefined);
  const items: Array<{ index: number; item: CioBatchItem; bytes: number }> = [];
  const seen = new Map<string, number>();
  batch.rows.forEach((row, index) => {
    const identifiers = identifiersOf(row.key, idType);
    if ('error' in identifiers) return void (outcomes[index] = rejected(identifiers.error));
    const id = 'id' in identifiers ? identifiers.id : identifiers.email;
    const earlier = seen.get(id);
    if (earlier !== undefined) return void (outcomes[index] = rejected(`same ${idType} as row ${earlier + 1} of this batch`));
    seen.set(id, index);
    let item: CioBatchItem;
    if (batch.op === 'delete') item = { type: 'person', identifiers, action: 'delete' };
    else {
      const consent = customerioConsent(row.fields);
      if ('error' in consent) return void (outcomes[index] = rejected(consent.error));
      const attributes: Record<string, unknown> = {};
      for (const [name, value] of Object.entries(row.fields)) if (name !== 'email_consent' && name !== 'unsubscribed' && name !== 'id') attributes[name] = value;
      if (consent.unsubscribed) attributes.unsubscribed = true;
      item = { type: 'person', identifiers, action: 'identify', attributes };
    }
    const bytes = Buffer.byteLength(JSON.stringify(item));
    if (bytes > CIO_OBJECT_BYTES) return void (outcomes[index] = rejected(`the person's data is ${Math.ceil(bytes / 1024)} KB; Customer.io takes at most 32 KB per person`));
    items.push({ index, item, bytes });
  });

  const client = new CustomerioClient(ctx);
  // Pack by size: Customer.io refuses a request over 500 KB as a whole.
  let start = 0;
  while (start < items.length) {
    let end = start;
    let size = ENVELOPE_BYTES;
    while (end < items.length && size + items[end]!.bytes + 1 <= CIO_BATCH_BYTES) size += items[end++]!.bytes + 1;
    const chunk = items.slice(start, end);
    let response;
    try {
      response = await client.batch(chunk.map((c) => c.item));
    } catch (error) {
      // Earlier chunks were acknowledged: keep them, retry this one and the rest.
      if (error instanceof ConnectorError && error.retryable && start > 0) {
        for (const c of items.slice(start)) outcomes[c.index] = retry(error.message, error.retryAfterMs);
        break;
      }
      throw error;
    }
    const failed = new Map((response.errors ?? []).map((e) => [e.batch_index, [e.field, e.message].filter(Boolean).join(': ')]));
    chunk.forEach((c, position) => {
      const reason = failed.get(position);
      outcomes[c.index] = reason === undefined ? ok() : rejected(reason);
    });
    start = end;
  }
  return outcomes.map((o) => o ?? retry('Customer.io did not acknowledge this row'));
}

async function writeSegment(ctx: ConnectorContext<CustomerioConfig>, batch: Batch): Promise<RowOutcome[]> {
  const { segmentId, idType } = OPTIONS.parse('segment_members', batch);
  if (batch.op !== 'add' && batch.op !== 'remove') throw OPTIONS.unsupported(batch);
  const outcomes = new Array<RowOutcome | undefined>(batch.rows.length).fill(undefined);
  const ids: Array<{ index: number; id: string }> = [];
  batch.rows.forEach((row, index) => {
    const identifiers = identifiersOf(row.key, idType);
    if ('error' in identifiers) outcomes[index] = rejected(identifiers.error);
    else ids.push({ index, id: 'id' in identifiers ? identifiers.id : identifiers.email });
  });
  const client = new CustomerioClient(ctx);
  for (let start = 0; start < ids.length; start += CIO_SEGMENT_LIMIT) {
    const chunk = ids.slice(start, start + CIO_SEGMENT_LIMIT);
    try {
      await client.segment(segmentId, batch.op, idType, [...new Set(chunk.map((c) => c.id))]);
    } catch (error) {
      if (error instanceof ConnectorError && error.retryable && start > 0) {
        for (const c of ids.slice(start)) outcomes[c.index] = retry(error.message, error.retryAfterMs);
        break;
      }
      throw error;
    }
    // Customer.io answers 200 with no per-id detail (people it does not have are ignored).
    for (const c of chunk) outcomes[c.index] = ok();
  }
  return outcomes.map((o) => o ?? retry('Customer.io did not acknowledge this row'));
}
