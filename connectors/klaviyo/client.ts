/**
 * Klaviyo's JSON:API (revision 2026-07-15, ../shared/specs/klaviyo/stable.json, which the test
 * fake enforces on every request) as the klaviyo connector uses it: profile bulk import jobs
 * (create, poll, import-errors), profile lookup by email, list relationships (remove), email
 * subscription bulk create/delete jobs, and list reads for `check` and discovery.
 *
 * Invariants: every request carries `Authorization: Klaviyo-API-Key …`, the `revision` header
 * and, with a body, `Content-Type: application/vnd.api+json`; every response body is validated
 * with zod; a non-2xx answer becomes a classified ConnectorError (401/403 'auth' with the
 * missing-scope hint, 429 'rate_limited' with Retry-After, 5xx 'transient', 404 'config',
 * other 4xx 'permanent' — the engine then splits the batch) carrying Klaviyo's
 * `errors[].detail`. No method here decides a row's outcome (index.ts does).
 */
import { z } from 'zod';
import { ConnectorError, failureForStatus, parseResponse, readRateLimitHeaders, type ConnectorContext, type HttpRequest, type HttpResponse } from '../kit';

export const DESTINATION = 'klaviyo';
export const KLAVIYO_REVISION = '2026-07-15';
/** Bulk import: 10,000 profiles and 5 MB a request, 100 KB a profile. */
export const KLAVIYO_IMPORT_MAX_PROFILES = 10_000;
export const KLAVIYO_IMPORT_MAX_BYTES = 5 * 1024 * 1024;
export const KLAVIYO_PROFILE_MAX_BYTES = 100 * 1024;
/** List relationships and subscription jobs: 1,000 profiles a call. */
export const KLAVIYO_LIST_CHUNK = 1_000;
/** GET /api/profiles and import-errors pages hold at most 100. */
export const KLAVIYO_PAGE_SIZE = 100;
/**
 * The tier of the endpoints used (M): burst 10/s and steady 150/min, both at once. The
 * engine's budget keeps every window, so a short sync runs at the full burst rate and a long
 * one settles at 150/min without ever drawing a 429. Larger accounts raise it with
 * `limits.requests_per_second` in destinations.yml.
 */
export const KLAVIYO_RATE_WINDOWS = [
  { count: 10, perMs: 1_000 },
  { count: 150, perMs: 60_000 },
] as const;

const errorItemSchema = z.object({ id: z.string().optional(), code: z.string().optional(), title: z.string().optional(), detail: z.string().optional(), source: z.object({ pointer: z.string().optional(), parameter: z.string().optional() }).passthrough().optional() });
const errorBodySchema = z.object({ errors: z.array(errorItemSchema) });

export const importJobSchema = z.object({
  data: z.object({
    type: z.literal('profile-bulk-import-job'),
    id: z.string(),
    attributes: z.object({
      status: z.enum(['cancelled', 'complete', 'processing', 'queued']),
      total_count: z.number(),
      completed_count: z.number().nullable().optional(),
      failed_count: z.number().nullable().optional(),
    }),
  }),
});
export type KlaviyoImportJob = z.infer<typeof importJobSchema>['data'];

const importErrorsSchema = z.object({
  data: z.array(
    z.object({
      id: z.string(),
      attributes: z.object({
        code: z.string(),
        title: z.string(),
        detail: z.string(),
        source: z.object({ pointer: z.string().nullable().optional() }).passthrough(),
        original_payload: z.record(z.string(), z.unknown()).nullable().optional(),
      }),
    }),
  ),
  links: z.object({ next: z.string().nullable().optional() }).passthrough().optional(),
});
export type KlaviyoImportError = z.infer<typeof importErrorsSchema>['data'][number]['attributes'];

const profilesSchema = z.object({
  data: z.array(z.object({ id: z.string(), attributes: z.object({ email: z.string().nullable().optional() }).passthrough() })),
  links: z.object({ next: z.string().nullable().optional() }).passthrough().optional(),
});
const listsSchema = z.object({ data: z.array(z.object({ id: z.string(), attributes: z.object({ name: z.string().nullable().optional() }).passthrough() })), links: z.object({ next: z.string().nullable().optional() }).passthrough().optional() });

/** A profile as the bulk import job takes it (spec: ProfileImportJobProfile). */
export interface ImportProfile {
  type: 'profile';
  attributes: Record<string, unknown>;
  meta?: { patch_properties: { unset: string[] } };
}

export function klaviyoMessage(body: unknown): string | undefined {
  const parsed = errorBodySchema.safeParse(body);
  if (!parsed.success) return typeof body === 'string' && body !== '' ? body.slice(0, 300) : undefined;
  return parsed.data.errors.map((e) => e.detail ?? e.title ?? e.code).filter(Boolean).join('; ').slice(0, 500) || undefined;
}

export class KlaviyoClient {
  constructor(private readonly ctx: ConnectorContext<{ privateKey: string }>) {}

  /** One list read: proves the key and the lists:read scope. */
  async lists(pageUrl?: string): Promise<z.infer<typeof listsSchema>> {
    const response = await this.send(pageUrl ? { method: 'GET', path: pageUrl } : { method: 'GET', path: '/api/lists', query: { 'fields[list]': 'name' } }, 'read lists');
    return parseResponse(DESTINATION, listsSchema, response, 'read lists');
  }

  async getList(listId: string): Promise<void> {
    const response = await this.send({ method: 'GET', path: `/api/lists/${encodeURIComponent(listId)}`, query: { 'fields[list]': 'name' } }, `read list ${listId}`);
    parseResponse(DESTINATION, z.object({ data: z.object({ id: z.string() }) }), response, `read list ${listId}`);
  }

