/**
 * The SendGrid Marketing Campaigns destination (issue 8): contacts upserted by email through
 * SendGrid's async upsert job (`PUT /v3/marketing/contacts`, ≤30,000 contacts and ≤6 MB a
 * request), optionally added to lists; list membership that follows the audience
 * (add = upsert with `list_ids`, remove = email search → list removal); consent-aware.
 *
 * Invariants:
 *  - one outcome per input row, in order; a row is `ok` only after SendGrid's job for it
 *    finished (`completed`, or `errored` without naming the row) — a job still pending at the
 *    timeout, or errors we cannot attribute, leave rows `retry`, never `ok`;
 *  - a 400 naming `contacts[i]` rejects exactly row i with SendGrid's message and the rest is
 *    sent again; errors in the job's error file reject the rows they name by email;
 *  - requests are cut by count (30,000) and by serialised size (6 MB), whichever comes first;
 *  - consent: a row whose consent field (option `consentField`, default `email_consent`) is
 *    false/denied/null is never put on a list — it is removed from the sync's lists instead,
 *    so a later upsert of its attributes can never re-subscribe it; the engine's consent
 *    purpose does the same through the `remove` op of `list_members` (add_remove mode);
 *  - custom fields are addressed by name in the mapping and sent by SendGrid field id (looked
 *    up once per destination config); an unknown name stops the run as a 'config' failure.
 */
import { z } from 'zod';
import { chunkRowsBySize, ConnectorError, parseCsv, defineDestination, objectOptions, keyEmailRows, normalizeEmail, ok, prepareEmailRows, rejected, retry, RowOutcomes, secret, textOf, type ConnectorContext, type OutboundRow, type PreparedEmailRow } from '../kit';
import { DESTINATION, SENDGRID_LOOKUP_CHUNK, SENDGRID_MAX_BYTES, SENDGRID_MAX_CONTACTS, SendgridClient, type ContactInput, type SendgridFieldDefinition, type SendgridJobStatus } from './client';

export const sendgridConfigSchema = z.strictObject({
  /** An API key with Marketing: Full Access (Settings → API Keys). */
  apiKey: secret(),
  /** Only changed to point tests at a local fake (EU accounts: https://api.eu.sendgrid.com). */
  baseUrl: z.string().url().default('https://api.sendgrid.com'),
  /** How often an upsert job's status is read. */
  jobPollMs: z.number().int().positive().default(2_000),
  /** A job still pending after this long leaves its rows to be retried (the upsert is idempotent). */
  jobTimeoutMs: z.number().int().positive().default(600_000),
});
export type SendgridConfig = z.output<typeof sendgridConfigSchema>;

const uuidList = z.string().regex(/^[0-9a-f-]{36}(,[0-9a-f-]{36})*$/i, 'comma-separated SendGrid list ids (UUIDs)');
const contactOptionsSchema = z.strictObject({
  /** Lists every consenting upserted contact is added to (comma-separated ids). */
  listIds: uuidList.optional(),
  consentField: z.string().min(1).default('email_consent'),
});
const listOptionsSchema = z.strictObject({
  listId: z.string().regex(/^[0-9a-f-]{36}$/i, 'listId is the list’s UUID (Marketing → Contacts → the list’s URL)'),
  consentField: z.string().min(1).default('email_consent'),
});
const OPTIONS = objectOptions(DESTINATION, { contacts: contactOptionsSchema, list_members: listOptionsSchema }, { unsupported: 'contacts: mode upsert; list_members: mode mirror or add_remove' });

/** SendGrid's reserved contact fields the mapping may set, with the spec's maxLength. */
const RESERVED_FIELDS: Record<string, number | undefined> = {
  first_name: 50,
  last_name: 50,
  address_line_1: 100,
  address_line_2: 100,
  city: 60,
  state_province_region: 50,
  postal_code: undefined,
  country: 50,
  external_id: 254,
  phone_number_id: undefined,
  anonymous_id: 254,
  alternate_emails: undefined,
};

