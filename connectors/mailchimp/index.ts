/**
 * The Mailchimp destination (issue 8): audience members by batch subscribe/update with merge
 * fields and tags, update-only, archive (or unsubscribe) for removals, and tag / static
 * segment membership add/remove. Member id = MD5 of the lowercased email (the kit's
 * `mailchimpSubscriberHash`).
 *
 * Invariants:
 *  - consent: 'subscribed' (or 'pending') is only ever given to a member Mailchimp does not
 *    have yet. An existing member's status is changed in one direction only — to
 *    'unsubscribed', when the row says consent was withdrawn — so nobody who unsubscribed
 *    (through us or by clicking a Mailchimp link) is subscribed again by a sync. Existing
 *    members are therefore updated with PATCH without a status, never by batch
 *    `update_existing` with 'subscribed';
 *  - one outcome per row, in order; a row is `ok` only when Mailchimp acknowledged it
 *    (listed in new/updated members, or a 2xx for its own request); Mailchimp's `errors[]`
 *    become `rejected` with Mailchimp's text; rows never answered are `retry`;
 *  - a 429/5xx in per-member calls makes that row `retry` (with the wait) and the others
 *    go on (three in a row: the rest are `retry`), so a retried batch redoes only what
 *    Mailchimp did not acknowledge;
 *  - a batch larger than 500 (a sync's batch_size override) is sent in chunks of 500.
 */
import { z } from 'zod';
import {
  defineDestination,
  mailchimpSubscriberHash,
  objectOptions,
  normalizeEmail,
  ok,
  rejected,
  retry,
  secret,
  type Batch,
  type ConnectorContext,
  type FieldValue,
  type HttpResponse,
  type OutboundRow,
  type RowOutcome,
} from '../kit';
import { DESTINATION, MAILCHIMP_BATCH_LIMIT, MAILCHIMP_MAX_CONNECTIONS, MailchimpClient, dataCenterOf, mailchimpReason, type BatchMember, type MailchimpMergeField } from './client';

export { dataCenterOf, mailchimpBaseUrl, type MailchimpMergeField } from './client';

export const mailchimpConfigSchema = z
  .object({
    /** A Marketing API key; its suffix (`-us19`) is the data center. */
    apiKey: secret(),
    /** Derived from the key when absent; only set to point tests at a local fake. */
    baseUrl: z.string().url().optional(),
  })
  .superRefine((config, ctx) => {
    if (!config.baseUrl && !dataCenterOf(config.apiKey)) {
      ctx.addIssue({ code: 'custom', path: ['apiKey'], message: 'a Mailchimp API key ends with its data center, e.g. 0123…cdef-us19 — copy the whole key from Profile → Extras → API keys' });
    }
  });
export type MailchimpConfig = z.output<typeof mailchimpConfigSchema>;

const listId = z.string().min(1, 'listId is the Audience ID (Audience → Settings → Audience name and defaults)');
const memberOptionsSchema = z.strictObject({
  listId,
  /** Status given to members Mailchimp does not have yet: 'pending' sends a double opt-in email. */
  status_if_new: z.enum(['subscribed', 'pending', 'transactional']).default('subscribed'),
  /** What a removal does: archive the member (default) or keep them as unsubscribed. */
  removal: z.enum(['archive', 'unsubscribe']).default('archive'),
});
const segmentOptionsSchema = z
  .strictObject({
    listId,
    /** A static segment id, or … */
    segmentId: z.string().regex(/^\d+$/, 'segmentId is the numeric static segment id').optional(),
    /** … a tag name (created when missing). Tags are static segments in Mailchimp. */
    tag: z.string().min(1).max(100).optional(),
  })
  .refine((o) => (o.segmentId === undefined) !== (o.tag === undefined), 'give exactly one of segmentId or tag');
const OPTIONS = objectOptions(DESTINATION, { members: memberOptionsSchema, segment_members: segmentOptionsSchema }, { options: 'fix object_options in the sync file' });

