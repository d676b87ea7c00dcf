/**
 * HubSpot's CRM API as the hubspot connector uses it: batch upsert / update / read /
 * archive of contacts and companies (v3), static-list memberships (v3 lists) and default
 * contact→company associations (v4). Endpoints and shapes follow HubSpot's published
 * OpenAPI specs (../shared/specs/hubspot), which the test fake enforces on every request.
 *
 * Invariants: every response body is validated with zod before it is read (a shape we do
 * not know is a 'transient' whole-batch failure via the kit's `parseResponse`, never a
 * silent success); a non-2xx answer always becomes a classified ConnectorError —
 * 401/403 'auth' with a hint, 429 'rate_limited' with `retryAfterMs`, 5xx/408
 * 'transient', 404 'config', other 4xx 'permanent' (the engine then splits the batch to
 * isolate the bad row) unless the caller says a 4xx means misconfiguration (lists).
 * No method here decides what a row's outcome is; index.ts maps results to rows.
 */
import { z } from 'zod';
import {
  ConnectorError,
  parseResponse,
  readRateLimitHeaders,
  type ConnectorContext,
  type ConnectorFailure,
  type HttpRequest,
  type HttpResponse,
} from '../kit';

export const DESTINATION = 'hubspot';
/** HubSpot refuses batch inputs longer than this (Segment's MAX_HUBSPOT_BATCH_SIZE agrees). */
export const HUBSPOT_BATCH_LIMIT = 100;
/** The private-app limit (Professional and Enterprise): 190 requests per rolling 10 s. */
export const HUBSPOT_WINDOW_MS = 10_000;

export type CrmObjectType = 'contacts' | 'companies';

// ----------------------------------------------------------------------------- schemas

const contextSchema = z.record(z.string(), z.array(z.string()));

const errorDetailSchema = z.object({
  message: z.string(),
  code: z.string().optional(),
  in: z.string().optional(),
  subCategory: z.string().optional(),
  context: contextSchema.optional(),
});

/** One item of a 207's `errors[]` (spec: StandardError). `status` is the text "error", not a code. */
export const standardErrorSchema = z.object({
  status: z.string().optional(),
  category: z.string().optional(),
  message: z.string(),
  context: contextSchema.optional(),
  errors: z.array(errorDetailSchema).optional(),
});
export type HubspotStandardError = z.infer<typeof standardErrorSchema>;

const crmObjectSchema = z.object({
  id: z.string(),
  // HubSpot returns null for a requested property that has no value.
  properties: z.record(z.string(), z.string().nullable()).default({}),
  objectWriteTraceId: z.string().optional(),
  new: z.boolean().optional(),
});
export type HubspotCrmObject = z.infer<typeof crmObjectSchema>;

const batchStatusSchema = z.enum(['CANCELED', 'COMPLETE', 'PENDING', 'PROCESSING']);

/** 200 and 207 of batch upsert / update / read share this shape (207 adds errors). */
const batchObjectsResponseSchema = z.object({
  status: batchStatusSchema,
  results: z.array(crmObjectSchema),
  errors: z.array(standardErrorSchema).optional(),
});
export type HubspotBatchResponse = z.infer<typeof batchObjectsResponseSchema>;

const collectionResponseSchema = z.object({ results: z.array(crmObjectSchema) });

/** `recordsIdsAdded` (sic) is the documented name; we only rely on `recordIdsMissing`. */
const membershipsResponseSchema = z.object({
  recordsIdsAdded: z.array(z.string()).optional(),
  recordIdsRemoved: z.array(z.string()).optional(),
  recordIdsMissing: z.array(z.string()),
});
export type HubspotMembershipsResponse = z.infer<typeof membershipsResponseSchema>;

const objectIdSchema = z.object({ id: z.string() });
const associationsResponseSchema = z.object({
  status: batchStatusSchema,
  results: z.array(z.object({ from: objectIdSchema, to: objectIdSchema })),
  errors: z.array(standardErrorSchema).optional(),
});
export type HubspotAssociationsResponse = z.infer<typeof associationsResponseSchema>;

/** Error bodies (spec: Error; the 429 adds errorType/policyName). Read leniently: they are only for messages. */
const errorBodySchema = z.object({
  message: z.string().optional(),
  category: z.string().optional(),
  errorType: z.string().optional(),
  policyName: z.string().optional(),
  correlationId: z.string().optional(),
  errors: z.array(z.object({ message: z.string().optional(), context: contextSchema.optional() })).optional(),
});

// ----------------------------------------------------------------------------- inputs

export interface UpsertInput {
  idProperty: string;
  id: string;
  properties: Record<string, string>;
  /** Our row index: HubSpot echoes it on results and in error contexts, so rows are matched exactly. */
  objectWriteTraceId: string;
}

/** The scopes a private app needs for everything this connector does. */
export const REQUIRED_SCOPES = [
  'crm.objects.contacts.read',
  'crm.objects.contacts.write',
  'crm.objects.companies.read',
  'crm.objects.companies.write',
  'crm.lists.read',
  'crm.lists.write',
];

