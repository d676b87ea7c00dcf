/**
 * The Meta Custom Audiences destination (issue 9): members of a customer-file audience,
 * added with `POST /{audience_id}/users` and removed with `DELETE` on the same edge, in a
 * multi-key payload (EMAIL, PHONE, FN, LN, COUNTRY, ZIP, MADID, EXTERN_ID …) normalised and
 * hashed by Meta's rules (normalise.ts).
 *
 * Invariants:
 *  - no raw email or phone is ever sent: only `metaIdentifiers` output goes into a payload;
 *  - one outcome per row, in order; a row with no email, phone, MADID or external id after
 *    normalisation is `rejected` with the reason and never sent; a row is `ok` only after
 *    Meta acknowledged its request; Meta reports bad entries only as a count
 *    (`num_invalid_entries`), which goes into the match-rate report, not into row outcomes;
 *  - ≤10,000 rows per request; a batch that needs more requests is one upload session
 *    (same session_id, batch_seq 1..n, last_batch_flag on the last);
 *  - `ok.externalId` is a member token (the identifiers as sent), so a removal — which the
 *    engine sends with the key and this id only — removes exactly what was added;
 *  - the audience comes from option audienceId, or is found by option audienceName in the
 *    configured ad account and created when missing (once per process, even under concurrency).
 */
import { z } from 'zod';
import { ConnectorError, defineDestination, objectOptions, ok, phoneDefaultCountryOption, rejected, secret, type Batch, type ConnectorContext, type RowOutcome } from '../kit';
import { AdBatchReporter, type AdBatchReport } from '../kit/match-rate';
import { decodeMemberToken, encodeMemberToken } from '../kit/audience-member-token';
import { DESTINATION, META_MAX_ROWS, MetaClient, type MetaSession } from './client';
import { META_KEYS, META_MATCH_KEYS, metaIdentifiers, metaValue, type MetaKey } from './normalise';

export { metaIdentifiers, metaValue, normaliseMetaValue, normaliseMetaPhone, META_KEYS } from './normalise';
export { metaError } from './client';

export const metaConfigSchema = z.object({
  /** A system-user access token with ads_management. */
  accessToken: secret(),
  /** The ad account (act_123 or 123) in which audiences are found or created by name. */
  adAccountId: z.string().regex(/^(act_)?\d+$/, 'the ad account id is digits, optionally prefixed act_').optional(),
  /** Only changed to point tests at a local fake. */
  baseUrl: z.string().url().default('https://graph.facebook.com/v25.0'),
});
export type MetaConfig = z.output<typeof metaConfigSchema>;

const optionsSchema = z
  .strictObject({
    audienceId: z.string().regex(/^\d+$/, 'audienceId is the numeric custom audience id').optional(),
    /** Find (or create) the audience by name in config.adAccountId. */
    audienceName: z.string().min(1).optional(),
    /** Country of phones written without a country code: ISO 3166 ('GB') or calling code ('44'). */
    defaultCountryCode: phoneDefaultCountryOption.optional(),
  })
  .refine((o) => o.audienceId !== undefined || o.audienceName !== undefined, { message: 'give audienceId, or audienceName to find or create the audience' });
const OPTIONS = objectOptions(DESTINATION, { audience_members: optionsSchema }, { unsupported: 'use mode add_remove' });

const TOKEN = 'meta';
type Ctx = ConnectorContext<MetaConfig>;

/** One audience lookup/creation per (account, name) per process: batches run concurrently. */
const audienceIds = new Map<string, Promise<string>>();

async function resolveAudience(ctx: Ctx, options: z.output<typeof optionsSchema>): Promise<string> {
  if (options.audienceId) return options.audienceId;
  const account = ctx.config.adAccountId;
  if (!account) {
    throw new ConnectorError(DESTINATION, 'config', `option audienceName needs adAccountId in the destination config`, { hint: 'set adAccountId (act_…) or give audienceId instead' });
  }
  const cacheKey = `${ctx.config.baseUrl}|${account}|${options.audienceName!}`;
  let pending = audienceIds.get(cacheKey);
  if (!pending) {
    pending = new MetaClient(ctx).findOrCreateAudience(account, options.audienceName!);
    audienceIds.set(cacheKey, pending);
    // A failed lookup must not stick: the next batch tries again.
    pending.catch(() => audienceIds.delete(cacheKey));
  }
  return pending;
}

