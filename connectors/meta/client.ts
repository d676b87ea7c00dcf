/**
 * Meta's Marketing API as the meta connector uses it (destinations.md §10): add/remove
 * users of a custom audience (`POST`/`DELETE /{audience_id}/users`, multi-key payload),
 * find or create a customer-file audience in an ad account, and a token check.
 *
 * Invariants: every response body is validated with zod; a failed answer becomes a
 * classified ConnectorError — Meta signals rate limiting with error codes (4, 17, 32, 613,
 * 80000–80014) inside an error body, usually with HTTP 400, so the code decides, not the
 * status; 190 (bad token) and 200/10 (permission) are 'auth'; a flagged audience (100 /
 * 1713230) is 'config'. The token goes in the Authorization header, never in a URL.
 */
import { z } from 'zod';
import { ConnectorError, parseResponse, readRateLimitHeaders, type ConnectorContext, type HttpRequest, type HttpResponse } from '../kit';

export const DESTINATION = 'meta';
/** Meta refuses more rows than this in one users request. */
export const META_MAX_ROWS = 10_000;

const errorBodySchema = z.object({
  error: z.object({
    message: z.string().default(''),
    type: z.string().optional(),
    code: z.number(),
    error_subcode: z.number().optional(),
    fbtrace_id: z.string().optional(),
  }),
});

export const usersResponseSchema = z.object({
  audience_id: z.string(),
  session_id: z.union([z.string(), z.number()]).optional(),
  num_received: z.number(),
  num_invalid_entries: z.number(),
  invalid_entry_samples: z.record(z.string(), z.unknown()).optional(),
});
export type MetaUsersResponse = z.infer<typeof usersResponseSchema>;

const audienceListSchema = z.object({
  data: z.array(z.object({ id: z.string(), name: z.string() })),
  paging: z.object({ next: z.string().optional() }).optional(),
});
const idSchema = z.object({ id: z.string() });

export interface MetaPayload {
  schema: string[];
  data: string[][];
}

export interface MetaSession {
  session_id: number;
  batch_seq: number;
  last_batch_flag: boolean;
  estimated_num_total: number;
}

/** Error codes Meta uses for "too many calls" (app, user, page, ad-account and BUC limits). */
const RATE_LIMIT_CODES = new Set([4, 17, 32, 613, 80000, 80001, 80002, 80003, 80004, 80005, 80006, 80008, 80009, 80014]);

export class MetaClient {
  constructor(private readonly ctx: ConnectorContext<{ accessToken: string }>) {}

  async checkToken(): Promise<void> {
    const response = await this.send({ method: 'GET', path: '/me', query: { fields: 'id,name' } }, 'check the access token');
    parseResponse(DESTINATION, idSchema, response, 'check the access token');
  }

  async checkAudience(audienceId: string): Promise<void> {
    const response = await this.send({ method: 'GET', path: `/${encodeURIComponent(audienceId)}`, query: { fields: 'id,name' } }, `read audience ${audienceId}`);
    parseResponse(DESTINATION, idSchema, response, `read audience ${audienceId}`);
  }

  async changeUsers(audienceId: string, change: 'add' | 'remove', payload: MetaPayload, session?: MetaSession): Promise<MetaUsersResponse> {
    const what = `${change} ${payload.data.length} users ${change === 'add' ? 'to' : 'from'} audience ${audienceId}`;
    const body = session ? { payload, session } : { payload };
    const response = await this.send({ method: change === 'add' ? 'POST' : 'DELETE', path: `/${encodeURIComponent(audienceId)}/users`, body }, what);
    return parseResponse(DESTINATION, usersResponseSchema, response, what);
  }

  /** The customer-file audience with this name in the ad account, created when there is none. */
  async findOrCreateAudience(adAccountId: string, name: string): Promise<string> {
    const account = adAccountId.startsWith('act_') ? adAccountId : `act_${adAccountId}`;
    let path: string | undefined = `/${account}/customaudiences`;
    let query: HttpRequest['query'] = { fields: 'id,name', limit: 500 };
    while (path) {
      const response = await this.send({ method: 'GET', path, query }, `list audiences of ${account}`);
      const page = parseResponse(DESTINATION, audienceListSchema, response, `list audiences of ${account}`);
      const found = page.data.find((a) => a.name === name);
      if (found) return found.id;
      // `paging.next` is an absolute URL that already carries the query.
      path = page.paging?.next;
      query = undefined;
    }
    const created = await this.send(
      { method: 'POST', path: `/${account}/customaudiences`, body: { name, subtype: 'CUSTOM', customer_file_source: 'USER_PROVIDED_ONLY', description: 'Managed by warehouse-cdp' } },
      `create audience "${name}"`,
    );
    return parseResponse(DESTINATION, idSchema, created, `create audience "${name}"`).id;
  }