/** Mapped fields with a meaning of their own; every other field is a merge field (tag uppercased). */
const RESERVED = new Set(['email', 'email_address', 'status', 'email_consent', 'tags']);
const CONSENT_GIVEN = new Set(['true', '1', 'yes', 'y', 'granted', 'opted_in', 'subscribed']);
const CONSENT_WITHDRAWN = new Set(['false', '0', 'no', 'n', 'denied', 'withdrawn', 'revoked', 'opted_out', 'unsubscribed']);

export default defineDestination({
  type: 'mailchimp',
  title: 'Mailchimp',
  category: 'email',
  config: mailchimpConfigSchema,
  objects: {
    members: {
      key: 'email',
      modes: ['upsert', 'update', 'mirror', 'archive'],
      requiredOptions: ['listId'],
      description:
        'Audience members by email. Mapped fields are merge fields (FNAME, …); `tags` adds tags; `email_consent` (true/false) or `status` sets consent: withdrawn → unsubscribed, and nobody is ever re-subscribed. Options: status_if_new (subscribed|pending|transactional), removal (archive|unsubscribe).',
    },
    segment_members: {
      key: 'email',
      modes: ['add_remove'],
      requiredOptions: ['listId'],
      description: 'Membership of a tag (option tag, created when missing) or static segment (option segmentId). Only existing audience members can be tagged.',
    },
  },
  limits: { batchRows: MAILCHIMP_BATCH_LIMIT, concurrency: MAILCHIMP_MAX_CONNECTIONS },

  async check(ctx) {
    const client = new MailchimpClient(ctx);
    await client.ping();
    await client.account();
  },

  async write(ctx, batch) {
    const outcomes: RowOutcome[] = [];
    for (let start = 0; start < batch.rows.length; start += MAILCHIMP_BATCH_LIMIT) {
      outcomes.push(...(await writeChunk(ctx, { ...batch, rows: batch.rows.slice(start, start + MAILCHIMP_BATCH_LIMIT) })));
    }
    return outcomes;
  },
});

/** Field discovery: the audience's merge fields (tag, name, type, required). */
export async function discoverMailchimpMergeFields(ctx: ConnectorContext<MailchimpConfig>, listId: string): Promise<MailchimpMergeField[]> {
  return new MailchimpClient(ctx).mergeFields(listId);
}

/** The account's audiences (for picking object_options.listId). */
export async function discoverMailchimpAudiences(ctx: ConnectorContext<MailchimpConfig>): Promise<Array<{ id: string; name: string }>> {
  return new MailchimpClient(ctx).audiences();
}

// ----------------------------------------------------------------------------- rows

type DesiredStatus = BatchMember['status'];

interface MemberRow {
  index: number;
  email: string;
  hash: string;
  status: DesiredStatus;
  mergeFields: NonNullable<BatchMember['merge_fields']>;
  tags: string[];
}


/** Consent from the row: an explicit `status`, else `email_consent`, else the status for new members. */
export function desiredStatus(fields: Record<string, FieldValue>, statusIfNew: DesiredStatus): DesiredStatus | { error: string } {
  const status = fields.status;
  if (status !== undefined && status !== null) {
    const text = String(status).trim().toLowerCase();
    if (text === 'subscribed' || text === 'unsubscribed' || text === 'pending' || text === 'transactional') return text;
    return { error: `status '${String(status)}' is not one Mailchimp accepts from an API (subscribed, unsubscribed, pending, transactional)` };
  }
  if ('email_consent' in fields) {
    const consent = fields.email_consent;
    // No consent value at all is not consent.
    if (consent === null || consent === false) return 'unsubscribed';
    if (consent === true) return statusIfNew;
    const text = String(consent).trim().toLowerCase();
    if (CONSENT_GIVEN.has(text)) return statusIfNew;
    if (CONSENT_WITHDRAWN.has(text) || text === '') return 'unsubscribed';
    return { error: `email_consent '${String(consent)}' is neither a yes nor a no (use true/false)` };
  }
  return statusIfNew;
}

