/**
 * Mailchimp Marketing API 3.0 as the mailchimp connector uses it
 * (../shared/research/destinations.md §3): batch subscribe/update `POST /lists/{id}`,
 * member PATCH / archive / tags, static segments (tags), merge fields, ping.
 *
 * Invariants: every response body is validated with zod (`parseResponse`: an unknown shape
 * is a 'transient' failure, never a silent success); a failed answer becomes a classified
 * ConnectorError with a hint a user can act on — 401 'auth' naming the data center the key
 * points at, 403 'auth' (a bare 403 without Mailchimp's JSON is throttling: 'rate_limited'),
 * 404 'config' naming the audience, 429 'rate_limited', 5xx 'transient', other 4xx
 * 'permanent' with Mailchimp's `detail`. This file never decides a row's outcome.
 */
import { z } from 'zod';
import { ConnectorError, parseResponse, readRateLimitHeaders, type ConnectorContext, type HttpRequest, type HttpResponse } from '../kit';

export const DESTINATION = 'mailchimp';
/** Batch subscribe takes at most 500 members; static segments 500 adds and 500 removals. */
export const MAILCHIMP_BATCH_LIMIT = 500;
/** Mailchimp allows 10 simultaneous connections per key, then answers 429. */
export const MAILCHIMP_MAX_CONNECTIONS = 10;

export interface MailchimpConnection {
  apiKey: string;
  baseUrl?: string;
}

/** The data center is the API key's suffix (`…-us19` → `us19`). */
export function dataCenterOf(apiKey: string): string | undefined {
  return /-([a-z]{2,}\d+)$/.exec(apiKey.trim())?.[1];
}

/** `https://{dc}.api.mailchimp.com/3.0`, or the configured base URL (tests point it at a fake). */
export function mailchimpBaseUrl(config: MailchimpConnection): string {
  if (config.baseUrl) return config.baseUrl.replace(/\/+$/, '');
  const dc = dataCenterOf(config.apiKey);
  if (!dc) throw new ConnectorError(DESTINATION, 'config', 'the API key has no data-center suffix', { hint: 'copy the whole key from Mailchimp (Profile → Extras → API keys); it ends with the data center, e.g. -us19' });
  return `https://${dc}.api.mailchimp.com/3.0`;
}

// ----------------------------------------------------------------------------- schemas

const memberResultSchema = z.object({ id: z.string(), email_address: z.string(), status: z.string() });

export const batchResponseSchema = z.object({
  new_members: z.array(memberResultSchema),
  updated_members: z.array(memberResultSchema),
  errors: z.array(z.object({ email_address: z.string(), error: z.string(), error_code: z.string().optional(), field: z.string().optional(), field_message: z.string().optional() })),
  total_created: z.number().optional(),
  total_updated: z.number().optional(),
  error_count: z.number(),
});
export type MailchimpBatchResponse = z.infer<typeof batchResponseSchema>;

const segmentMembersResponseSchema = z.object({
  members_added: z.array(memberResultSchema),
  members_removed: z.array(memberResultSchema),
  errors: z.array(z.object({ email_addresses: z.array(z.string()), error: z.string() })),
  total_added: z.number(),
  total_removed: z.number(),
  error_count: z.number(),
});
export type MailchimpSegmentResponse = z.infer<typeof segmentMembersResponseSchema>;

const segmentSchema = z.object({ id: z.number(), name: z.string(), type: z.string() });
const segmentsResponseSchema = z.object({ segments: z.array(segmentSchema), total_items: z.number() });

export const mergeFieldSchema = z.object({
  tag: z.string(),
  name: z.string(),
  type: z.string(),
  required: z.boolean(),
  options: z.record(z.string(), z.unknown()).optional(),
});
export type MailchimpMergeField = z.infer<typeof mergeFieldSchema>;
const mergeFieldsResponseSchema = z.object({ merge_fields: z.array(mergeFieldSchema), total_items: z.number() });

const audienceSchema = z.object({ id: z.string(), name: z.string() });
const listsResponseSchema = z.object({ lists: z.array(audienceSchema), total_items: z.number() });
const pingSchema = z.object({ health_status: z.string() });
const accountSchema = z.object({ account_id: z.string(), account_name: z.string() });