export default defineDestination({
  type: 'sendgrid',
  title: 'SendGrid Marketing Campaigns',
  category: 'email',
  config: sendgridConfigSchema,
  objects: {
    contacts: {
      key: 'email',
      modes: ['upsert'],
      description: 'Marketing contacts by email. Mapped reserved fields (first_name, city …) and custom fields by name. Option listIds: lists consenting contacts are added to.',
    },
    list_members: {
      key: 'email',
      modes: ['mirror', 'add_remove'],
      requiredOptions: ['listId'],
      description:
        'Membership of one list. Members are upserted with the list id (mirror also sends attribute changes); people who leave the audience or withdraw consent are taken off the list (the contact stays).',
    },
  },
  // SendGrid publishes no per-endpoint numbers (it answers 429 with X-RateLimit-Reset); 2 in
  // flight keeps the job queue of one account short.
  limits: { batchRows: SENDGRID_MAX_CONTACTS, concurrency: 2 },

  async check(ctx) {
    await new SendgridClient(ctx).checkAccess();
  },

  async write(ctx, batch) {
    const client = new SendgridClient(ctx);
    const outcomes = new RowOutcomes(batch.rows.length, 'SendGrid');
    if (batch.object === 'contacts') {
      const options = OPTIONS.parse('contacts', batch);
      const listIds = options.listIds ? options.listIds.split(',') : [];
      if (batch.op !== 'upsert') throw OPTIONS.unsupported(batch);
      const rows = await prepareRows(ctx, batch.rows, options.consentField, outcomes);
      await upsertContacts(ctx, client, rows.filter((r) => r.consent), listIds, outcomes);
      const withdrawn = rows.filter((r) => !r.consent);
      await upsertContacts(ctx, client, withdrawn, [], outcomes);
      if (listIds.length > 0) await removeFromLists(client, listIds, withdrawn.filter((r) => outcomes.get(r.index)?.status === 'ok'), outcomes, true);
    } else if (batch.object === 'list_members') {
      const options = OPTIONS.parse('list_members', batch);
      // mirror sends upsert/delete, add_remove add/remove: for a list they mean the same.
      if (batch.op === 'add' || batch.op === 'upsert') {
        const rows = await prepareRows(ctx, batch.rows, options.consentField, outcomes);
        await upsertContacts(ctx, client, rows.filter((r) => r.consent), [options.listId], outcomes);
        await removeFromLists(client, [options.listId], rows.filter((r) => !r.consent), outcomes);
      } else if (batch.op === 'remove' || batch.op === 'delete') {
        const rows = keyEmailRows(batch.rows, outcomes);
        await removeFromLists(client, [options.listId], rows, outcomes);
      } else throw OPTIONS.unsupported(batch);
    } else {
      throw OPTIONS.unknownObject(batch);
    }
    return outcomes.finish();
  },
});

// ----------------------------------------------------------------------------- field discovery

export interface SendgridField {
  name: string;
  /** SendGrid's field id (custom fields are sent by id, e.g. `e1_T`). */
  id: string;
  type: 'Text' | 'Number' | 'Date';
  reserved: boolean;
}

/** The fields a mapping can target: reserved ones and the account's custom fields. */
export async function discoverSendgridFields(ctx: ConnectorContext<SendgridConfig>): Promise<SendgridField[]> {
  const definitions = await new SendgridClient(ctx).fieldDefinitions();
  return [...definitions.reserved_fields.map((f) => ({ name: f.name, id: f.id, type: f.field_type, reserved: true })), ...definitions.custom_fields.map((f) => ({ name: f.name, id: f.id, type: f.field_type, reserved: false }))];
}

/** Custom field definitions, read once per destination config (a run's batches share it). */
const customFieldCache = new WeakMap<object, Promise<Map<string, SendgridFieldDefinition>>>();
function customFields(ctx: ConnectorContext<SendgridConfig>): Promise<Map<string, SendgridFieldDefinition>> {
  let cached = customFieldCache.get(ctx.config);
  if (!cached) {
    cached = new SendgridClient(ctx).fieldDefinitions().then((d) => {
      const byName = new Map<string, SendgridFieldDefinition>();
      for (const field of d.custom_fields) {
        byName.set(field.name, field);
        byName.set(field.id, field);
      }
      return byName;
    });
    // A failed read is not remembered: the next batch asks again.
    cached.catch(() => customFieldCache.delete(ctx.config));
    customFieldCache.set(ctx.config, cached);
  }
  return cached;
}

// ----------------------------------------------------------------------------- rows

/** A contact ready to upsert, with its serialised size (for cutting requests at 6 MB). */
type PreparedRow = PreparedEmailRow<ContactInput>;

