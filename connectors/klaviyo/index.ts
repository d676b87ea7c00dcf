/**
 * The Klaviyo destination (issue 8): profiles upserted by email through bulk import jobs
 * (≤10,000 profiles and ≤5 MB a request, ≤100 KB a profile), list membership that follows
 * the audience (add = import job with the list relationship; remove = email lookup → list
 * relationship DELETE per 100), and email-marketing consent through Klaviyo's
 * subscription bulk jobs.
 *
 * Invariants:
 *  - one outcome per input row, in order; a row is `ok` only after its import job completed
 *    and its import-errors did not name it — a job still running at the timeout, cancelled,
 *    or with failures we cannot attribute, leaves rows `retry`;
 *  - import-errors are mapped to rows by the JSON pointer's index (`/data/attributes/
 *    profiles/data/<i>`), else by the email in `original_payload`, and carry Klaviyo's detail;
 *  - consent: a row whose consent field (option `consentField`, default `email_consent`) is
 *    false/denied/null is imported without the list and then unsubscribed from email
 *    marketing (subscription bulk-delete job, which also takes it off the list) — it is never
 *    subscribed; option `subscribe: "true"` subscribes consenting rows (only ever those);
 *    removal from a list alone does not change consent (Klaviyo's rule) unless
 *    `unsubscribeOnRemove: "true"`;
 *  - null field values unset custom properties (`meta.patch_properties.unset`) and clear
 *    standard ones.
 */
import { z } from 'zod';
import { chunkRowsBySize, ConnectorError, defineDestination, objectOptions, keyEmailRows, normalizePhoneE164, ok, prepareEmailRows, rejected, retry, RowOutcomes, secret, textOf, type Batch, type ConnectorContext, type FieldValue, type OutboundRow, type PreparedEmailRow } from '../kit';
import {
  DESTINATION,
  KLAVIYO_IMPORT_MAX_BYTES,
  KLAVIYO_IMPORT_MAX_PROFILES,
  KLAVIYO_LIST_CHUNK,
  KLAVIYO_PAGE_SIZE,
  KLAVIYO_PROFILE_MAX_BYTES,
  KLAVIYO_RATE_WINDOWS,
  KlaviyoClient,
  type ImportProfile,
  type KlaviyoImportError,
  type KlaviyoImportJob,
} from './client';

export const klaviyoConfigSchema = z.strictObject({
  /** A private API key (pk_…) with profiles, lists and subscriptions scopes. */
  privateKey: secret(),
  /** Only changed to point tests at a local fake. */
  baseUrl: z.string().url().default('https://a.klaviyo.com'),
  jobPollMs: z.number().int().positive().default(2_000),
  /** An import job still running after this long leaves its rows for a retry (imports are idempotent). */
  jobTimeoutMs: z.number().int().positive().default(900_000),
});
export type KlaviyoConfig = z.output<typeof klaviyoConfigSchema>;

const bool = z.enum(['true', 'false']).default('false');
const profileOptionsSchema = z.strictObject({ consentField: z.string().min(1).default('email_consent'), subscribe: bool });
const listOptionsSchema = profileOptionsSchema.extend({ listId: z.string().min(1, 'listId is the Klaviyo list id (6 characters, e.g. Y6nRLr)'), unsubscribeOnRemove: bool });
const OPTIONS = objectOptions(DESTINATION, { profiles: profileOptionsSchema, list_members: listOptionsSchema }, { unsupported: 'profiles: mode upsert; list_members: mirror or add_remove' });

/** Klaviyo's standard profile attributes; location ones go under `location`; everything else is a custom property. */
const STANDARD = new Set(['phone_number', 'external_id', 'first_name', 'last_name', 'organization', 'locale', 'title', 'image']);
const LOCATION = new Set(['address1', 'address2', 'city', 'country', 'region', 'zip', 'timezone', 'latitude', 'longitude', 'ip']);

