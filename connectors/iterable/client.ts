/**
 * Iterable's API as the iterable connector uses it (../shared/specs/iterable/api-docs.json,
 * Swagger 2.0, which the test fake enforces on every request): `POST /api/users/bulkUpdate`,
 * `POST /api/lists/subscribe`, `POST /api/lists/unsubscribe`, `GET /api/lists` (check and
 * discovery) and `GET /api/users/getFields` (field discovery), with the `Api-Key` header.
 *
 * Invariants: every body is validated with zod; partial failures come back in a 200
 * (`failCount`, `invalidEmails`, `failedUpdates{…}`) and are returned to index.ts, which maps
 * them to rows; a non-2xx answer becomes a classified ConnectorError (401 'auth' with a hint
 * about key types and the EU host, 429 'rate_limited', 5xx 'transient', 400 'permanent' —
 * except an unknown list, which is 'config').
 */
import { z } from 'zod';
import { ConnectorError, failureForStatus, parseResponse, readRateLimitHeaders, type ConnectorContext, type HttpRequest, type HttpResponse } from '../kit';

export const DESTINATION = 'iterable';
/** bulkUpdate: 4 MB a body and 5 requests/s per project (spec); 1,000 users a request (RudderStack's chunk). */
export const ITERABLE_MAX_BYTES = 4 * 1024 * 1024;
export const ITERABLE_BATCH_ROWS = 1_000;
export const ITERABLE_RATE = { count: 5, perMs: 1_000 };

const emails = z.array(z.string()).optional();
export const bulkResponseSchema = z.object({
  successCount: z.number(),
  failCount: z.number(),
  invalidEmails: emails,
  invalidUserIds: emails,
  createdFields: emails,
  filteredOutFields: emails,
  failedUpdates: z
    .object({
      conflictEmails: emails,
      forgottenEmails: emails,
      invalidDataEmails: emails,
      invalidEmails: emails,
      notFoundEmails: emails,
    })
    .passthrough()
    .optional(),
});
export type IterableBulkResponse = z.infer<typeof bulkResponseSchema>;

const errorBodySchema = z.object({ msg: z.string().optional(), code: z.string().optional() }).passthrough();
const listsSchema = z.object({ lists: z.array(z.object({ id: z.number(), name: z.string(), listType: z.string() })) });
const fieldsSchema = z.object({ fields: z.record(z.string(), z.string()) });

export interface IterableUser {
  email: string;
  dataFields?: Record<string, unknown>;
}

export class IterableClient {
  constructor(private readonly ctx: ConnectorContext<{ apiKey: string }>) {}

  async lists(): Promise<z.infer<typeof listsSchema>['lists']> {
    return parseResponse(DESTINATION, listsSchema, await this.send({ method: 'GET', path: '/api/lists' }, 'read lists'), 'read lists').lists;
  }

  async fields(): Promise<Record<string, string>> {
    return parseResponse(DESTINATION, fieldsSchema, await this.send({ method: 'GET', path: '/api/users/getFields' }, 'read user fields'), 'read user fields').fields;
  }

  async bulkUpdate(users: IterableUser[]): Promise<IterableBulkResponse> {
    const what = `update ${users.length} users`;
    return parseResponse(DESTINATION, bulkResponseSchema, await this.send({ method: 'POST', path: '/api/users/bulkUpdate', body: { users } }, what), what);
  }

  async subscribe(listId: number, users: IterableUser[]): Promise<IterableBulkResponse> {
    const what = `subscribe ${users.length} users to list ${listId}`;
    return parseResponse(DESTINATION, bulkResponseSchema, await this.send({ method: 'POST', path: '/api/lists/subscribe', body: { listId, subscribers: users } }, what, listId), what);
  }

  /** `channelUnsubscribe: true` also unsubscribes from the list's channel (a global email unsubscribe). */
  async unsubscribe(listId: number, addresses: string[], channelUnsubscribe: boolean): Promise<IterableBulkResponse> {
    const what = `unsubscribe ${addresses.length} users from list ${listId}`;
    const body = { listId, subscribers: addresses.map((email) => ({ email })), channelUnsubscribe };
    return parseResponse(DESTINATION, bulkResponseSchema, await this.send({ method: 'POST', path: '/api/lists/unsubscribe', body }, what, listId), what);
  }

  private async send(request: HttpRequest, what: string, listId?: number): Promise<HttpResponse> {
    const response = await this.ctx.http({ ...request, headers: { 'api-key': this.ctx.config.apiKey, ...request.headers } });
    if (response.status < 300) return response;
    const body = errorBodySchema.safeParse(response.body);
    const vendor = body.success ? [body.data.code, body.data.msg].filter(Boolean).join(': ') : undefined;
    const message = `${what}: HTTP ${response.status}${vendor ? ` — ${vendor}` : ''}`;
    if (listId !== undefined && response.status === 400 && /list/i.test(body.success ? (body.data.msg ?? '') : '') && /exist|not found/i.test(body.success ? (body.data.msg ?? '') : '')) {
      throw new ConnectorError(DESTINATION, 'config', message, { hint: `Iterable has no list ${listId}: copy the numeric id from Audience → Lists`, httpStatus: 400 });
    }
    const failure = failureForStatus(response.status) ?? 'transient';
    const hints: Record<number, string> = {
      401: 'Iterable rejected the API key: use a server-side (Standard) key from Integrations → API Keys; a key of an EU project needs baseUrl https://api.eu.iterable.com',
      429: 'Iterable rate limit (bulkUpdate: 5 requests/s per project); the engine waits and retries',
    };
    throw new ConnectorError(DESTINATION, failure, message, {
      hint: hints[response.status] ?? (failure === 'transient' ? 'Iterable had a problem; the engine retries' : 'Iterable refused the request; see the reason'),
      httpStatus: response.status,
      retryAfterMs: readRateLimitHeaders(response.headers).retryAfterMs ?? (response.status === 429 ? 1000 : undefined),
    });
  }
}