async function prepareRows(ctx: ConnectorContext<SendgridConfig>, rows: OutboundRow[], consentField: string, outcomes: RowOutcomes): Promise<PreparedRow[]> {
  const needsCustom = rows.some((r) => Object.keys(r.fields).some((f) => f !== consentField && f !== 'email' && !(f in RESERVED_FIELDS)));
  const custom = needsCustom ? await customFields(ctx) : new Map<string, SendgridFieldDefinition>();
  return prepareEmailRows(rows, outcomes, {
    consentField,
    build(email, fields) {
      const contact: ContactInput = { email };
      const customValues: Record<string, string | number> = {};
      let problem: string | undefined;
      for (const [name, value] of fields) {
        if (name in RESERVED_FIELDS) {
          if (name === 'alternate_emails') {
            const list = (Array.isArray(value) ? value : value === null ? [] : [value]).map((v) => String(v));
            if (list.length > 5) problem = `alternate_emails has ${list.length} addresses; SendGrid keeps at most 5`;
            contact.alternate_emails = list;
            continue;
          }
          const text = textOf(value);
          const max = RESERVED_FIELDS[name];
          if (max !== undefined && [...text].length > max) problem = `${name} is ${[...text].length} characters; SendGrid allows at most ${max}`;
          contact[name] = text;
          continue;
        }
        const definition = custom.get(name);
        if (!definition) {
          throw new ConnectorError(DESTINATION, 'config', `SendGrid has no custom field named ${name}`, {
            hint: `create it under Marketing → Custom Fields (or map to one of: ${[...new Set([...custom.values()].map((f) => f.name))].join(', ') || 'no custom fields yet'})`,
          });
        }
        if (value === null) {
          // Text and Date fields are cleared with ''; a Number field cannot be cleared through this API.
          if (definition.field_type !== 'Number') customValues[definition.id] = '';
          continue;
        }
        if (definition.field_type === 'Number') {
          const number = typeof value === 'number' ? value : Number(textOf(value));
          if (!Number.isFinite(number) || textOf(value).trim() === '') problem = `${name} is a Number field in SendGrid; got ${JSON.stringify(value)}`;
          else customValues[definition.id] = number;
        } else customValues[definition.id] = textOf(value);
      }
      if (Object.keys(customValues).length > 0) contact.custom_fields = customValues;
      return { payload: contact, problem };
    },
  });
}

// ----------------------------------------------------------------------------- upsert jobs

/** Requests of ≤30,000 contacts and ≤6 MB (less room for the envelope and list ids). */
export function chunkBySize<T extends { bytes: number }>(rows: T[], maxRows = SENDGRID_MAX_CONTACTS, maxBytes = SENDGRID_MAX_BYTES - 4096): T[][] {
  return chunkRowsBySize(rows, maxRows, maxBytes);
}

async function upsertContacts(ctx: ConnectorContext<SendgridConfig>, client: SendgridClient, rows: PreparedRow[], listIds: string[], outcomes: RowOutcomes): Promise<void> {
  for (const chunk of chunkBySize(rows)) await upsertChunk(ctx, client, chunk, listIds, outcomes);
}

async function upsertChunk(ctx: ConnectorContext<SendgridConfig>, client: SendgridClient, rows: PreparedRow[], listIds: string[], outcomes: RowOutcomes): Promise<void> {
  let pending = rows;
  // A 400 names the bad contacts; they are rejected and the rest sent again (a few rounds at most).
  for (let round = 0; round < 3 && pending.length > 0; round++) {
    const answer = await client.upsert(
      pending.map((r) => r.payload),
      listIds,
    );
    if (answer.kind === 'accepted') {
      await settleJob(ctx, client, answer.jobId, pending, outcomes);
      return;
    }
    const bad = new Set<number>();
    for (const error of answer.errors) {
      const field = error.field ?? '';
      if (/^list_ids/.test(field)) {
        throw new ConnectorError(DESTINATION, 'config', `SendGrid refused the list ids ${listIds.join(', ')}: ${error.message ?? field}`, { hint: 'check the sync’s listId/listIds: each must be an existing list', httpStatus: 400 });
      }
      const at = /^contacts\[(\d+)\]/.exec(field);
      const row = at ? pending[Number(at[1])] : undefined;
      if (!row) continue;
      bad.add(row.index);
      outcomes.set(row.index, rejected(`SendGrid: ${field.replace(/^contacts\[\d+\]\.?/, '') || 'contact'}: ${error.message ?? 'invalid'}`));
    }
    if (bad.size === 0) {
      throw new ConnectorError(DESTINATION, 'permanent', `upsert ${pending.length} contacts: HTTP 400 — ${answer.message}`, { hint: 'SendGrid refused the request without naming a contact; the engine splits the batch to find it', httpStatus: 400 });
    }
    pending = pending.filter((r) => !bad.has(r.index));
  }
  for (const row of pending) outcomes.set(row.index, retry('SendGrid kept refusing this request'));
}

