/**
 * The Braze destination (issue 8): user attributes through `/users/track` (75 per request),
 * segment membership as a boolean attribute ("segment flag") or a subscription group, and
 * erasure through `/users/delete` (50 external ids per request, one identifier type).
 *
 * Invariants:
 *  - one outcome per row, in order. Braze answers "success" with non-fatal `errors[]` whose
 *    `index` points into the attributes array we sent: exactly those rows are rejected with
 *    Braze's `type` text, every other row is ok. A fatal 4xx/5xx/429 is a whole-batch
 *    ConnectorError (client.ts);
 *  - consent: the connector never sends `email_subscribe: opted_in/subscribed`. A row whose
 *    `email_consent` is withdrawn sends `email_subscribe: unsubscribed`; a granted one leaves
 *    the state alone — so someone who unsubscribed in Braze is never re-subscribed by a sync;
 *  - removal from a segment flag sets the attribute to null (Braze removes it) and only for
 *    existing users (`_update_existing_only`), so a removal never creates a user;
 *  - `users` removals (mirror/archive) call `/users/delete`: irreversible erasure, which is
 *    why the engine's circuit breaker guards mirror deletes.
 */
import { z } from 'zod';
import { ConnectorError, defineDestination, objectOptions, ok, rejected, retry, secret, type Batch, type ConnectorContext, type FieldValue, type RowOutcome } from '../kit';
import { BRAZE_DELETE_LIMIT, BRAZE_TRACK_LIMIT, BrazeClient, DESTINATION, type BrazeAttributes } from './client';

export const brazeConfigSchema = z.object({
  /** A REST API key with users.track (and users.delete for removals). */
  apiKey: secret(),
  /** The instance's REST endpoint, e.g. https://rest.iad-01.braze.com or https://rest.fra-01.braze.eu. */
  baseUrl: z.string().url(),
});
export type BrazeConfig = z.output<typeof brazeConfigSchema>;

const segmentOptionsSchema = z
  .strictObject({
    /** A custom boolean attribute set true while the user is in the audience. */
    attribute: z.string().regex(/^[^$][^\s]*$/, 'a custom attribute name (no spaces, not starting with $)').optional(),
    /** Or a subscription group id: subscribed while in the audience, unsubscribed after. */
    subscriptionGroupId: z.string().min(1).optional(),
  })
  .refine((o) => (o.attribute === undefined) !== (o.subscriptionGroupId === undefined), 'give exactly one of attribute or subscriptionGroupId');
// users take no options (any given are ignored, as before).
const OPTIONS = objectOptions(DESTINATION, { users: z.object({}), segment_members: segmentOptionsSchema }, { options: 'set object_options: { attribute: in_vip_segment } or { subscriptionGroupId: "…" }' });

const WITHDRAWN = new Set(['false', '0', 'no', 'n', 'denied', 'withdrawn', 'revoked', 'opted_out', 'unsubscribed', '']);
const GRANTED = new Set(['true', '1', 'yes', 'y', 'granted', 'opted_in', 'subscribed']);

export default defineDestination({
  type: 'braze',
  title: 'Braze',
  category: 'email',
  config: brazeConfigSchema,
  objects: {
    users: {
      key: 'external_id',
      modes: ['upsert', 'update', 'mirror', 'archive'],
      description:
        'Users by external_id; mapped fields are custom (or standard) attributes, null removes one. `email_consent` (true/false) unsubscribes from email when withdrawn. Removals delete the user (/users/delete, irreversible).',
    },
    segment_members: {
      key: 'external_id',
      modes: ['add_remove'],
      description: 'Audience membership as a boolean custom attribute (option attribute) or a subscription group (option subscriptionGroupId).',
    },
  },
  limits: { batchRows: BRAZE_TRACK_LIMIT, requests: { count: 3000, perMs: 3000 }, concurrency: 8 },

  async check(ctx) {
    // Braze has no "who am I" endpoint: an empty /users/track proves the key and its
    // users.track permission without changing anything (a 400 for the empty body means the
    // key was accepted).
    const client = new BrazeClient(ctx);
    const response = await client.trackRaw({ attributes: [] });
    if ((response.status >= 200 && response.status < 300) || response.status === 400) return;
    throw client.errorFor(response, 'check REST API key');
  },

  async write(ctx, batch) {
    if (batch.object === 'users' && batch.op === 'delete') return deleteUsers(ctx, batch);
    const outcomes: RowOutcome[] = [];
    for (let start = 0; start < batch.rows.length; start += BRAZE_TRACK_LIMIT) {
      outcomes.push(...(await trackChunk(ctx, { ...batch, rows: batch.rows.slice(start, start + BRAZE_TRACK_LIMIT) })));
    }
    return outcomes;
  },
});