  async createImportJob(profiles: ImportProfile[], listId?: string): Promise<KlaviyoImportJob> {
    const what = `import ${profiles.length} profiles`;
    const data: Record<string, unknown> = { type: 'profile-bulk-import-job', attributes: { profiles: { data: profiles } } };
    if (listId) data.relationships = { lists: { data: [{ type: 'list', id: listId }] } };
    const response = await this.send({ method: 'POST', path: '/api/profile-bulk-import-jobs', body: { data } }, what);
    return parseResponse(DESTINATION, importJobSchema, response, what).data;
  }

  async importJob(jobId: string): Promise<KlaviyoImportJob> {
    const what = `read import job ${jobId}`;
    const response = await this.send({ method: 'GET', path: `/api/profile-bulk-import-jobs/${encodeURIComponent(jobId)}` }, what);
    return parseResponse(DESTINATION, importJobSchema, response, what).data;
  }

  /** Every import error of a job (pages of 100, following `links.next`). */
  async importErrors(jobId: string): Promise<KlaviyoImportError[]> {
    const errors: KlaviyoImportError[] = [];
    let request: HttpRequest | undefined = { method: 'GET', path: `/api/profile-bulk-import-jobs/${encodeURIComponent(jobId)}/import-errors`, query: { 'page[size]': KLAVIYO_PAGE_SIZE } };
    for (let page = 0; request && page < 1000; page++) {
      const parsed: z.infer<typeof importErrorsSchema> = parseResponse(DESTINATION, importErrorsSchema, await this.send(request, `read import errors of job ${jobId}`), 'read import errors');
      errors.push(...parsed.data.map((e) => e.attributes));
      request = parsed.links?.next ? { method: 'GET', path: parsed.links.next } : undefined;
    }
    return errors;
  }

  /** Profile ids by email (≤100 a call); emails Klaviyo does not have are absent. */
  async idsByEmail(emails: string[]): Promise<Map<string, string>> {
    const filter = `any(email,[${emails.map((e) => JSON.stringify(e)).join(',')}])`;
    const response = await this.send({ method: 'GET', path: '/api/profiles', query: { filter, 'fields[profile]': 'email', 'page[size]': KLAVIYO_PAGE_SIZE } }, `look up ${emails.length} profiles by email`);
    const ids = new Map<string, string>();
    for (const profile of parseResponse(DESTINATION, profilesSchema, response, 'look up profiles').data) if (profile.attributes.email) ids.set(profile.attributes.email.toLowerCase(), profile.id);
    return ids;
  }

  async removeFromList(listId: string, profileIds: string[]): Promise<void> {
    const body = { data: profileIds.map((id) => ({ type: 'profile', id })) };
    await this.send({ method: 'DELETE', path: `/api/lists/${encodeURIComponent(listId)}/relationships/profiles`, body }, `remove ${profileIds.length} profiles from list ${listId}`);
  }

  /** Email marketing consent: SUBSCRIBED (create job) or UNSUBSCRIBED (delete job; also leaves the list). */
  async subscriptionJob(kind: 'subscribe' | 'unsubscribe', emails: string[], listId?: string): Promise<void> {
    const consent = kind === 'subscribe' ? 'SUBSCRIBED' : 'UNSUBSCRIBED';
    const type = kind === 'subscribe' ? 'profile-subscription-bulk-create-job' : 'profile-subscription-bulk-delete-job';
    const data: Record<string, unknown> = {
      type,
      attributes: { profiles: { data: emails.map((email) => ({ type: 'profile', attributes: { email, subscriptions: { email: { marketing: { consent } } } } })) } },
    };
    if (listId) data.relationships = { list: { data: { type: 'list', id: listId } } };
    const path = kind === 'subscribe' ? '/api/profile-subscription-bulk-create-jobs' : '/api/profile-subscription-bulk-delete-jobs';
    await this.send({ method: 'POST', path, body: { data } }, `${kind} ${emails.length} profiles`);
  }

  private async send(request: HttpRequest, what: string): Promise<HttpResponse> {
    const headers: Record<string, string> = { authorization: `Klaviyo-API-Key ${this.ctx.config.privateKey}`, revision: KLAVIYO_REVISION, accept: 'application/vnd.api+json' };
    if (request.body !== undefined) headers['content-type'] = 'application/vnd.api+json';
    const response = await this.ctx.http({ ...request, headers: { ...headers, ...request.headers } });
    if (response.status < 300) return response;
    throw klaviyoError(response, what);
  }
}

export function klaviyoError(response: HttpResponse, what: string): ConnectorError {
  const failure = failureForStatus(response.status) ?? 'transient';
  const vendor = klaviyoMessage(response.body);
  const hints: Record<number, string> = {
    401: 'Klaviyo does not accept this private API key: create one under Settings → API Keys (it starts with pk_) and put it in destinations.yml (privateKey: ${KLAVIYO_PRIVATE_KEY})',
    403: 'the private key lacks a scope: it needs profiles:read, profiles:write, lists:read, lists:write and subscriptions:write (Settings → API Keys → edit the key)',
    404: 'check the list id in the sync’s object_options (Klaviyo → Lists & Segments → the list → Settings shows its id)',
    429: 'Klaviyo rate limit reached; the engine waits the Retry-After Klaviyo sent',
  };
  return new ConnectorError(DESTINATION, failure, `${what}: HTTP ${response.status}${vendor ? ` — ${vendor}` : ''}`, {
    hint: hints[response.status] ?? (failure === 'transient' ? 'Klaviyo had a problem; the engine retries' : 'Klaviyo refused the request; see the reason'),
    httpStatus: response.status,
    retryAfterMs: readRateLimitHeaders(response.headers).retryAfterMs ?? (response.status === 429 ? 1000 : undefined),
  });
}