/** The attributes a mapping can target (Klaviyo has no custom-field registry: any other name is a custom property). */
export function klaviyoFields(): Array<{ name: string; kind: 'identifier' | 'standard' | 'location' }> {
  return [
    { name: 'email', kind: 'identifier' },
    ...[...STANDARD].map((name) => ({ name, kind: name === 'phone_number' || name === 'external_id' ? ('identifier' as const) : ('standard' as const) })),
    ...[...LOCATION].map((name) => ({ name, kind: 'location' as const })),
  ];
}

/** The account's lists, for picking a listId. */
export async function discoverKlaviyoLists(ctx: ConnectorContext<KlaviyoConfig>): Promise<Array<{ id: string; name: string }>> {
  const client = new KlaviyoClient(ctx);
  const lists: Array<{ id: string; name: string }> = [];
  let page = await client.lists();
  for (let i = 0; i < 100; i++) {
    lists.push(...page.data.map((l) => ({ id: l.id, name: l.attributes.name ?? '' })));
    if (!page.links?.next) break;
    page = await client.lists(page.links.next);
  }
  return lists;
}

export default defineDestination({
  type: 'klaviyo',
  title: 'Klaviyo',
  category: 'email',
  config: klaviyoConfigSchema,
  objects: {
    profiles: {
      key: 'email',
      modes: ['upsert'],
      description: 'Profiles by email: standard attributes, location and custom properties. A mapped consent field false unsubscribes from email marketing.',
    },
    list_members: {
      key: 'email',
      modes: ['mirror', 'add_remove'],
      requiredOptions: ['listId'],
      description: 'Membership of one list: members are imported with the list (mirror also sends attribute changes); leavers are taken off the list (the profile stays).',
    },
  },
  limits: { batchRows: KLAVIYO_IMPORT_MAX_PROFILES, requests: KLAVIYO_RATE_WINDOWS, concurrency: 3 },

  async check(ctx) {
    await new KlaviyoClient(ctx).lists();
  },

  async write(ctx, batch) {
    const outcomes = new RowOutcomes(batch.rows.length, 'Klaviyo');
    try {
      await writeBatch(ctx, batch, outcomes);
    } catch (error) {
      // A batch needs several calls (lookups of 100, jobs, consent); when a 429 or 5xx comes
      // after some rows were settled, keep those and hand the rest back as `retry` — else a
      // large removal would restart from scratch on every 429 and never get through.
      if (error instanceof ConnectorError && error.retryable && outcomes.settledCount() > 0) return outcomes.finish(retry(error.message, error.retryAfterMs));
      throw error;
    }
    return outcomes.finish();
  },
});

async function writeBatch(ctx: ConnectorContext<KlaviyoConfig>, batch: Batch, outcomes: RowOutcomes): Promise<void> {
  {
    const client = new KlaviyoClient(ctx);
    if (batch.object === 'profiles') {
      if (batch.op !== 'upsert') throw OPTIONS.unsupported(batch);
      const options = OPTIONS.parse('profiles', batch);
      const rows = prepareRows(batch.rows, options.consentField, outcomes);
      await importProfiles(ctx, client, rows, undefined, outcomes);
      await applyConsent(client, rows, outcomes, options.subscribe === 'true', undefined);
    } else if (batch.object === 'list_members') {
      const options = OPTIONS.parse('list_members', batch);
      if (batch.op === 'add' || batch.op === 'upsert') {
        const rows = prepareRows(batch.rows, options.consentField, outcomes);
        await importProfiles(ctx, client, rows.filter((r) => r.consent), options.listId, outcomes);
        await importProfiles(ctx, client, rows.filter((r) => !r.consent), undefined, outcomes);
        await applyConsent(client, rows, outcomes, options.subscribe === 'true', options.listId);
      } else if (batch.op === 'remove' || batch.op === 'delete') {
        const rows = keyEmailRows(batch.rows, outcomes);
        if (options.unsubscribeOnRemove === 'true') await subscriptionJobs(client, 'unsubscribe', rows, options.listId, outcomes);
        else await removeFromList(client, options.listId, rows, outcomes);
      } else throw OPTIONS.unsupported(batch);
    } else throw OPTIONS.unknownObject(batch);
  }
}

