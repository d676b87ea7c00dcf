/**
 * The webhook protocol: one POST per batch with a JSON body (ours, or rendered from the
 * user's Handlebars template), signed with HMAC-SHA256 over the exact body bytes, and the
 * receiver's answer mapped to per-row outcomes. The answer is validated with zod: an empty
 * 2xx means every row was accepted; `{ results: [{ status, reason? }] }` gives one outcome per
 * row, in order.
 */
import Handlebars from 'handlebars';
import { z } from 'zod';
import { ConnectorError, hmacSha256Hex, parseResponse, throwForStatus, type Batch, type ConnectorContext, type RowOutcome } from '../kit';

export interface WebhookSettings {
  url: string;
  secret?: string;
  signatureHeader: string;
  headers: Record<string, string>;
  bodyTemplate?: string;
}

export const webhookAnswerSchema = z.union([
  z.undefined(),
  z.string(),
  z.looseObject({
    results: z
      .array(
        z.looseObject({
          status: z.enum(['ok', 'rejected', 'retry']),
          reason: z.string().optional(),
          id: z.union([z.string(), z.number()]).optional(),
        }),
      )
      .optional(),
  }),
]);

/** A compiled template per template text: compiling per batch would dominate small batches. */
const templates = new Map<string, Handlebars.TemplateDelegate>();
const handlebars = Handlebars.create();
handlebars.registerHelper('json', (value: unknown) => new Handlebars.SafeString(JSON.stringify(value ?? null)));

export function renderBody(settings: WebhookSettings, batch: Batch, sentAt: string): string {
  if (!settings.bodyTemplate) {
    return JSON.stringify({ object: batch.object, op: batch.op, sent_at: sentAt, rows: batch.rows.map((r) => ({ key: r.key, fields: r.fields })) });
  }
  let template = templates.get(settings.bodyTemplate);
  if (!template) {
    template = handlebars.compile(settings.bodyTemplate, { noEscape: true, strict: true });
    templates.set(settings.bodyTemplate, template);
  }
  return template({ object: batch.object, op: batch.op, sent_at: sentAt, options: batch.options, rows: batch.rows });
}

export function signatureOf(secret: string, timestamp: string, body: string): string {
  return `sha256=${hmacSha256Hex(secret, `${timestamp}.${body}`)}`;
}

export async function postBatch(destination: string, ctx: ConnectorContext<unknown>, settings: WebhookSettings, batch: Batch): Promise<RowOutcome[]> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  let body: string;
  try {
    body = renderBody(settings, batch, new Date().toISOString());
  } catch (cause) {
    throw new ConnectorError(destination, 'config', `body template failed: ${(cause as Error).message}`, { cause, hint: 'fix config.body_template in destinations.yml' });
  }
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-cdp-timestamp': timestamp, 'x-cdp-op': batch.op, ...settings.headers };
  if (settings.secret) headers[settings.signatureHeader] = signatureOf(settings.secret, timestamp, body);
  const response = await ctx.http({ method: 'POST', path: settings.url, headers, rawBody: body });
  throwForStatus(destination, response, `POST ${batch.op} ${batch.object}`);
  const answer = parseResponse(destination, webhookAnswerSchema, response, `POST ${batch.op} ${batch.object}`);
  const results = typeof answer === 'object' ? answer.results : undefined;
  if (!results) return batch.rows.map(() => ({ status: 'ok' }));
  if (results.length !== batch.rows.length) {
    throw new ConnectorError(destination, 'transient', `the receiver answered ${results.length} results for ${batch.rows.length} rows`, {
      hint: 'a receiver returning results must return one per row, in order',
    });
  }
  return results.map((r): RowOutcome => {
    if (r.status === 'ok') return r.id === undefined ? { status: 'ok' } : { status: 'ok', externalId: String(r.id) };
    if (r.status === 'rejected') return { status: 'rejected', reason: r.reason ?? 'rejected by the receiver' };
    return { status: 'retry', reason: r.reason ?? 'the receiver asked to retry' };
  });
}