function mergeValue(value: FieldValue): string | number | Record<string, string> {
  if (value === null) return ''; // '' clears a merge field in Mailchimp
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.map((v) => (v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v))).join(', ');
  // Address merge fields are objects of strings (addr1, city, …).
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v)]));
}

function tagsOf(value: FieldValue | undefined): string[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value.map((v) => String(v)) : String(value).split(/[,;]/);
  return [...new Set(list.map((t) => t.trim()).filter((t) => t !== ''))];
}

/** Validated rows; bad ones get their rejection, duplicates (by lowercased email) too. */
function prepare(rows: OutboundRow[], outcomes: Array<RowOutcome | undefined>, statusIfNew: DesiredStatus): MemberRow[] {
  const seen = new Map<string, number>();
  const prepared: MemberRow[] = [];
  rows.forEach((row, index) => {
    const email = normalizeEmail(row.key);
    if (email === null) {
      outcomes[index] = rejected(`'${row.key}' is not a valid email address`);
      return;
    }
    const earlier = seen.get(email);
    if (earlier !== undefined) {
      outcomes[index] = rejected(`same email as row ${earlier + 1} of this batch (Mailchimp compares emails case-insensitively)`);
      return;
    }
    seen.set(email, index);
    const status = desiredStatus(row.fields, statusIfNew);
    if (typeof status === 'object') {
      outcomes[index] = rejected(status.error);
      return;
    }
    const mergeFields: MemberRow['mergeFields'] = {};
    for (const [name, value] of Object.entries(row.fields)) if (!RESERVED.has(name)) mergeFields[name.toUpperCase()] = mergeValue(value);
    prepared.push({ index, email, hash: mailchimpSubscriberHash(email), status, mergeFields, tags: tagsOf(row.fields.tags) });
  });
  return prepared;
}

// ----------------------------------------------------------------------------- writes

async function writeChunk(ctx: ConnectorContext<MailchimpConfig>, batch: Batch): Promise<RowOutcome[]> {
  const client = new MailchimpClient(ctx);
  const outcomes = new Array<RowOutcome | undefined>(batch.rows.length).fill(undefined);
  if (batch.object === 'members') {
    const options = OPTIONS.parse('members', batch);
    const rows = prepare(batch.rows, outcomes, options.status_if_new);
    if (batch.op === 'upsert') await upsertMembers(client, options.listId, rows, outcomes);
    else if (batch.op === 'update') await updateMembers(client, options.listId, rows, outcomes, false);
    else if (batch.op === 'delete') {
      if (options.removal === 'archive') await archiveMembers(client, options.listId, rows, outcomes);
      else await unsubscribeMembers(client, options.listId, rows, outcomes);
    } else throw OPTIONS.unsupported(batch);
  } else if (batch.object === 'segment_members') {
    const options = OPTIONS.parse('segment_members', batch);
    const rows = prepare(batch.rows, outcomes, 'subscribed');
    if (batch.op !== 'add' && batch.op !== 'remove') throw OPTIONS.unsupported(batch);
    const segmentId = await resolveSegment(ctx, client, options.listId, options.segmentId, options.tag);
    await changeSegment(client, options.listId, segmentId, batch.op, rows, outcomes);
  } else {
    throw OPTIONS.unknownObject(batch);
  }
  return outcomes.map((o) => o ?? retry('Mailchimp did not acknowledge this row'));
}


function toBatchMember(row: MemberRow, status: DesiredStatus): BatchMember {
  const member: BatchMember = { email_address: row.email, status };
  if (Object.keys(row.mergeFields).length) member.merge_fields = row.mergeFields;
  if (row.tags.length) member.tags = row.tags;
  return member;
}

/**
 * Create new members with their status in one batch (update_existing: false, so Mailchimp
 * changes no existing member there); then existing members: withdrawn consent → batch
 * update to 'unsubscribed'; the others → PATCH without a status (their status stays
 * whatever it is in Mailchimp, including an unsubscribe made there).
 */