/** Waits for the job (polling with a timeout) and maps its result to the rows it carried. */
async function settleJob(ctx: ConnectorContext<SendgridConfig>, client: SendgridClient, jobId: string, rows: PreparedRow[], outcomes: RowOutcomes): Promise<void> {
  const status = await waitForJob(ctx, client, jobId);
  if (status === undefined) {
    for (const row of rows) outcomes.set(row.index, retry(`SendGrid job ${jobId} was still pending after ${Math.round(ctx.config.jobTimeoutMs / 1000)} s; the upsert is sent again`));
    return;
  }
  if (status.status === 'completed') {
    for (const row of rows) outcomes.set(row.index, ok());
    return;
  }
  // errored (some rows failed) or failed (all did, or the job was unprocessable): read the error file.
  const reasons = status.results?.errors_url ? parseErrorsFile(await client.errorsFile(status.results.errors_url)) : new Map<string, string>();
  let attributed = 0;
  for (const row of rows) {
    const reason = reasons.get(row.email);
    if (reason !== undefined) {
      attributed++;
      outcomes.set(row.index, rejected(`SendGrid: ${reason}`));
    }
  }
  const errored = status.results?.errored_count ?? (status.status === 'failed' ? rows.length : attributed);
  const unexplained = status.status === 'failed' || attributed < errored;
  for (const row of rows) {
    if (outcomes.get(row.index)?.status === 'rejected') continue;
    // Rows the error file does not name are only ok when every reported error is accounted for.
    outcomes.set(row.index, unexplained ? retry(`SendGrid job ${jobId} ${status.status} with ${errored} errors its error file does not attribute`) : ok());
  }
}

async function waitForJob(ctx: ConnectorContext<SendgridConfig>, client: SendgridClient, jobId: string): Promise<SendgridJobStatus | undefined> {
  const deadline = Date.now() + ctx.config.jobTimeoutMs;
  for (;;) {
    const status = await client.jobStatus(jobId);
    if (status.status !== 'pending') return status;
    if (Date.now() + ctx.config.jobPollMs > deadline) return undefined;
    await sleep(ctx.config.jobPollMs, ctx.signal);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new ConnectorError(DESTINATION, 'transient', 'cancelled while waiting for a SendGrid job', { cause: signal.reason }));
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new ConnectorError(DESTINATION, 'transient', 'cancelled while waiting for a SendGrid job', { cause: signal.reason }));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The job's error file: SendGrid documents only "a file with details"; what it serves is a
 * CSV with a header row. We read the column whose header names the email and the one that
 * names the error (error/errors/message/reason), by header, not by position.
 */
export function parseErrorsFile(text: string): Map<string, string> {
  // Blank lines carry nothing; SendGrid's files may end with several.
  const lines = parseCsv(text).filter((row) => row.some((v) => v !== ''));
  const reasons = new Map<string, string>();
  const header = (lines.shift() ?? []).map((h) => h.trim().toLowerCase());
  const emailAt = header.findIndex((h) => h === 'email' || h.endsWith('email'));
  const reasonAt = header.findIndex((h) => ['error', 'errors', 'message', 'reason', 'error_message'].includes(h));
  if (emailAt < 0 || reasonAt < 0) return reasons;
  for (const line of lines) {
    const email = normalizeEmail(line[emailAt] ?? '') ?? (line[emailAt] ?? '').trim().toLowerCase();
    if (email !== '') reasons.set(email, (line[reasonAt] ?? '').trim() || 'error without a message');
  }
  return reasons;
}

// ----------------------------------------------------------------------------- list removal

/**
 * Takes rows off lists: emails → contact ids (search, ≤100 a call) → list removal (≤100 ids a
 * call). An email SendGrid does not know is not on any list, so removal already holds (ok).
 * `keepOutcome`: rows already settled by an upsert keep that outcome unless removal fails.
 */
async function removeFromLists(client: SendgridClient, listIds: string[], rows: Array<{ index: number; email: string }>, outcomes: RowOutcomes, keepOutcome = false): Promise<void> {
  for (let start = 0; start < rows.length; start += SENDGRID_LOOKUP_CHUNK) {
    const chunk = rows.slice(start, start + SENDGRID_LOOKUP_CHUNK);
    const ids = await client.idsByEmail(chunk.map((r) => r.email));
    const contactIds = [...new Set(ids.values())];
    if (contactIds.length > 0) for (const listId of listIds) await client.removeFromList(listId, contactIds);
    for (const row of chunk) if (!keepOutcome || outcomes.get(row.index) === undefined) outcomes.set(row.index, ok(ids.get(row.email)));
  }
}

// ----------------------------------------------------------------------------- helpers


