/**
 * The Iterable destination (issue 8): user profiles by email through `users/bulkUpdate`
 * (≤4 MB a body, 5 requests/s), list membership that follows the audience
 * (`lists/subscribe` / `lists/unsubscribe`), and email consent through channel unsubscribes.
 *
 * Invariants:
 *  - one outcome per input row, in order; Iterable answers 200 with per-user failures, which
 *    reject exactly the rows they name (invalidEmails, failedUpdates.invalidDataEmails,
 *    conflictEmails, forgottenEmails …) with a reason saying which; when `failCount` is larger
 *    than what the lists name, the unnamed rows are `retry`, never `ok`;
 *  - requests are cut at 4 MB (and at batchRows users);
 *  - consent: a row whose consent field (option `consentField`, default `email_consent`) is
 *    false/denied/null is never subscribed: its attributes go through bulkUpdate and it is
 *    unsubscribed from the list with `channelUnsubscribe: true` (Iterable's global email
 *    unsubscribe), so no later sync can put it back on the channel; a forgotten (GDPR) user
 *    is rejected, never re-created;
 *  - unsubscribing someone Iterable does not know is ok (they are not on the list).
 */
import { z } from 'zod';
import { chunkRowsBySize, defineDestination, objectOptions, keyEmailRows, ok, prepareEmailRows, rejected, retry, RowOutcomes, secret, type ConnectorContext, type OutboundRow, type PreparedEmailRow } from '../kit';
import { DESTINATION, ITERABLE_BATCH_ROWS, ITERABLE_MAX_BYTES, ITERABLE_RATE, IterableClient, type IterableBulkResponse, type IterableUser } from './client';

export const iterableConfigSchema = z.strictObject({
  /** A server-side (Standard) API key. */
  apiKey: secret(),
  /** https://api.eu.iterable.com for EU projects; tests point it at a fake. */
  baseUrl: z.string().url().default('https://api.iterable.com'),
});
export type IterableConfig = z.output<typeof iterableConfigSchema>;

const bool = z.enum(['true', 'false']).default('false');
const userOptionsSchema = z.strictObject({ consentField: z.string().min(1).default('email_consent') });
const listOptionsSchema = userOptionsSchema.extend({
  listId: z.string().regex(/^\d+$/, 'listId is the numeric Iterable list id').transform(Number),
  /** Removals also unsubscribe from the list's channel (for lists that are the consented audience). */
  unsubscribeChannelOnRemove: bool,
});
const OPTIONS = objectOptions(DESTINATION, { users: userOptionsSchema, list_members: listOptionsSchema }, { unsupported: 'users: mode upsert; list_members: mirror or add_remove' });

export default defineDestination({
  type: 'iterable',
  title: 'Iterable',
  category: 'email',
  config: iterableConfigSchema,
  objects: {
    users: { key: 'email', modes: ['upsert'], description: 'User profiles by email; mapped fields become dataFields.' },
    list_members: {
      key: 'email',
      modes: ['mirror', 'add_remove'],
      requiredOptions: ['listId'],
      description: 'Membership of a static list: members are subscribed with their dataFields; leavers unsubscribed from the list (the user stays).',
    },
  },
  limits: { batchRows: ITERABLE_BATCH_ROWS, requests: ITERABLE_RATE, concurrency: 2 },

  async check(ctx) {
    await new IterableClient(ctx).lists();
  },

  async write(ctx, batch) {
    const outcomes = new RowOutcomes(batch.rows.length, 'Iterable');
    const client = new IterableClient(ctx);
    if (batch.object === 'users') {
      if (batch.op !== 'upsert') throw OPTIONS.unsupported(batch);
      const options = OPTIONS.parse('users', batch);
      const rows = prepareRows(batch.rows, options.consentField, outcomes);
      for (const chunk of chunkBySize(rows)) applyResponse(await client.bulkUpdate(chunk.map((r) => r.payload)), chunk, outcomes, 'update');
    } else if (batch.object === 'list_members') {
      const options = OPTIONS.parse('list_members', batch);
      if (batch.op === 'add' || batch.op === 'upsert') {
        const rows = prepareRows(batch.rows, options.consentField, outcomes);
        for (const chunk of chunkBySize(rows.filter((r) => r.consent))) applyResponse(await client.subscribe(options.listId, chunk.map((r) => r.payload)), chunk, outcomes, 'subscribe');
        const withdrawn = rows.filter((r) => !r.consent);
        for (const chunk of chunkBySize(withdrawn)) applyResponse(await client.bulkUpdate(chunk.map((r) => r.payload)), chunk, outcomes, 'update');
        const updated = withdrawn.filter((r) => outcomes.get(r.index)?.status === 'ok');
        for (const row of updated) outcomes.clear(row.index); // ok only once unsubscribed too
        await unsubscribe(client, options.listId, updated, true, outcomes);
      } else if (batch.op === 'remove' || batch.op === 'delete') {
        await unsubscribe(client, options.listId, keyEmailRows(batch.rows, outcomes), options.unsubscribeChannelOnRemove === 'true', outcomes);
      } else throw OPTIONS.unsupported(batch);
    } else throw OPTIONS.unknownObject(batch);
    return outcomes.finish();
  },
});