async function upsertMembers(client: MailchimpClient, listId: string, rows: MemberRow[], outcomes: Array<RowOutcome | undefined>): Promise<void> {
  if (rows.length === 0) return;
  const byEmail = new Map(rows.map((r) => [r.email, r]));
  const created = await client.batchSubscribe(listId, rows.map((r) => toBatchMember(r, r.status)), false);
  const existing: MemberRow[] = [];
  for (const m of created.new_members) {
    const row = byEmail.get(m.email_address.toLowerCase());
    if (row) outcomes[row.index] = { status: 'ok', externalId: m.id, created: true };
  }
  for (const e of created.errors) {
    const row = byEmail.get(e.email_address.trim().toLowerCase());
    if (!row) continue;
    if (e.error_code === 'ERROR_CONTACT_EXISTS') existing.push(row);
    else outcomes[row.index] = rejected(e.error);
  }
  const withdrawn = existing.filter((r) => r.status === 'unsubscribed');
  if (withdrawn.length) {
    const updated = await client.batchSubscribe(listId, withdrawn.map((r) => toBatchMember(r, 'unsubscribed')), true);
    applyBatch(updated, byEmail, outcomes);
  }
  await updateMembers(client, listId, existing.filter((r) => r.status !== 'unsubscribed'), outcomes, true);
}

function applyBatch(response: Awaited<ReturnType<MailchimpClient['batchSubscribe']>>, byEmail: Map<string, MemberRow>, outcomes: Array<RowOutcome | undefined>): void {
  for (const m of [...response.new_members, ...response.updated_members]) {
    const row = byEmail.get(m.email_address.toLowerCase());
    if (row) outcomes[row.index] = { status: 'ok', externalId: m.id, created: false };
  }
  for (const e of response.errors) {
    const row = byEmail.get(e.email_address.trim().toLowerCase());
    if (row) outcomes[row.index] = rejected(e.error);
  }
}

/**
 * Per-member PATCH (Mailchimp has no batch update that leaves status alone). Sequential on
 * purpose: the engine already runs up to 10 batches at once, Mailchimp's connection limit.
 * `known`: the members exist (a 404 then means archived meanwhile: retry).
 */
async function updateMembers(client: MailchimpClient, listId: string, rows: MemberRow[], outcomes: Array<RowOutcome | undefined>, known: boolean): Promise<void> {
  const failures = new RetryableRun();
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const body: { merge_fields?: MemberRow['mergeFields']; status?: 'unsubscribed' } = {};
    if (Object.keys(row.mergeFields).length) body.merge_fields = row.mergeFields;
    if (row.status === 'unsubscribed') body.status = 'unsubscribed';
    let response = await client.patchMember(listId, row.hash, body);
    if (response.status >= 200 && response.status < 300 && row.tags.length) response = await client.addTags(listId, row.hash, row.tags);
    if (response.status >= 200 && response.status < 300) outcomes[row.index] = { status: 'ok', externalId: row.hash, created: false };
    else if (response.status === 404) outcomes[row.index] = known ? retry('Mailchimp no longer finds this member') : rejected('not a member of this audience (update mode never adds members)');
    else if (response.status === 400) outcomes[row.index] = rejected(mailchimpReason(response));
    else if (failures.failed(client, response, listId, rows, i, outcomes)) return;
    if (response.status < 500 && response.status !== 429) failures.reset();
  }
}

/**
 * Retryable failures (429, 5xx) in a run of per-member calls. Mailchimp's 429 is about
 * simultaneous connections, not a window, so one failed call says little about the next:
 * the failed row is `retry` (with any wait) and the run goes on. Three in a row mean
 * Mailchimp is down or throttling hard: the rest are `retry` too and the engine backs off.
 * Auth and config failures stop the whole run: they are thrown.
 */