// ----------------------------------------------------------------------------- client

export class HubspotClient {
  constructor(private readonly ctx: ConnectorContext<{ accessToken: string }>) {}

  /** The cheapest authenticated read: one contact. Proves the token and the read scope. */
  async checkAccess(): Promise<void> {
    const response = await this.send({ method: 'GET', path: '/crm/v3/objects/contacts', query: { limit: 1, archived: 'false' } }, 'check access (read one contact)');
    parseResponse(DESTINATION, collectionResponseSchema, response, 'check access');
  }

  async batchUpsert(objectType: CrmObjectType, inputs: UpsertInput[]): Promise<HubspotBatchResponse> {
    const what = `upsert ${inputs.length} ${objectType}`;
    const response = await this.send({ method: 'POST', path: `/crm/v3/objects/${objectType}/batch/upsert`, body: { inputs } }, what);
    return parseResponse(DESTINATION, batchObjectsResponseSchema, response, what);
  }

  async batchUpdate(objectType: CrmObjectType, inputs: UpsertInput[]): Promise<HubspotBatchResponse> {
    const what = `update ${inputs.length} ${objectType}`;
    const response = await this.send({ method: 'POST', path: `/crm/v3/objects/${objectType}/batch/update`, body: { inputs } }, what);
    return parseResponse(DESTINATION, batchObjectsResponseSchema, response, what);
  }

  /** Reads records by a unique property; the result carries `idProperty` so rows can be matched. */
  async batchRead(objectType: CrmObjectType, idProperty: string, ids: string[]): Promise<HubspotBatchResponse> {
    const what = `look up ${ids.length} ${objectType} by ${idProperty}`;
    const body = { idProperty, inputs: ids.map((id) => ({ id })), properties: [idProperty], propertiesWithHistory: [] };
    const response = await this.send({ method: 'POST', path: `/crm/v3/objects/${objectType}/batch/read`, query: { archived: 'false' }, body }, what);
    return parseResponse(DESTINATION, batchObjectsResponseSchema, response, what);
  }

  /** Archives by record id; HubSpot answers 204 also for ids that no longer exist. */
  async batchArchive(objectType: CrmObjectType, recordIds: string[]): Promise<void> {
    const what = `archive ${recordIds.length} ${objectType}`;
    const response = await this.send({ method: 'POST', path: `/crm/v3/objects/${objectType}/batch/archive`, body: { inputs: recordIds.map((id) => ({ id })) } }, what);
    if (response.status !== 204) throw unexpectedStatus(response, what, 204);
  }

  async addToList(listId: string, recordIds: string[]): Promise<HubspotMembershipsResponse> {
    return this.changeList(listId, 'add', recordIds);
  }

  async removeFromList(listId: string, recordIds: string[]): Promise<HubspotMembershipsResponse> {
    return this.changeList(listId, 'remove', recordIds);
  }

  private async changeList(listId: string, change: 'add' | 'remove', recordIds: string[]): Promise<HubspotMembershipsResponse> {
    const what = `${change} ${recordIds.length} records ${change === 'add' ? 'to' : 'from'} list ${listId}`;
    // A 4xx here is about the list (unknown, DYNAMIC, wrong object type), never about a row:
    // splitting the batch would not help, so it stops the run as misconfiguration.
    const response = await this.send({ method: 'PUT', path: `/crm/v3/lists/${encodeURIComponent(listId)}/memberships/${change}`, body: recordIds }, what, {
      clientError: 'config',
      hint: `listId must be the ILS id of a static (MANUAL or SNAPSHOT) contact list; HubSpot lets no API change a DYNAMIC (active) list`,
    });
    return parseResponse(DESTINATION, membershipsResponseSchema, response, what);
  }

  async associateDefault(from: CrmObjectType, to: CrmObjectType, pairs: Array<{ fromId: string; toId: string }>): Promise<HubspotAssociationsResponse> {
    const what = `associate ${pairs.length} ${from} with ${to}`;
    const body = { inputs: pairs.map((p) => ({ from: { id: p.fromId }, to: { id: p.toId } })) };
    const response = await this.send({ method: 'POST', path: `/crm/v4/associations/${from}/${to}/batch/associate/default`, body }, what);
    return parseResponse(DESTINATION, associationsResponseSchema, response, what);
  }

  /** Sends with the bearer token; a non-2xx answer becomes a classified ConnectorError. */
  private async send(request: HttpRequest, what: string, options: ErrorOptions = {}): Promise<HttpResponse> {
    const response = await this.ctx.http({ ...request, headers: { ...request.headers, authorization: `Bearer ${this.ctx.config.accessToken}` } });
    if (response.status >= 200 && response.status < 300) return response;
    throw hubspotError(response, what, options);
  }
}

// ----------------------------------------------------------------------------- errors

interface ErrorOptions {
  /** What a 400/409/422 means for this call (default 'permanent': the engine splits the batch). */
  clientError?: ConnectorFailure;
  hint?: string;
}