/** Mailchimp's problem+json error body. */
const problemSchema = z.object({
  title: z.string().optional(),
  detail: z.string().optional(),
  status: z.number().optional(),
  errors: z.array(z.object({ field: z.string().optional(), message: z.string() })).optional(),
});

// ----------------------------------------------------------------------------- client

export interface BatchMember {
  email_address: string;
  status: 'subscribed' | 'unsubscribed' | 'pending' | 'transactional';
  merge_fields?: Record<string, string | number | Record<string, string>>;
  tags?: string[];
}

export class MailchimpClient {
  private readonly base: string;
  private readonly authorization: string;

  constructor(private readonly ctx: ConnectorContext<MailchimpConnection>) {
    this.base = mailchimpBaseUrl(ctx.config);
    // Basic auth: any user name, the key as password (Mailchimp's documented scheme).
    this.authorization = `Basic ${Buffer.from(`cdp:${ctx.config.apiKey}`).toString('base64')}`;
  }

  /** Sends a request; never throws for a status (callers map it). */
  send(method: HttpRequest['method'], path: string, body?: unknown, query?: HttpRequest['query']): Promise<HttpResponse> {
    return this.ctx.http({ method, path: `${this.base}${path}`, body, query, headers: { authorization: this.authorization } });
  }

  /** Throws a classified ConnectorError for a non-2xx answer. */
  ensureOk(response: HttpResponse, what: string, listId?: string): void {
    if (response.status >= 200 && response.status < 300) return;
    throw this.errorFor(response, what, listId);
  }

  errorFor(response: HttpResponse, what: string, listId?: string): ConnectorError {
    const parsed = problemSchema.safeParse(response.body);
    const problem = parsed.success ? parsed.data : undefined;
    const detail = [problem?.title, problem?.detail].filter(Boolean).join(': ');
    const fieldErrors = problem?.errors?.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; ');
    const message = `${what}: HTTP ${response.status}${detail ? ` — ${detail}` : ''}${fieldErrors ? ` (${fieldErrors})` : ''}`;
    const status = response.status;
    const retryAfterMs = readRateLimitHeaders(response.headers).retryAfterMs;
    const dc = dataCenterOf(this.ctx.config.apiKey);
    if (status === 401) {
      return new ConnectorError(DESTINATION, 'auth', message, {
        httpStatus: status,
        hint: dc
          ? `Mailchimp refused the API key. A key ending in -${dc} only works at ${dc}.api.mailchimp.com; check it was copied whole and not revoked (Profile → Extras → API keys)`
          : 'Mailchimp refused the API key: copy the whole key (it ends with the data center, e.g. -us19) from Profile → Extras → API keys',
      });
    }
    if (status === 403 && !problem?.title) {
      // Mailchimp sometimes answers heavy throttling with a bare 403.
      return new ConnectorError(DESTINATION, 'rate_limited', message, { httpStatus: status, retryAfterMs, hint: 'Mailchimp is throttling this key; the engine waits and retries' });
    }
    if (status === 403) {
      return new ConnectorError(DESTINATION, 'auth', message, { httpStatus: status, hint: 'the key works but this account may not do this (user disabled, or the account is suspended or lacks access to the audience)' });
    }
    if (status === 404) {
      return new ConnectorError(DESTINATION, 'config', message, { httpStatus: status, hint: listId ? `no audience ${listId} in this account: check object_options.listId (Audience → Settings → Audience name and defaults → Audience ID)` : 'check the destination settings' });
    }
    if (status === 429) {
      return new ConnectorError(DESTINATION, 'rate_limited', message, { httpStatus: status, retryAfterMs, hint: `Mailchimp allows ${MAILCHIMP_MAX_CONNECTIONS} simultaneous connections per key; the engine waits and retries (lower limits.concurrency if other tools share the key)` });
    }
    if (status >= 500 || status === 408) return new ConnectorError(DESTINATION, 'transient', message, { httpStatus: status, hint: 'Mailchimp had a problem; the engine retries' });
    return new ConnectorError(DESTINATION, 'permanent', message, { httpStatus: status, hint: 'Mailchimp refused the request; see the reason' });
  }

