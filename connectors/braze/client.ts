/**
 * Braze's REST API as the braze connector uses it (../shared/research/destinations.md §4):
 * `POST /users/track` (attributes, 75 per request) and `POST /users/delete` (50 ids, one
 * identifier type per request), Bearer REST API key, a per-instance base URL.
 *
 * Invariants: every response body is validated with zod (`parseResponse`); a failed answer
 * becomes a classified ConnectorError with a hint — 401 'auth' (wrong key or wrong
 * instance), 403 'auth' naming the missing permission, 404 'config' (base URL), 429
 * 'rate_limited' with the wait from Retry-After or X-RateLimit-Reset, 5xx 'transient',
 * other 4xx 'permanent' with Braze's fatal message. Row outcomes are decided in index.ts.
 */
import { z } from 'zod';
import { ConnectorError, parseResponse, readRateLimitHeaders, type ConnectorContext, type FieldValue, type HttpResponse } from '../kit';

export const DESTINATION = 'braze';
export const BRAZE_TRACK_LIMIT = 75;
export const BRAZE_DELETE_LIMIT = 50;

export interface BrazeConnection {
  apiKey: string;
  baseUrl: string;
}

/** 2xx of /users/track: "success" with optional non-fatal errors by index. */
export const trackResponseSchema = z.object({
  message: z.string(),
  attributes_processed: z.number().optional(),
  errors: z.array(z.object({ type: z.string(), input_array: z.string().optional(), index: z.number().int().nonnegative().optional() })).optional(),
});
export type BrazeTrackResponse = z.infer<typeof trackResponseSchema>;

const deleteResponseSchema = z.object({ message: z.string(), deleted: z.number().optional() });
const fatalSchema = z.object({ message: z.string().optional(), errors: z.array(z.unknown()).optional() });

export type BrazeAttributes = { external_id: string; _update_existing_only?: boolean } & Record<string, FieldValue | undefined>;

export class BrazeClient {
  constructor(private readonly ctx: ConnectorContext<BrazeConnection>) {}

  private post(path: string, body: unknown): Promise<HttpResponse> {
    return this.ctx.http({ method: 'POST', path, body, headers: { authorization: `Bearer ${this.ctx.config.apiKey}` } });
  }

  errorFor(response: HttpResponse, what: string): ConnectorError {
    const parsed = fatalSchema.safeParse(response.body);
    const vendor = parsed.success ? parsed.data.message : typeof response.body === 'string' ? response.body.slice(0, 200) : undefined;
    const message = `${what}: HTTP ${response.status}${vendor ? ` — ${vendor}` : ''}`;
    const status = response.status;
    const headers = readRateLimitHeaders(response.headers);
    if (status === 401) {
      return new ConnectorError(DESTINATION, 'auth', message, {
        httpStatus: status,
        hint: `Braze refused the key at ${this.ctx.config.baseUrl}: use a REST API key (Settings → APIs and Identifiers) of this workspace, and the REST endpoint of the instance the workspace is on (e.g. https://rest.iad-01.braze.com) — a key only works on its own instance`,
      });
    }
    if (status === 403) return new ConnectorError(DESTINATION, 'auth', message, { httpStatus: status, hint: 'the key lacks a permission this sync needs: give it users.track (and users.delete for removals) in Settings → APIs and Identifiers' });
    if (status === 404) return new ConnectorError(DESTINATION, 'config', message, { httpStatus: status, hint: 'baseUrl must be the instance REST endpoint, e.g. https://rest.iad-01.braze.com (no path)' });
    if (status === 429) return new ConnectorError(DESTINATION, 'rate_limited', message, { httpStatus: status, retryAfterMs: headers.retryAfterMs ?? headers.resetMs, hint: 'Braze allows 3,000 /users/track requests per 3 s per workspace; the engine waits and retries' });
    if (status >= 500 || status === 408) return new ConnectorError(DESTINATION, 'transient', message, { httpStatus: status, hint: 'Braze had a problem; the engine retries' });
    return new ConnectorError(DESTINATION, 'permanent', message, { httpStatus: status, hint: 'Braze refused the whole request; see the reason' });
  }

  /** Raw answer of /users/track (check reads a 400 as "key accepted"). */
  trackRaw(body: { attributes: BrazeAttributes[] } | { attributes: [] }): Promise<HttpResponse> {
    return this.post('/users/track', body);
  }

  async track(attributes: BrazeAttributes[]): Promise<BrazeTrackResponse> {
    const response = await this.post('/users/track', { attributes });
    if (response.status < 200 || response.status >= 300) throw this.errorFor(response, 'track users');
    return parseResponse(DESTINATION, trackResponseSchema, response, 'track users');
  }

  async deleteByExternalId(externalIds: string[]): Promise<void> {
    const response = await this.post('/users/delete', { external_ids: externalIds });
    if (response.status < 200 || response.status >= 300) throw this.errorFor(response, 'delete users');
    parseResponse(DESTINATION, deleteResponseSchema, response, 'delete users');
  }
}