/** Maps a failed HubSpot answer to a ConnectorError, with HubSpot's own message in it. */
export function hubspotError(response: HttpResponse, what: string, options: ErrorOptions = {}): ConnectorError {
  const parsed = errorBodySchema.safeParse(response.body);
  const body = parsed.success ? parsed.data : {};
  const vendorMessage = body.message ?? (typeof response.body === 'string' ? response.body.slice(0, 300) : undefined);
  const status = response.status;
  const base = { httpStatus: status, cause: response.body };
  const said = vendorMessage ? `: ${vendorMessage}` : '';

  if (status === 401) {
    return new ConnectorError(DESTINATION, 'auth', `${what}: HubSpot refused the access token (HTTP 401${said})`, {
      ...base,
      hint: 'create a private app in HubSpot (Settings → Integrations → Private Apps), copy its access token and set accessToken in destinations.yml (e.g. ${HUBSPOT_ACCESS_TOKEN}); an OAuth token may simply have expired',
    });
  }
  if (status === 403) {
    const scopes = (body.errors ?? []).flatMap((e) => Object.values(e.context ?? {}).flat());
    const needed = scopes.length > 0 ? scopes.join(', ') : REQUIRED_SCOPES.join(', ');
    return new ConnectorError(DESTINATION, 'auth', `${what}: the HubSpot token is not allowed to do this (HTTP 403${said})`, {
      ...base,
      hint: `give the private app the scopes ${needed}, then rotate the token into destinations.yml`,
    });
  }
  if (status === 429) {
    const daily = body.policyName === 'DAILY';
    return new ConnectorError(DESTINATION, 'rate_limited', `${what}: HubSpot rate limit reached (${body.policyName ?? 'HTTP 429'}${said})`, {
      ...base,
      retryAfterMs: rateLimitWaitMs(response, body.policyName),
      hint: daily
        ? "the portal's daily API allowance is used up (it resets at midnight in the portal's time zone); sync less often or raise the limit"
        : 'HubSpot allows private apps 190 requests per 10 s shared by every integration of the portal; the engine waits and retries',
    });
  }
  if (status >= 500 || status === 408) {
    return new ConnectorError(DESTINATION, 'transient', `${what}: HubSpot is having trouble (HTTP ${status}${said})`, { ...base, hint: 'the engine retries with backoff' });
  }
  if (status === 404) {
    return new ConnectorError(DESTINATION, 'config', `${what}: not found (HTTP 404${said})`, {
      ...base,
      hint: options.hint ?? 'check baseUrl (https://api.hubapi.com) and the ids in the sync options',
    });
  }
  const failure = options.clientError ?? 'permanent';
  return new ConnectorError(DESTINATION, failure, `${what}: HubSpot refused the request (HTTP ${status}${said})`, {
    ...base,
    hint: options.hint ?? (failure === 'permanent' ? 'HubSpot rejected the whole batch; the engine splits it to find the row it refuses' : undefined),
  });
}

/**
 * How long to wait after a 429: Retry-After when sent (HubSpot does not document it), a
 * daily-limit hit waits an hour (its reset is at the portal's local midnight, which we
 * cannot know), else the window HubSpot reports in X-HubSpot-RateLimit-Interval-Milliseconds,
 * else the documented 10-second window.
 */
export function rateLimitWaitMs(response: HttpResponse, policyName: string | undefined): number {
  const info = readRateLimitHeaders(response.headers);
  if (info.retryAfterMs !== undefined) return info.retryAfterMs;
  if (policyName === 'DAILY') return 60 * 60_000;
  if (policyName === 'SECONDLY') return 1_000;
  if (info.resetMs !== undefined && info.resetMs > 0) return info.resetMs;
  return HUBSPOT_WINDOW_MS;
}

function unexpectedStatus(response: HttpResponse, what: string, expected: number): ConnectorError {
  return new ConnectorError(DESTINATION, 'transient', `${what}: expected HTTP ${expected}, got ${response.status}`, {
    httpStatus: response.status,
    hint: 'HubSpot answered in a way we do not know; report it if it persists',
  });
}

/**
 * The message a user should read for a per-record error. HubSpot wraps property
 * validation errors as `Property values were not valid: [{"message": …}, …]`; the inner
 * messages ("Email address x is invalid") are what explains the row.
 */
export function hubspotReason(error: HubspotStandardError): string {
  const wrapped = /^Property values were not valid: (\[.*\])$/s.exec(error.message);
  if (wrapped) {
    try {
      const details = z.array(z.object({ message: z.string() })).parse(JSON.parse(wrapped[1]!));
      if (details.length > 0) return details.map((d) => d.message).join('; ');
    } catch {
      // Not the JSON we expected: fall back to HubSpot's whole message.
    }
  }
  return error.message;
}

/** A per-record error that may pass on retry (HubSpot-side trouble), as opposed to bad data. */
export function isTransientRecordError(error: HubspotStandardError): boolean {
  return /^(5\d\d|429)$/.test(error.status ?? '') || ['RATE_LIMITS', 'INTERNAL_ERROR', 'SERVICE_UNAVAILABLE', 'TIMEOUT'].includes(error.category ?? '');
}
