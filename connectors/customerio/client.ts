/**
 * Customer.io's Track API as the customerio connector uses it
 * (../shared/research/destinations.md §8): `GET /api/v1/accounts/region` (credentials and
 * data center), v2 `POST /api/v2/batch` (identify / delete people), and manual segment
 * membership `POST /api/v1/segments/{id}/add_customers|remove_customers` (1,000 ids).
 *
 * Invariants: every response body is validated with zod; a failed answer becomes a
 * classified ConnectorError with a hint — 401 'auth' (site id / API key pair, or the wrong
 * region), 404 'config' (segment id), 413 'permanent', 429 'rate_limited' with Retry-After,
 * 5xx 'transient'. A 207 is not a failure: its `errors[].batch_index` are mapped to rows in
 * index.ts.
 */
import { z } from 'zod';
import { ConnectorError, parseResponse, readRateLimitHeaders, vendorMessageOf, type ConnectorContext, type HttpResponse } from '../kit';

export const DESTINATION = 'customerio';
export const CIO_BATCH_BYTES = 500 * 1024;
export const CIO_OBJECT_BYTES = 32 * 1024;
export const CIO_SEGMENT_LIMIT = 1000;

export interface CustomerioConnection {
  siteId: string;
  apiKey: string;
  region: 'us' | 'eu';
  baseUrl?: string;
}

export function customerioBaseUrl(config: CustomerioConnection): string {
  return (config.baseUrl ?? (config.region === 'eu' ? 'https://track-eu.customer.io' : 'https://track.customer.io')).replace(/\/+$/, '');
}

const regionSchema = z.object({ url: z.string(), data_center: z.string() });
/** 200 `{}` or 207 with per-object errors (v2 batch). */
export const batchResponseSchema = z.object({
  errors: z.array(z.object({ batch_index: z.number().int().nonnegative(), reason: z.string().optional(), field: z.string().optional(), message: z.string() })).optional(),
});
export type CioBatchResponse = z.infer<typeof batchResponseSchema>;
const emptySchema = z.union([z.object({}).loose(), z.undefined()]);

export type CioIdentifiers = { id: string } | { email: string };
export type CioBatchItem =
  | { type: 'person'; identifiers: CioIdentifiers; action: 'identify'; attributes: Record<string, unknown> }
  | { type: 'person'; identifiers: CioIdentifiers; action: 'delete' };

export class CustomerioClient {
  private readonly base: string;
  private readonly authorization: string;
  constructor(private readonly ctx: ConnectorContext<CustomerioConnection>) {
    this.base = customerioBaseUrl(ctx.config);
    this.authorization = `Basic ${Buffer.from(`${ctx.config.siteId}:${ctx.config.apiKey}`).toString('base64')}`;
  }

  private send(method: 'GET' | 'POST', path: string, body?: unknown, query?: Record<string, string>): Promise<HttpResponse> {
    return this.ctx.http({ method, path: `${this.base}${path}`, body, query, headers: { authorization: this.authorization } });
  }

  errorFor(response: HttpResponse, what: string): ConnectorError {
    const metaError = (response.body as { meta?: { error?: unknown } } | undefined)?.meta?.error;
    const vendor = typeof metaError === 'string' ? metaError : vendorMessageOf(response.body);
    const message = `${what}: HTTP ${response.status}${vendor ? ` — ${vendor}` : ''}`;
    const status = response.status;
    if (status === 401 || status === 403) {
      return new ConnectorError(DESTINATION, 'auth', message, {
        httpStatus: status,
        hint: `Customer.io refused the Track API credentials: siteId and apiKey must be a pair from Settings → Workspace Settings → API Credentials (Track API keys, not an App API key), and region must be the account's data center (now ${this.ctx.config.region})`,
      });
    }
    if (status === 404) return new ConnectorError(DESTINATION, 'config', message, { httpStatus: status, hint: 'check object_options.segmentId: it must be a manual segment of this workspace' });
    if (status === 429) {
      const headers = readRateLimitHeaders(response.headers);
      return new ConnectorError(DESTINATION, 'rate_limited', message, { httpStatus: status, retryAfterMs: headers.retryAfterMs ?? headers.resetMs, hint: 'Customer.io allows about 100 Track API requests per second; the engine waits and retries' });
    }
    if (status >= 500 || status === 408) return new ConnectorError(DESTINATION, 'transient', message, { httpStatus: status, hint: 'Customer.io had a problem; the engine retries' });
    return new ConnectorError(DESTINATION, 'permanent', message, { httpStatus: status, hint: 'Customer.io refused the request; see the reason' });
  }

  async region(): Promise<z.infer<typeof regionSchema>> {
    const response = await this.send('GET', '/api/v1/accounts/region');
    if (response.status !== 200) throw this.errorFor(response, 'check Track API credentials');
    return parseResponse(DESTINATION, regionSchema, response, 'check Track API credentials');
  }

  async batch(items: CioBatchItem[]): Promise<CioBatchResponse> {
    const response = await this.send('POST', '/api/v2/batch', { batch: items });
    if (response.status !== 200 && response.status !== 207) throw this.errorFor(response, 'batch');
    return parseResponse(DESTINATION, batchResponseSchema, response, 'batch');
  }

  async segment(segmentId: string, change: 'add' | 'remove', idType: 'id' | 'email', ids: string[]): Promise<void> {
    const response = await this.send('POST', `/api/v1/segments/${encodeURIComponent(segmentId)}/${change === 'add' ? 'add_customers' : 'remove_customers'}`, { ids }, { id_type: idType });
    if (response.status < 200 || response.status >= 300) throw this.errorFor(response, `${change} segment members`);
    parseResponse(DESTINATION, emptySchema, response, `${change} segment members`);
  }
}