/** What a row's consent fields become: `email_subscribe: 'unsubscribed'`, nothing, or a rejection. */
export function brazeConsent(fields: Record<string, FieldValue>): { email_subscribe?: 'unsubscribed' } | { error: string } {
  if ('email_subscribe' in fields) {
    const value = fields.email_subscribe;
    if (value === 'unsubscribed') return { email_subscribe: 'unsubscribed' };
    return { error: `email_subscribe '${String(value)}' is not sent: cdp never subscribes people in Braze — map email_consent (true/false) instead` };
  }
  if (!('email_consent' in fields)) return {};
  const consent = fields.email_consent;
  if (consent === true) return {};
  if (consent === null || consent === false) return { email_subscribe: 'unsubscribed' };
  const text = String(consent).trim().toLowerCase();
  if (GRANTED.has(text)) return {};
  if (WITHDRAWN.has(text)) return { email_subscribe: 'unsubscribed' };
  return { error: `email_consent '${String(consent)}' is neither a yes nor a no (use true/false)` };
}


async function trackChunk(ctx: ConnectorContext<BrazeConfig>, batch: Batch): Promise<RowOutcome[]> {
  const outcomes = new Array<RowOutcome | undefined>(batch.rows.length).fill(undefined);
  const sent: Array<{ index: number; attributes: BrazeAttributes }> = [];
  const seen = new Map<string, number>();
  const segment = batch.object === 'segment_members' ? OPTIONS.parse('segment_members', batch) : undefined;
  if (batch.object !== 'users' && batch.object !== 'segment_members') throw OPTIONS.unknownObject(batch);
  if (segment === undefined && !['upsert', 'update'].includes(batch.op)) throw OPTIONS.unsupported(batch);
  if (segment !== undefined && batch.op !== 'add' && batch.op !== 'remove') throw OPTIONS.unsupported(batch);

  batch.rows.forEach((row, index) => {
    const externalId = row.key.trim();
    if (externalId === '') return void (outcomes[index] = rejected('empty external_id'));
    const earlier = seen.get(externalId);
    // Two objects for one user in a request: Braze applies both in an order it does not promise.
    if (earlier !== undefined) return void (outcomes[index] = rejected(`same external_id as row ${earlier + 1} of this batch`));
    seen.set(externalId, index);
    const attributes: BrazeAttributes = { external_id: externalId };
    if (segment) {
      // A removal never creates a user; an add creates one (the audience says they exist).
      if (batch.op === 'remove') attributes._update_existing_only = true;
      if (segment.attribute) attributes[segment.attribute] = batch.op === 'add' ? true : null;
      else attributes.subscription_groups = [{ subscription_group_id: segment.subscriptionGroupId!, subscription_state: batch.op === 'add' ? 'subscribed' : 'unsubscribed' }];
    } else {
      const consent = brazeConsent(row.fields);
      if ('error' in consent) return void (outcomes[index] = rejected(consent.error));
      for (const [name, value] of Object.entries(row.fields)) if (name !== 'email_consent' && name !== 'email_subscribe' && name !== 'external_id') attributes[name] = value;
      if (consent.email_subscribe) attributes.email_subscribe = consent.email_subscribe;
      if (batch.op === 'update') attributes._update_existing_only = true;
    }
    sent.push({ index, attributes });
  });
  if (sent.length === 0) return outcomes.map((o) => o ?? retry('not sent'));

  const response = await new BrazeClient(ctx).track(sent.map((s) => s.attributes));
  const failed = new Map<number, string>();
  for (const error of response.errors ?? []) {
    if (error.index === undefined || (error.input_array !== undefined && error.input_array !== 'attributes')) {
      // An error Braze does not tie to an object: we cannot tell which row it is, so none is ok.
      return outcomes.map((o) => o ?? retry(`Braze reported an error without an index: ${error.type}`));
    }
    failed.set(error.index, error.type);
  }
  sent.forEach((s, position) => {
    const reason = failed.get(position);
    outcomes[s.index] = reason === undefined ? ok(s.attributes.external_id) : rejected(reason);
  });
  return outcomes.map((o) => o ?? retry('Braze did not acknowledge this row'));
}

/** Erasure: /users/delete, 50 external ids per request (one identifier type, as Braze requires). */
async function deleteUsers(ctx: ConnectorContext<BrazeConfig>, batch: Batch): Promise<RowOutcome[]> {
  const client = new BrazeClient(ctx);
  const outcomes: RowOutcome[] = [];
  const ids = batch.rows.map((r) => r.key.trim());
  for (let start = 0; start < ids.length; start += BRAZE_DELETE_LIMIT) {
    const chunk = ids.slice(start, start + BRAZE_DELETE_LIMIT);
    const valid = [...new Set(chunk.filter((id) => id !== ''))];
    if (valid.length) {
      try {
        await client.deleteByExternalId(valid);
      } catch (error) {
        // Earlier chunks were acknowledged: keep them, retry this one and the rest.
        if (error instanceof ConnectorError && error.retryable && outcomes.length > 0) {
          while (outcomes.length < ids.length) outcomes.push(retry(error.message, error.retryAfterMs));
          return outcomes;
        }
        throw error;
      }
    }
    for (const id of chunk) outcomes.push(id === '' ? rejected('empty external_id') : ok(id));
  }
  return outcomes;
}