/** The user fields the project knows (name → type), for the mapping UI. */
export async function discoverIterableFields(ctx: ConnectorContext<IterableConfig>): Promise<Array<{ name: string; type: string }>> {
  return Object.entries(await new IterableClient(ctx).fields()).map(([name, type]) => ({ name, type }));
}

/** Static lists a sync can target. */
export async function discoverIterableLists(ctx: ConnectorContext<IterableConfig>): Promise<Array<{ id: string; name: string }>> {
  return (await new IterableClient(ctx).lists()).filter((l) => l.listType === 'Standard').map((l) => ({ id: String(l.id), name: l.name }));
}

// ----------------------------------------------------------------------------- rows

function prepareRows(rows: OutboundRow[], consentField: string, outcomes: RowOutcomes): Array<PreparedEmailRow<IterableUser>> {
  return prepareEmailRows(rows, outcomes, {
    consentField,
    build(email, fields) {
      const dataFields = Object.fromEntries(fields);
      return { payload: fields.length > 0 ? { email, dataFields } : { email } };
    },
  });
}

/** Bodies ≤4 MB (less room for the envelope) and ≤1,000 users. */
export function chunkBySize<T extends { bytes: number }>(rows: T[], maxRows = ITERABLE_BATCH_ROWS, maxBytes = ITERABLE_MAX_BYTES - 1024): T[][] {
  return chunkRowsBySize(rows, maxRows, maxBytes);
}

const FAILURE_REASONS: Array<[keyof NonNullable<IterableBulkResponse['failedUpdates']>, string]> = [
  ['invalidEmails', 'Iterable: invalid email address'],
  ['invalidDataEmails', 'Iterable: a data field has a value of the wrong type for the project’s schema'],
  ['conflictEmails', 'Iterable: the email belongs to another user (conflict)'],
  ['forgottenEmails', 'Iterable: the user was forgotten (GDPR) and may not be re-created'],
  ['notFoundEmails', 'Iterable: user not found'],
];

/** Maps a 200 with per-user failures onto the rows of one request. */
function applyResponse(response: IterableBulkResponse, rows: Array<{ index: number; email: string }>, outcomes: RowOutcomes, action: 'update' | 'subscribe' | 'unsubscribe'): void {
  const reasons = new Map<string, string>();
  for (const email of response.invalidEmails ?? []) reasons.set(email.toLowerCase(), FAILURE_REASONS[0]![1]);
  for (const [key, reason] of FAILURE_REASONS) {
    for (const email of (response.failedUpdates?.[key] as string[] | undefined) ?? []) {
      // Unsubscribing someone Iterable does not know already holds.
      if (key === 'notFoundEmails' && action === 'unsubscribe') continue;
      reasons.set(email.toLowerCase(), reason);
    }
  }
  let named = 0;
  for (const row of rows) {
    const reason = reasons.get(row.email);
    if (reason === undefined) continue;
    named++;
    outcomes.set(row.index, rejected(reason));
  }
  const notFound = action === 'unsubscribe' ? (response.failedUpdates?.notFoundEmails?.length ?? 0) : 0;
  const unexplained = response.failCount - notFound > named;
  for (const row of rows) if (!reasons.has(row.email)) outcomes.set(row.index, unexplained ? retry(`Iterable reported ${response.failCount} failures but named only ${named}`) : ok());
}

async function unsubscribe(client: IterableClient, listId: number, rows: Array<{ index: number; email: string }>, channel: boolean, outcomes: RowOutcomes): Promise<void> {
  const sized = rows.map((r) => ({ ...r, bytes: r.email.length + 16 }));
  for (const chunk of chunkBySize(sized)) applyResponse(await client.unsubscribe(listId, chunk.map((r) => r.email), channel), chunk, outcomes, 'unsubscribe');
}