// ----------------------------------------------------------------------------- rows

/** A profile ready to import, with its serialised size (for the 5 MB request and 100 KB profile caps). */
type PreparedRow = PreparedEmailRow<ImportProfile>;

function prepareRows(rows: OutboundRow[], consentField: string, outcomes: RowOutcomes): PreparedRow[] {
  return prepareEmailRows(rows, outcomes, {
    consentField,
    build(email, fields) {
      const attributes: Record<string, unknown> = { email };
      const location: Record<string, unknown> = {};
      const properties: Record<string, FieldValue> = {};
      const unset: string[] = [];
      let problem: string | undefined;
      for (const [name, value] of fields) {
        if (name === 'phone_number' && value !== null) {
          const phone = normalizePhoneE164(String(value));
          if (phone === null) problem = `phone_number ${JSON.stringify(value)} is not an E.164 number (+ and country code)`;
          attributes.phone_number = phone;
        } else if (STANDARD.has(name)) attributes[name] = value === null ? null : textOf(value);
        else if (LOCATION.has(name)) location[name] = value === null ? null : name === 'latitude' || name === 'longitude' ? value : textOf(value);
        else if (value === null) unset.push(name);
        else properties[name] = value;
      }
      if (Object.keys(location).length > 0) attributes.location = location;
      if (Object.keys(properties).length > 0) attributes.properties = properties;
      const profile: ImportProfile = { type: 'profile', attributes };
      if (unset.length > 0) profile.meta = { patch_properties: { unset } };
      return { payload: profile, problem };
    },
    tooLarge: (bytes) => (bytes > KLAVIYO_PROFILE_MAX_BYTES ? `the profile is ${Math.round(bytes / 1024)} KB; Klaviyo accepts at most 100 KB per profile` : undefined),
  });
}

// ----------------------------------------------------------------------------- import jobs

/** Requests of ≤10,000 profiles and ≤5 MB (less room for the JSON:API envelope). */
export function chunkProfiles<T extends { bytes: number }>(rows: T[], maxRows = KLAVIYO_IMPORT_MAX_PROFILES, maxBytes = KLAVIYO_IMPORT_MAX_BYTES - 4096): T[][] {
  return chunkRowsBySize(rows, maxRows, maxBytes);
}

async function importProfiles(ctx: ConnectorContext<KlaviyoConfig>, client: KlaviyoClient, rows: PreparedRow[], listId: string | undefined, outcomes: RowOutcomes): Promise<void> {
  for (const chunk of chunkProfiles(rows)) {
    const job = await waitForJob(ctx, client, await client.createImportJob(chunk.map((r) => r.payload), listId));
    if (job === undefined || job.attributes.status !== 'complete') {
      const why = job === undefined ? `was still running after ${Math.round(ctx.config.jobTimeoutMs / 1000)} s` : 'was cancelled';
      for (const row of chunk) outcomes.set(row.index, retry(`Klaviyo import job ${why}; the rows are imported again`));
      continue;
    }
    const failed = job.attributes.failed_count ?? 0;
    const errors = failed > 0 ? await client.importErrors(job.id) : [];
    const attributed = attributeErrors(errors, chunk);
    for (const [index, reason] of attributed) outcomes.set(index, rejected(`Klaviyo: ${reason}`));
    // Rows the errors do not name are ok only when every failure is accounted for.
    const unexplained = attributed.size < failed;
    for (const row of chunk) if (!attributed.has(row.index)) outcomes.set(row.index, unexplained ? retry(`Klaviyo reported ${failed} failed profiles but named only ${attributed.size}`) : ok());
  }
}

