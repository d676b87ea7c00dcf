/**
 * `webhook`: JSON batches POSTed to a URL you own — the generic way to feed anything that
 * speaks HTTP. Every op of every mode is allowed (the receiver decides what it means);
 * retries, rate limits and batching are the engine's.
 */
import { z } from 'zod';
import { ConnectorError, defineDestination, secret, throwForStatus } from '../kit';
import { postBatch, type WebhookSettings } from './client';

export const webhookConfigSchema = z.strictObject({
  /** Where batches are POSTed. */
  url: z.string().url(),
  /** HMAC-SHA256 key: each request carries `x-cdp-signature: sha256=<hex of "<timestamp>.<body>">`. */
  signing_secret: secret().optional(),
  signature_header: z.string().min(1).default('x-cdp-signature'),
  /**
   * Extra headers (e.g. an authorization header: use ${ENV} for the token). Secret as a whole:
   * they usually carry a credential, so they are sealed at rest and shown only as set/unset.
   */
  headers: z.record(z.string(), z.string()).meta({ secret: true }).optional(),
  /** Handlebars template of the body; gets object, op, sent_at, options and rows ({ key, fields }); `{{json x}}` writes JSON. */
  body_template: z.string().min(1).optional(),
  /** GET this URL in `check` (defaults to an OPTIONS-free probe: a POST of an empty batch). */
  check_url: z.string().url().optional(),
});

export type WebhookConfig = z.output<typeof webhookConfigSchema>;

const settingsOf = (config: WebhookConfig): WebhookSettings => ({
  url: config.url,
  secret: config.signing_secret,
  signatureHeader: config.signature_header,
  headers: config.headers ?? {},
  bodyTemplate: config.body_template,
});

const allModes = ['upsert', 'update', 'insert', 'mirror', 'add_remove', 'archive'] as const;

export default defineDestination({
  type: 'webhook',
  title: 'Webhook',
  category: 'generic',
  config: webhookConfigSchema,
  objects: {
    records: { key: 'key', modes: allModes, description: 'Any record; the receiver decides' },
    events: { key: 'key', modes: ['insert'], description: 'Append-only events' },
  },
  limits: { batchRows: 1000, concurrency: 4 },
  async check(ctx) {
    if (ctx.config.check_url) {
      const response = await ctx.http({ method: 'GET', path: ctx.config.check_url, headers: ctx.config.headers ?? {} });
      throwForStatus('webhook', response, 'GET check_url');
      return;
    }
    // An empty batch: a receiver must accept it (nothing to do).
    const outcomes = await postBatch('webhook', ctx, settingsOf(ctx.config), { object: 'records', op: 'upsert', rows: [], options: {} });
    if (outcomes.length !== 0) throw new ConnectorError('webhook', 'config', 'the receiver answered rows for an empty batch');
  },
  write: (ctx, batch) => postBatch('webhook', ctx, settingsOf(ctx.config), batch),
});