class RetryableRun {
  private consecutive = 0;
  reset(): void {
    this.consecutive = 0;
  }
  /** Records the failure of rows[i]; true when the caller must stop (the rest are marked). */
  failed(client: MailchimpClient, response: HttpResponse, listId: string, rows: MemberRow[], i: number, outcomes: Array<RowOutcome | undefined>): boolean {
    const error = client.errorFor(response, 'member request', listId);
    if (!error.retryable) throw error;
    this.consecutive++;
    const stop = this.consecutive >= 3;
    for (const row of stop ? rows.slice(i) : [rows[i]!]) outcomes[row.index] = retry(error.message, error.retryAfterMs);
    return stop;
  }
}

async function archiveMembers(client: MailchimpClient, listId: string, rows: MemberRow[], outcomes: Array<RowOutcome | undefined>): Promise<void> {
  const failures = new RetryableRun();
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const response = await client.archiveMember(listId, row.hash);
    // 404: not a member (or archived already) — the removal holds.
    if ((response.status >= 200 && response.status < 300) || response.status === 404) outcomes[row.index] = ok(row.hash);
    else if (response.status === 400) outcomes[row.index] = rejected(mailchimpReason(response));
    else if (failures.failed(client, response, listId, rows, i, outcomes)) return;
    if (response.status < 500 && response.status !== 429) failures.reset();
  }
}

/** Removal as unsubscribe: the member stays (their history too) but gets no more marketing email. */
async function unsubscribeMembers(client: MailchimpClient, listId: string, rows: MemberRow[], outcomes: Array<RowOutcome | undefined>): Promise<void> {
  if (rows.length === 0) return;
  const byEmail = new Map(rows.map((r) => [r.email, r]));
  applyBatch(await client.batchSubscribe(listId, rows.map((r) => ({ email_address: r.email, status: 'unsubscribed' as const })), true), byEmail, outcomes);
}

/**
 * The static segment of a tag, created when missing. Memoised per run context: the engine
 * sends several batches at once, and two of them creating the same tag would collide.
 */
const segmentIds = new WeakMap<object, Map<string, Promise<number>>>();
async function resolveSegment(ctx: object, client: MailchimpClient, listId: string, segmentId: string | undefined, tag: string | undefined): Promise<number> {
  if (segmentId !== undefined) return Number(segmentId);
  let cache = segmentIds.get(ctx);
  if (!cache) segmentIds.set(ctx, (cache = new Map()));
  const key = `${listId}\u0000${tag}`;
  let found = cache.get(key);
  if (!found) {
    found = findOrCreateTag(client, listId, tag!);
    cache.set(key, found);
    found.catch(() => cache.delete(key)); // a failure is retried by the next batch, not remembered
  }
  return found;
}

async function findOrCreateTag(client: MailchimpClient, listId: string, tag: string): Promise<number> {
  const existing = (await client.staticSegments(listId)).find((s) => s.name === tag);
  if (existing) return existing.id;
  try {
    return await client.createStaticSegment(listId, tag);
  } catch (error) {
    // Created meanwhile by someone else (another sync, a person in Mailchimp): use that one.
    const again = (await client.staticSegments(listId)).find((s) => s.name === tag);
    if (again) return again.id;
    throw error;
  }
}

async function changeSegment(client: MailchimpClient, listId: string, segmentId: number, op: 'add' | 'remove', rows: MemberRow[], outcomes: Array<RowOutcome | undefined>): Promise<void> {
  if (rows.length === 0) return;
  const byEmail = new Map(rows.map((r) => [r.email, r]));
  const emails = rows.map((r) => r.email);
  const response = await client.segmentMembers(listId, segmentId, op === 'add' ? { members_to_add: emails } : { members_to_remove: emails });
  for (const e of response.errors) {
    for (const email of e.email_addresses) {
      const row = byEmail.get(email.trim().toLowerCase());
      if (!row) continue;
      // Removing someone who is not on the audience: they are not in the tag either.
      outcomes[row.index] = op === 'remove' ? ok() : rejected(`${e.error} — Mailchimp tags only audience members; sync them to members first`);
    }
  }
  // Mailchimp answered 200 for the request: rows it did not list as errors are in (or out of) the tag.
  for (const row of rows) if (outcomes[row.index] === undefined) outcomes[row.index] = ok(row.hash);
}