/** Maps import errors to row indexes: by pointer index into the request, else by the email of the original payload. */
export function attributeErrors(errors: KlaviyoImportError[], chunk: Array<{ index: number; email: string }>): Map<number, string> {
  const byEmail = new Map(chunk.map((r) => [r.email, r.index]));
  const result = new Map<number, string>();
  for (const error of errors) {
    const at = /^\/data\/attributes\/profiles\/data\/(\d+)/.exec(error.source.pointer ?? '');
    const payloadEmail = typeof error.original_payload?.email === 'string' ? error.original_payload.email.toLowerCase() : undefined;
    const index = at ? chunk[Number(at[1])]?.index : payloadEmail !== undefined ? byEmail.get(payloadEmail) : undefined;
    if (index === undefined) continue;
    const where = at ? error.source.pointer!.replace(/^\/data\/attributes\/profiles\/data\/\d+\/?(attributes\/)?/, '') : '';
    result.set(index, `${error.detail}${where ? ` (${where})` : ''}`);
  }
  return result;
}

async function waitForJob(ctx: ConnectorContext<KlaviyoConfig>, client: KlaviyoClient, job: KlaviyoImportJob): Promise<KlaviyoImportJob | undefined> {
  const deadline = Date.now() + ctx.config.jobTimeoutMs;
  let current = job;
  while (current.attributes.status === 'queued' || current.attributes.status === 'processing') {
    if (Date.now() + ctx.config.jobPollMs > deadline) return undefined;
    await sleep(ctx.config.jobPollMs, ctx.signal);
    current = await client.importJob(job.id);
  }
  return current;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const cancelled = () => new ConnectorError(DESTINATION, 'transient', 'cancelled while waiting for a Klaviyo import job', { cause: signal.reason });
    if (signal.aborted) return reject(cancelled());
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelled());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

// ----------------------------------------------------------------------------- lists and consent

/** Rows whose import succeeded: subscribe the consenting ones (option) and unsubscribe the others. */
async function applyConsent(client: KlaviyoClient, rows: PreparedRow[], outcomes: RowOutcomes, subscribe: boolean, listId: string | undefined): Promise<void> {
  const imported = rows.filter((r) => outcomes.get(r.index)?.status === 'ok');
  // Imported is not done: a row is ok only once its consent change was accepted too.
  for (const row of imported) if (!row.consent || subscribe) outcomes.clear(row.index);
  await subscriptionJobs(client, 'unsubscribe', imported.filter((r) => !r.consent), listId, outcomes);
  if (subscribe) await subscriptionJobs(client, 'subscribe', imported.filter((r) => r.consent), listId, outcomes);
}

async function subscriptionJobs(client: KlaviyoClient, kind: 'subscribe' | 'unsubscribe', rows: Array<{ index: number; email: string }>, listId: string | undefined, outcomes: RowOutcomes): Promise<void> {
  for (let start = 0; start < rows.length; start += KLAVIYO_LIST_CHUNK) {
    const chunk = rows.slice(start, start + KLAVIYO_LIST_CHUNK);
    await client.subscriptionJob(
      kind,
      chunk.map((r) => r.email),
      listId,
    );
    for (const row of chunk) outcomes.set(row.index, ok());
  }
}

/**
 * Emails → profile ids (100 a lookup) → list relationship DELETE, chunk by chunk so each
 * chunk's rows are settled before the next lookup (a 429 later keeps what was done). Unknown
 * emails are not members: ok.
 */
async function removeFromList(client: KlaviyoClient, listId: string, rows: Array<{ index: number; email: string }>, outcomes: RowOutcomes): Promise<void> {
  for (let start = 0; start < rows.length; start += KLAVIYO_PAGE_SIZE) {
    const chunk = rows.slice(start, start + KLAVIYO_PAGE_SIZE);
    const ids = await client.idsByEmail(chunk.map((r) => r.email));
    if (ids.size > 0) await client.removeFromList(listId, [...new Set(ids.values())]);
    for (const row of chunk) outcomes.set(row.index, ok(ids.get(row.email)));
  }
}

// ----------------------------------------------------------------------------- helpers