interface Member {
  index: number;
  values: Partial<Record<MetaKey, string>>;
}

/** Sends one batch and says how it went for the match-rate report (`write` keeps only the outcomes). */
export async function writeMetaBatch(ctx: Ctx, batch: Batch): Promise<{ outcomes: RowOutcome[]; report: AdBatchReport }> {
  if (batch.object !== 'audience_members') throw OPTIONS.unknownObject(batch);
  if (batch.op !== 'add' && batch.op !== 'remove') throw OPTIONS.unsupported(batch);
  const options = OPTIONS.parse('audience_members', batch);
  const reporter = new AdBatchReporter(batch.rows.length);
  const outcomes: RowOutcome[] = new Array(batch.rows.length);
  const members: Member[] = [];

  batch.rows.forEach((row, index) => {
    let values: Partial<Record<MetaKey, string>>;
    let unusable: string[] = [];
    const remembered = batch.op === 'remove' ? decodeMemberToken(TOKEN, row.externalId) : undefined;
    if (remembered) values = remembered as Partial<Record<MetaKey, string>>;
    else {
      ({ values, unusable } = metaIdentifiers(row.fields, options.defaultCountryCode));
      // A removal of a member we hold no token for: the key itself may be the email.
      if (batch.op === 'remove' && Object.keys(values).length === 0) {
        const email = metaValue('EMAIL', row.key);
        if (email !== null) values = { EMAIL: email };
      }
    }
    reporter.identifiers(index, Object.keys(values).map((k) => k.toLowerCase()));
    if (!Object.keys(values).some((k) => META_MATCH_KEYS.has(k as MetaKey))) {
      outcomes[index] = rejected(`no usable email, phone, MADID or external id for Meta${unusable.length ? ` (${unusable.join('; ')})` : ''}`);
      return;
    }
    members.push({ index, values });
  });

  if (members.length > 0) {
    const audienceId = await resolveAudience(ctx, options);
    const client = new MetaClient(ctx);
    const chunks: Member[][] = [];
    for (let i = 0; i < members.length; i += META_MAX_ROWS) chunks.push(members.slice(i, i + META_MAX_ROWS));
    // A session only when the batch needs more than one request (Meta groups them into one upload).
    const sessionId = chunks.length > 1 ? Math.floor(Math.random() * Number.MAX_SAFE_INTEGER) : undefined;
    for (const [seq, chunk] of chunks.entries()) {
      // The schema is the keys this chunk uses, in Meta's order; a missing value is ''.
      const schema = META_KEYS.filter((k) => chunk.some((m) => m.values[k] !== undefined));
      const data = chunk.map((m) => schema.map((k) => m.values[k] ?? ''));
      const session: MetaSession | undefined =
        sessionId === undefined ? undefined : { session_id: sessionId, batch_seq: seq + 1, last_batch_flag: seq === chunks.length - 1, estimated_num_total: members.length };
      const response = await client.changeUsers(audienceId, batch.op === 'add' ? 'add' : 'remove', { schema: [...schema], data }, session);
      reporter.sent(chunk.map((m) => m.index));
      reporter.invalidCount(response.num_invalid_entries);
      for (const m of chunk) outcomes[m.index] = ok(encodeMemberToken(TOKEN, m.values as Record<string, string>));
    }
  }
  return { outcomes, report: reporter.finish(outcomes) };
}

export default defineDestination({
  type: 'meta',
  title: 'Meta Custom Audiences',
  category: 'ads',
  config: metaConfigSchema,
  objects: {
    audience_members: {
      key: 'id',
      modes: ['add_remove'],
      description:
        'Members of a customer-file custom audience. Map fields named email, phone, fn/first_name, ln/last_name, country, zip, ct/city, st/state, gen, doby, dobm, dobd, madid, extern_id. Options: audienceId, or audienceName (found or created in adAccountId); defaultCountryCode for national phone numbers.',
    },
  },
  // Meta takes 10,000 rows per request; its limits are per ad account (BUC), not published as numbers.
  limits: { batchRows: META_MAX_ROWS, concurrency: 2 },

  async check(ctx) {
    await new MetaClient(ctx).checkToken();
  },

  async write(ctx, batch) {
    const { outcomes, report } = await writeMetaBatch(ctx, batch);
    ctx.report?.(report);
    return outcomes;
  },
});