  async ping(): Promise<void> {
    const response = await this.send('GET', '/ping');
    this.ensureOk(response, 'check API key');
    parseResponse(DESTINATION, pingSchema, response, 'ping');
  }

  async account(): Promise<z.infer<typeof accountSchema>> {
    const response = await this.send('GET', '/');
    this.ensureOk(response, 'read account');
    return parseResponse(DESTINATION, accountSchema, response, 'read account');
  }

  async audiences(): Promise<Array<z.infer<typeof audienceSchema>>> {
    const response = await this.send('GET', '/lists', undefined, { count: 1000, fields: 'lists.id,lists.name,total_items' });
    this.ensureOk(response, 'list audiences');
    return parseResponse(DESTINATION, listsResponseSchema, response, 'list audiences').lists;
  }

  async mergeFields(listId: string): Promise<MailchimpMergeField[]> {
    const response = await this.send('GET', `/lists/${encodeURIComponent(listId)}/merge-fields`, undefined, { count: 1000 });
    this.ensureOk(response, 'read merge fields', listId);
    return parseResponse(DESTINATION, mergeFieldsResponseSchema, response, 'read merge fields').merge_fields;
  }

  async batchSubscribe(listId: string, members: BatchMember[], updateExisting: boolean): Promise<MailchimpBatchResponse> {
    const response = await this.send('POST', `/lists/${encodeURIComponent(listId)}`, { members, update_existing: updateExisting });
    this.ensureOk(response, 'batch subscribe', listId);
    return parseResponse(DESTINATION, batchResponseSchema, response, 'batch subscribe');
  }

  /** PATCH a member; the raw response, because 404 and 400 are row outcomes here. */
  patchMember(listId: string, hash: string, body: { merge_fields?: BatchMember['merge_fields']; status?: 'unsubscribed' }): Promise<HttpResponse> {
    return this.send('PATCH', `/lists/${encodeURIComponent(listId)}/members/${hash}`, body);
  }

  addTags(listId: string, hash: string, tags: string[]): Promise<HttpResponse> {
    return this.send('POST', `/lists/${encodeURIComponent(listId)}/members/${hash}/tags`, { tags: tags.map((name) => ({ name, status: 'active' })) });
  }

  /** Archives a member (Mailchimp's DELETE; `delete-permanent` is never used). */
  archiveMember(listId: string, hash: string): Promise<HttpResponse> {
    return this.send('DELETE', `/lists/${encodeURIComponent(listId)}/members/${hash}`);
  }

  async staticSegments(listId: string): Promise<Array<z.infer<typeof segmentSchema>>> {
    const response = await this.send('GET', `/lists/${encodeURIComponent(listId)}/segments`, undefined, { type: 'static', count: 1000 });
    this.ensureOk(response, 'list tags', listId);
    return parseResponse(DESTINATION, segmentsResponseSchema, response, 'list tags').segments;
  }

  async createStaticSegment(listId: string, name: string): Promise<number> {
    const response = await this.send('POST', `/lists/${encodeURIComponent(listId)}/segments`, { name, static_segment: [] });
    this.ensureOk(response, `create tag ${name}`, listId);
    return parseResponse(DESTINATION, segmentSchema, response, 'create tag').id;
  }

  async segmentMembers(listId: string, segmentId: number, change: { members_to_add?: string[]; members_to_remove?: string[] }): Promise<MailchimpSegmentResponse> {
    const response = await this.send('POST', `/lists/${encodeURIComponent(listId)}/segments/${segmentId}`, change);
    this.ensureOk(response, 'change tag members', listId);
    return parseResponse(DESTINATION, segmentMembersResponseSchema, response, 'change tag members');
  }
}

/** Mailchimp's reason text from an error body (for row rejections). */
export function mailchimpReason(response: HttpResponse): string {
  const parsed = problemSchema.safeParse(response.body);
  if (!parsed.success) return `HTTP ${response.status}`;
  const fields = parsed.data.errors?.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; ');
  return [parsed.data.detail ?? parsed.data.title ?? `HTTP ${response.status}`, fields].filter(Boolean).join(' — ');
}