  private async send(request: HttpRequest, what: string): Promise<HttpResponse> {
    const response = await this.ctx.http({ ...request, headers: { ...request.headers, authorization: `Bearer ${this.ctx.config.accessToken}` } });
    if (response.status >= 200 && response.status < 300) return response;
    throw metaError(response, what);
  }
}

/** How long Meta asks us to wait: Retry-After, else the BUC header's minutes, else a minute. */
export function metaWaitMs(response: HttpResponse): number {
  const info = readRateLimitHeaders(response.headers);
  if (info.retryAfterMs !== undefined) return info.retryAfterMs;
  const buc = response.headers.get('x-business-use-case-usage');
  if (buc) {
    try {
      const minutes = Object.values(JSON.parse(buc) as Record<string, Array<{ estimated_time_to_regain_access?: number }>>)
        .flat()
        .map((u) => u.estimated_time_to_regain_access ?? 0);
      if (minutes.length > 0) return Math.max(...minutes) * 60_000;
    } catch {
      // An unreadable header: fall back to the default wait.
    }
  }
  return 60_000;
}

export function metaError(response: HttpResponse, what: string): ConnectorError {
  const parsed = errorBodySchema.safeParse(response.body);
  const status = response.status;
  const base = { httpStatus: status, cause: response.body };
  if (parsed.success) {
    const { code, error_subcode: subcode, message } = parsed.data.error;
    const said = `Meta error ${code}${subcode ? `/${subcode}` : ''}: ${message}`;
    if (RATE_LIMIT_CODES.has(code) || status === 429) {
      return new ConnectorError(DESTINATION, 'rate_limited', `${what}: rate limited (${said})`, {
        ...base,
        retryAfterMs: metaWaitMs(response),
        hint: 'Meta limits calls per ad account and app (Business Use Case limits); the engine waits. Advanced Access raises the quota',
      });
    }
    if (code === 190 || code === 102) {
      return new ConnectorError(DESTINATION, 'auth', `${what}: Meta refused the access token (${said})`, { ...base, hint: 'create a system-user token with ads_management in Business Settings and set accessToken' });
    }
    if (code === 200 || code === 10 || (code >= 200 && code < 300)) {
      return new ConnectorError(DESTINATION, 'auth', `${what}: the token lacks a permission (${said})`, { ...base, hint: 'the system user needs ads_management and access to the ad account, and the custom-audience terms must be accepted' });
    }
    if (code === 100 && subcode === 1713230) {
      return new ConnectorError(DESTINATION, 'config', `${what}: Meta has flagged this audience and blocks changes to it (${said})`, { ...base, hint: 'check the audience in Ads Manager; create a new one if it stays blocked' });
    }
    if (code === 803 || status === 404) {
      return new ConnectorError(DESTINATION, 'config', `${what}: not found (${said})`, { ...base, hint: 'check audienceId (or adAccountId) in the sync options' });
    }
    if (code === 1 || code === 2 || status >= 500) {
      return new ConnectorError(DESTINATION, 'transient', `${what}: Meta had a temporary problem (${said})`, { ...base, hint: 'the engine retries' });
    }
    return new ConnectorError(DESTINATION, 'permanent', `${what}: Meta refused the request (${said})`, { ...base, hint: 'the engine splits the batch to find the row Meta refuses' });
  }
  if (status === 429) return new ConnectorError(DESTINATION, 'rate_limited', `${what}: HTTP 429`, { ...base, retryAfterMs: metaWaitMs(response), hint: 'the engine waits and retries' });
  if (status === 401 || status === 403) return new ConnectorError(DESTINATION, 'auth', `${what}: HTTP ${status}`, { ...base, hint: 'check accessToken' });
  if (status >= 500 || status === 408) return new ConnectorError(DESTINATION, 'transient', `${what}: HTTP ${status}`, { ...base, hint: 'the engine retries' });
  return new ConnectorError(DESTINATION, 'permanent', `${what}: HTTP ${status}`, base);
}
