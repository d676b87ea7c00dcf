/**
 * `hubspotFake`: a stateful local HubSpot (node:http on 127.0.0.1, random port) that
 * behaves like the documented CRM API the hubspot connector uses: contacts and companies
 * with unique email / domain (plus configurable unique properties), batch upsert / update /
 * read / archive (≤100 inputs), static-list memberships (idempotent; unknown records come
 * back in `recordIdsMissing`), v4 default associations, bearer auth, a rolling
 * 190-requests-per-10-s limiter answering 429 with HubSpot's RATE_LIMIT body, and
 * injectable faults (5xx/429 for the next N requests, latency, per-record errors).
 *
 * Invariants: EVERY request is validated against ../shared/specs/hubspot/*.json before it
 * is served — a request the spec refuses gets 400 and is recorded in the log with its
 * validation errors, so a connector bug fails a test instead of passing against a lenient
 * fake; every response the fake sends is checked against the spec too (a fake bug shows
 * up in `responseValidationFailures()`). The fake refuses to start without the specs.
 * State is only changed by requests that passed auth, the limiter, faults and validation.
 */
import http from 'node:http';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { OpenApiValidator, type LoggedRequest, type MatchedOperation } from './openapi-validator';

/** Where CI keeps the vendor specs: `shared/` beside the clone. */
export const HUBSPOT_SPEC_DIR = path.join(__dirname, '..', '..', '..', 'shared', 'specs', 'hubspot');

export const HUBSPOT_BATCH_LIMIT = 100;
/** HubSpot's unlabeled contact→company association type id. */
export const CONTACT_TO_COMPANY_TYPE_ID = 279;
export const COMPANY_TO_CONTACT_TYPE_ID = 280;

export type CrmObjectType = 'contacts' | 'companies';

export interface FakeRecord {
  id: string;
  /** User-visible properties (system ones — hs_object_id, createdate … — are added in responses). */
  properties: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

export interface FakeList {
  listId: string;
  name: string;
  processingType: 'MANUAL' | 'SNAPSHOT' | 'DYNAMIC';
  objectTypeId: string;
  members: Set<string>;
}

export type { LoggedRequest } from './openapi-validator';

export interface InjectedFault {
  status: number;
  /** Sent as Retry-After (seconds) when set; HubSpot itself is not documented to send it. */
  retryAfterSeconds?: number;
  /** 429 only: which HubSpot limit policy was hit. */
  policyName?: 'TEN_SECONDLY_ROLLING' | 'SECONDLY' | 'DAILY';
  /** 403 only: the scopes HubSpot says the token lacks. */
  requiredScopes?: string[];
}

/** Returns a per-record error message for an input, or undefined to let it through. */
export type RecordFault = (objectType: CrmObjectType, idValue: string, properties: Record<string, string>) => string | undefined;

export interface HubspotFakeOptions {
  token?: string;
  rateLimit?: { count: number; perMs: number };
  /** Extra unique properties per object type (email / domain are always unique). */
  uniqueProperties?: Partial<Record<CrmObjectType, string[]>>;
  /** For the test that proves the fake refuses to run without specs. */
  specDir?: string;
}

export interface HubspotFake {
  url: string;
  token: string;
  readonly requests: LoggedRequest[];
  /** Requests whose body/params the spec refused. */
  validationFailures(): LoggedRequest[];
  /** Responses of the fake that depart from the spec. */
  responseValidationFailures(): LoggedRequest[];
  records(objectType: CrmObjectType): FakeRecord[];
  findByProperty(objectType: CrmObjectType, property: string, value: string): FakeRecord | undefined;
  seed(objectType: CrmObjectType, properties: Record<string, string>): FakeRecord;
  createList(name: string, processingType?: FakeList['processingType']): string;
  listMembers(listId: string): string[];
  /** Contact→company associations as id pairs. */
  associations(): Array<{ contactId: string; companyId: string }>;
  /** The next `count` requests (after auth) are answered with the fault. */
  failNext(count: number, fault: InjectedFault): void;
  setLatency(ms: number): void;
  setRecordFault(fault: RecordFault | undefined): void;
  setRateLimit(limit: { count: number; perMs: number }): void;
  /** Clears state, log, faults (not the token). */
  reset(): void;
  close(): Promise<void>;
}

interface JsonResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  fault?: LoggedRequest['fault'];
}

type Handler = (ctx: { params: Record<string, string>; query: URLSearchParams; body: unknown }) => JsonResponse;

const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const SYSTEM_PROPERTIES: Record<CrmObjectType, string[]> = {
  contacts: ['createdate', 'email', 'firstname', 'lastname', 'hs_object_id', 'lastmodifieddate'],
  companies: ['createdate', 'domain', 'name', 'hs_object_id', 'hs_lastmodifieddate'],
};
const NATURAL_KEY: Record<CrmObjectType, string> = { contacts: 'email', companies: 'domain' };

export async function startHubspotFake(options: HubspotFakeOptions = {}): Promise<HubspotFake> {
  // Loading throws when the specs are missing: no validation, no fake.
  const validator = OpenApiValidator.fromDirectory(options.specDir ?? HUBSPOT_SPEC_DIR);
  const token = options.token ?? `pat-na1-${randomUUID()}`;
  let rateLimit = options.rateLimit ?? { count: 190, perMs: 10_000 };
  const uniqueProperties: Record<CrmObjectType, Set<string>> = {
    contacts: new Set(['email', ...(options.uniqueProperties?.contacts ?? [])]),
    companies: new Set(['domain', ...(options.uniqueProperties?.companies ?? [])]),
  };

  let nextId = 1001;
  let nextListId = 1;
  let seq = 0;
  const stores: Record<CrmObjectType, Map<string, FakeRecord>> = { contacts: new Map(), companies: new Map() };
  const lists = new Map<string, FakeList>();
  const associationPairs = new Set<string>();
  const requests: LoggedRequest[] = [];
  let faults: InjectedFault[] = [];
  let latencyMs = 0;
  let recordFault: RecordFault | undefined;
  let window: number[] = [];

  const now = () => new Date().toISOString();

  /** HubSpot compares emails and domains case-insensitively and stores them lowercased. */
  const normalise = (property: string, value: string) => (property === 'email' || property === 'domain' ? value.trim().toLowerCase() : value);

  function findByProperty(objectType: CrmObjectType, property: string, value: string): FakeRecord | undefined {
    if (property === 'hs_object_id') return stores[objectType].get(value);
    const wanted = normalise(property, value);
    for (const record of stores[objectType].values()) if (record.properties[property] === wanted) return record;
    return undefined;
  }

  function create(objectType: CrmObjectType, properties: Record<string, string>): FakeRecord {
    const at = now();
    const record: FakeRecord = { id: String(nextId++), properties: {}, createdAt: at, updatedAt: at };
    applyProperties(record, properties);
    stores[objectType].set(record.id, record);
    return record;
  }

  function applyProperties(record: FakeRecord, properties: Record<string, string>): void {
    for (const [name, value] of Object.entries(properties)) {
      // An empty string clears a property in HubSpot.
      if (value === '') delete record.properties[name];
      else record.properties[name] = normalise(name, value);
    }
    record.updatedAt = now();
  }

  function publicObject(objectType: CrmObjectType, record: FakeRecord, requested?: string[]): Record<string, unknown> {
    const system: Record<string, string> = { hs_object_id: record.id, createdate: record.createdAt, lastmodifieddate: record.updatedAt };
    if (objectType === 'companies') {
      system.hs_lastmodifieddate = record.updatedAt;
      delete system.lastmodifieddate;
    }
    const all = { ...record.properties, ...system };
    let properties: Record<string, string>;
    if (requested && requested.length > 0) {
      properties = {};
      for (const name of [...requested, ...SYSTEM_PROPERTIES[objectType]]) if (all[name] !== undefined) properties[name] = all[name]!;
    } else properties = all;
    return { id: record.id, properties, createdAt: record.createdAt, updatedAt: record.updatedAt, archived: false };
  }

  /** A StandardError item as HubSpot puts them in 207 `errors[]`. */
  function standardError(category: string, message: string, context: Record<string, string[]>): Record<string, unknown> {
    return { status: 'error', category, message, context, errors: [], links: {} };
  }

  function errorBody(category: string, message: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { status: 'error', message, correlationId: randomUUID(), category, ...extra };
  }

  function batchEnvelope(startedAt: string, results: unknown[], errors: unknown[]): JsonResponse {
    const body: Record<string, unknown> = { status: 'COMPLETE', results, startedAt, completedAt: now(), requestedAt: startedAt };
    if (errors.length > 0) {
      body.errors = errors;
      body.numErrors = errors.length;
    }
    return { status: errors.length > 0 ? 207 : 200, body };
  }

  function tooMany(inputs: unknown[]): JsonResponse | undefined {
    if (inputs.length <= HUBSPOT_BATCH_LIMIT) return undefined;
    return { status: 400, body: errorBody('VALIDATION_ERROR', `Batch input limit exceeded: ${inputs.length} inputs, the limit is ${HUBSPOT_BATCH_LIMIT}.`) };
  }

  /** Checks one input's id + properties the way HubSpot validates property values. */
  function recordError(objectType: CrmObjectType, idProperty: string | undefined, id: string, properties: Record<string, string>): string | undefined {
    const emails = [properties.email, idProperty === 'email' ? id : undefined].filter((e): e is string => e !== undefined && e !== '');
    for (const email of emails) {
      if (!EMAIL_PATTERN.test(email.trim())) {
        const detail = [{ isValid: false, message: `Email address ${email} is invalid`, error: 'INVALID_EMAIL', name: 'email' }];
        return `Property values were not valid: ${JSON.stringify(detail)}`;
      }
    }
    return recordFault?.(objectType, id, properties);
  }

  function traceContext(input: { objectWriteTraceId?: string; id: string }): Record<string, string[]> {
    return input.objectWriteTraceId !== undefined ? { objectWriteTraceId: [input.objectWriteTraceId], ids: [input.id] } : { ids: [input.id] };
  }

  // ------------------------------------------------------------------ CRM object handlers

  type WriteInput = { id: string; idProperty?: string; objectWriteTraceId?: string; properties: Record<string, string> };

  function batchUpsert(objectType: CrmObjectType, body: unknown): JsonResponse {
    const inputs = (body as { inputs: WriteInput[] }).inputs;
    const limit = tooMany(inputs);
    if (limit) return limit;
    const startedAt = now();
    const seen = new Set<string>();
    for (const input of inputs) {
      const idProperty = input.idProperty ?? 'hs_object_id';
      if (idProperty !== 'hs_object_id' && !uniqueProperties[objectType].has(idProperty)) {
        return { status: 400, body: errorBody('VALIDATION_ERROR', `Property '${idProperty}' is not a unique identifier property for ${objectType}.`) };
      }
      const key = `${idProperty}:${normalise(idProperty, input.id)}`;
      if (seen.has(key)) return { status: 400, body: errorBody('VALIDATION_ERROR', `Duplicate IDs found in batch input: [${input.id}]. IDs must be unique`) };
      seen.add(key);
    }
    const results: unknown[] = [];
    const errors: unknown[] = [];
    for (const input of inputs) {
      const idProperty = input.idProperty ?? 'hs_object_id';
      const message = recordError(objectType, idProperty, input.id, input.properties);
      if (message) {
        errors.push(standardError('VALIDATION_ERROR', message, traceContext(input)));
        continue;
      }
      let record = findByProperty(objectType, idProperty, input.id);
      const isNew = record === undefined;
      if (record) applyProperties(record, input.properties);
      else if (idProperty === 'hs_object_id') {
        errors.push(standardError('OBJECT_NOT_FOUND', `Object not found. objectId are usually numeric.`, traceContext(input)));
        continue;
      } else record = create(objectType, { ...input.properties, [idProperty]: input.id });
      results.push({ ...publicObject(objectType, record), new: isNew, ...(input.objectWriteTraceId !== undefined ? { objectWriteTraceId: input.objectWriteTraceId } : {}) });
    }
    return batchEnvelope(startedAt, results, errors);
  }

  function batchUpdate(objectType: CrmObjectType, body: unknown): JsonResponse {
    const inputs = (body as { inputs: WriteInput[] }).inputs;
    const limit = tooMany(inputs);
    if (limit) return limit;
    const startedAt = now();
    const results: unknown[] = [];
    const errors: unknown[] = [];
    const missing: string[] = [];
    for (const input of inputs) {
      const idProperty = input.idProperty ?? 'hs_object_id';
      const message = recordError(objectType, idProperty, input.id, input.properties);
      if (message) {
        errors.push(standardError('VALIDATION_ERROR', message, traceContext(input)));
        continue;
      }
      const record = findByProperty(objectType, idProperty, input.id);
      if (!record) {
        missing.push(input.id);
        continue;
      }
      applyProperties(record, input.properties);
      results.push({ ...publicObject(objectType, record), ...(input.objectWriteTraceId !== undefined ? { objectWriteTraceId: input.objectWriteTraceId } : {}) });
    }
    // HubSpot reports all missing records of a batch in one error, ids in its context.
    if (missing.length > 0) {
      const singular = objectType === 'contacts' ? 'CONTACT' : 'COMPANY';
      errors.push(standardError('OBJECT_NOT_FOUND', `Could not get some ${singular} objects, they may be deleted or not exist. Check that ids are valid.`, { ids: missing }));
    }
    return batchEnvelope(startedAt, results, errors);
  }

  function batchRead(objectType: CrmObjectType, body: unknown): JsonResponse {
    const request = body as { inputs: Array<{ id: string }>; idProperty?: string; properties: string[] };
    const limit = tooMany(request.inputs);
    if (limit) return limit;
    const idProperty = request.idProperty ?? 'hs_object_id';
    if (idProperty !== 'hs_object_id' && !uniqueProperties[objectType].has(idProperty)) {
      return { status: 400, body: errorBody('VALIDATION_ERROR', `Property '${idProperty}' is not a unique identifier property for ${objectType}.`) };
    }
    const startedAt = now();
    const results: unknown[] = [];
    const missing: string[] = [];
    for (const input of request.inputs) {
      const record = findByProperty(objectType, idProperty, input.id);
      if (record) results.push(publicObject(objectType, record, request.properties));
      else missing.push(input.id);
    }
    const singular = objectType === 'contacts' ? 'CONTACT' : 'COMPANY';
    const errors = missing.length > 0 ? [standardError('OBJECT_NOT_FOUND', `Could not get some ${singular} objects, they may be deleted or not exist. Check that ids are valid.`, { ids: missing })] : [];
    return batchEnvelope(startedAt, results, errors);
  }

  function batchArchive(objectType: CrmObjectType, body: unknown): JsonResponse {
    const inputs = (body as { inputs: Array<{ id: string }> }).inputs;
    const limit = tooMany(inputs);
    if (limit) return limit;
    // Archiving an id that does not exist is not an error: HubSpot answers 204 regardless.
    for (const { id } of inputs) {
      if (!stores[objectType].delete(id)) continue;
      for (const list of lists.values()) list.members.delete(id);
      for (const pair of [...associationPairs]) {
        const [contactId, companyId] = pair.split('->');
        if ((objectType === 'contacts' && contactId === id) || (objectType === 'companies' && companyId === id)) associationPairs.delete(pair);
      }
    }
    return { status: 204 };
  }

  function listObjects(objectType: CrmObjectType, query: URLSearchParams): JsonResponse {
    const limit = Math.min(Number(query.get('limit') ?? 10), 100);
    const after = Number(query.get('after') ?? 0);
    const all = [...stores[objectType].values()];
    const page = all.slice(after, after + limit).map((r) => publicObject(objectType, r));
    const body: Record<string, unknown> = { results: page };
    if (after + limit < all.length) body.paging = { next: { after: String(after + limit) } };
    return { status: 200, body };
  }

  // ------------------------------------------------------------------ lists

  function listOrError(listId: string): FakeList | JsonResponse {
    const list = lists.get(listId);
    if (!list) return { status: 404, body: errorBody('OBJECT_NOT_FOUND', `List does not exist with ID ${listId}.`) };
    return list;
  }

  function publicList(list: FakeList): Record<string, unknown> {
    return { listId: list.listId, listVersion: 1, name: list.name, objectTypeId: list.objectTypeId, processingStatus: 'COMPLETE', processingType: list.processingType, size: list.members.size };
  }

  function changeMembership(listId: string, add: string[], remove: string[]): JsonResponse {
    const found = listOrError(listId);
    if (!('members' in found)) return found;
    if (found.processingType === 'DYNAMIC') {
      return { status: 400, body: errorBody('VALIDATION_ERROR', `List ${listId} is a DYNAMIC list; memberships can only be changed for MANUAL or SNAPSHOT lists.`) };
    }
    const store = found.objectTypeId === '0-2' ? stores.companies : stores.contacts;
    const added: string[] = [];
    const removed: string[] = [];
    const missing: string[] = [];
    for (const id of add) {
      if (!store.has(id)) missing.push(id);
      else if (!found.members.has(id)) {
        found.members.add(id);
        added.push(id);
      }
    }
    for (const id of remove) {
      if (!store.has(id)) missing.push(id);
      else if (found.members.delete(id)) removed.push(id);
    }
    // `recordsIdsAdded` (sic) is the documented field name.
    return { status: 200, body: { recordsIdsAdded: added, recordIdsRemoved: removed, recordIdsMissing: missing } };
  }

  // ------------------------------------------------------------------ associations v4

  function pairKey(fromType: string, fromId: string, toId: string): string | undefined {
    if (fromType === 'contacts') return `${fromId}->${toId}`;
    if (fromType === 'companies') return `${toId}->${fromId}`;
    return undefined;
  }

  function associationTypes(fromType: string, toType: string): JsonResponse | undefined {
    const ok = (fromType === 'contacts' && toType === 'companies') || (fromType === 'companies' && toType === 'contacts');
    return ok ? undefined : { status: 400, body: errorBody('VALIDATION_ERROR', `The fake only models contact↔company associations, not ${fromType}→${toType}.`) };
  }

  function associateDefault(fromType: string, toType: string, body: unknown): JsonResponse {
    const unsupported = associationTypes(fromType, toType);
    if (unsupported) return unsupported;
    const inputs = (body as { inputs: Array<{ from: { id: string }; to: { id: string } }> }).inputs;
    const limit = tooMany(inputs);
    if (limit) return limit;
    const startedAt = now();
    const results: unknown[] = [];
    const missingFrom: string[] = [];
    const missingTo: string[] = [];
    const fromStore = stores[fromType as CrmObjectType];
    const toStore = stores[toType as CrmObjectType];
    for (const { from, to } of inputs) {
      if (!fromStore.has(from.id)) missingFrom.push(from.id);
      else if (!toStore.has(to.id)) missingTo.push(to.id);
      else {
        associationPairs.add(pairKey(fromType, from.id, to.id)!);
        const typeId = fromType === 'contacts' ? CONTACT_TO_COMPANY_TYPE_ID : COMPANY_TO_CONTACT_TYPE_ID;
        results.push({ from: { id: from.id }, to: { id: to.id }, associationSpec: { associationCategory: 'HUBSPOT_DEFINED', associationTypeId: typeId } });
      }
    }
    const errors: unknown[] = [];
    if (missingFrom.length > 0) errors.push(standardError('OBJECT_NOT_FOUND', `No ${fromType} with ids ${missingFrom.join(', ')} exist.`, { fromObjectIds: missingFrom }));
    if (missingTo.length > 0) errors.push(standardError('OBJECT_NOT_FOUND', `No ${toType} with ids ${missingTo.join(', ')} exist.`, { toObjectIds: missingTo }));
    // The spec documents only 200 for this operation, with the errors inside it.
    const envelope = batchEnvelope(startedAt, results, errors);
    return { ...envelope, status: 200 };
  }

  function archiveAssociations(fromType: string, toType: string, body: unknown): JsonResponse {
    const unsupported = associationTypes(fromType, toType);
    if (unsupported) return unsupported;
    const inputs = (body as { inputs: Array<{ from: { id: string }; to: Array<{ id: string }> }> }).inputs;
    const limit = tooMany(inputs);
    if (limit) return limit;
    for (const { from, to } of inputs) for (const t of to) associationPairs.delete(pairKey(fromType, from.id, t.id)!);
    return { status: 204 };
  }

  // ------------------------------------------------------------------ routing

  const handlers: Record<string, Handler> = {};
  for (const objectType of ['contacts', 'companies'] as const) {
    const base = `/crm/v3/objects/${objectType}`;
    handlers[`GET ${base}`] = ({ query }) => listObjects(objectType, query);
    handlers[`POST ${base}/batch/upsert`] = ({ body }) => batchUpsert(objectType, body);
    handlers[`POST ${base}/batch/update`] = ({ body }) => batchUpdate(objectType, body);
    handlers[`POST ${base}/batch/read`] = ({ body }) => batchRead(objectType, body);
    handlers[`POST ${base}/batch/archive`] = ({ body }) => batchArchive(objectType, body);
  }
  handlers['POST /crm/v3/lists'] = ({ body }) => {
    const request = body as { name: string; objectTypeId: string; processingType: string };
    if (!['MANUAL', 'SNAPSHOT', 'DYNAMIC'].includes(request.processingType)) {
      return { status: 400, body: errorBody('VALIDATION_ERROR', `Unknown processingType ${request.processingType}.`) };
    }
    const list: FakeList = { listId: String(nextListId++), name: request.name, objectTypeId: request.objectTypeId, processingType: request.processingType as FakeList['processingType'], members: new Set() };
    lists.set(list.listId, list);
    return { status: 200, body: { list: publicList(list) } };
  };
  handlers['GET /crm/v3/lists/{listId}'] = ({ params }) => {
    const found = listOrError(params.listId!);
    return 'members' in found ? { status: 200, body: { list: publicList(found) } } : found;
  };
  handlers['PUT /crm/v3/lists/{listId}/memberships/add'] = ({ params, body }) => changeMembership(params.listId!, body as string[], []);
  handlers['PUT /crm/v3/lists/{listId}/memberships/remove'] = ({ params, body }) => changeMembership(params.listId!, [], body as string[]);
  handlers['PUT /crm/v3/lists/{listId}/memberships/add-and-remove'] = ({ params, body }) => {
    const change = body as { recordIdsToAdd: string[]; recordIdsToRemove: string[] };
    return changeMembership(params.listId!, change.recordIdsToAdd, change.recordIdsToRemove);
  };
  handlers['GET /crm/v3/lists/{listId}/memberships'] = ({ params }) => {
    const found = listOrError(params.listId!);
    if (!('members' in found)) return found;
    return { status: 200, body: { results: [...found.members].map((recordId) => ({ recordId, membershipTimestamp: now() })), total: found.members.size } };
  };
  handlers['POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/associate/default'] = ({ params, body }) => associateDefault(params.fromObjectType!, params.toObjectType!, body);
  handlers['POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/archive'] = ({ params, body }) => archiveAssociations(params.fromObjectType!, params.toObjectType!, body);

  function rateLimitHeaders(): Record<string, string> {
    const cutoff = Date.now() - rateLimit.perMs;
    window = window.filter((t) => t > cutoff);
    return {
      'x-hubspot-ratelimit-max': String(rateLimit.count),
      'x-hubspot-ratelimit-remaining': String(Math.max(0, rateLimit.count - window.length)),
      'x-hubspot-ratelimit-interval-milliseconds': String(rateLimit.perMs),
    };
  }

  function rateLimited(policyName: string, retryAfterSeconds?: number): JsonResponse {
    const label = policyName === 'DAILY' ? 'daily' : policyName.toLowerCase();
    const body = errorBody('RATE_LIMITS', `You have reached your ${label} limit.`, { errorType: 'RATE_LIMIT', policyName, requestId: randomUUID() });
    const headers: Record<string, string> = retryAfterSeconds !== undefined ? { 'retry-after': String(retryAfterSeconds) } : {};
    return { status: 429, body, headers };
  }

  function serve(method: string, match: MatchedOperation | undefined, validationErrors: string[], authorization: string | undefined, query: URLSearchParams, body: unknown): JsonResponse {
    // Order as a real API gateway: who are you, are you over budget, then is the request well-formed.
    if (authorization !== `Bearer ${token}`) {
      const message = authorization?.startsWith('Bearer ')
        ? 'The OAuth token used to make this call expired or is invalid.'
        : 'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview';
      return { status: 401, body: errorBody('INVALID_AUTHENTICATION', message), fault: 'auth' };
    }
    rateLimitHeaders();
    if (window.length >= rateLimit.count) {
      return { ...rateLimited('TEN_SECONDLY_ROLLING'), fault: 'rate_limit' };
    }
    window.push(Date.now());
    const fault = faults.shift();
    if (fault) {
      if (fault.status === 429) return { ...rateLimited(fault.policyName ?? 'TEN_SECONDLY_ROLLING', fault.retryAfterSeconds), fault: 'injected' };
      if (fault.status === 403) {
        const message = "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.";
        const errors = [{ message: 'One or more of the following scopes are required.', context: { requiredGranularScopes: fault.requiredScopes ?? ['crm.objects.contacts.write'] } }];
        return { status: 403, body: errorBody('MISSING_SCOPES', message, { errors }), fault: 'injected' };
      }
      const headers: Record<string, string> = fault.retryAfterSeconds !== undefined ? { 'retry-after': String(fault.retryAfterSeconds) } : {};
      return { status: fault.status, body: errorBody('INTERNAL_ERROR', `internal error (injected ${fault.status})`), headers, fault: 'injected' };
    }
    if (!match) return { status: 404, body: errorBody('NOT_FOUND', `No operation ${method} at this path is documented.`) };
    if (validationErrors.length > 0) {
      return { status: 400, body: errorBody('VALIDATION_ERROR', `Invalid input: ${validationErrors.join('; ')}`, { errors: validationErrors.map((message) => ({ message })) }) };
    }
    const handler = handlers[`${method} ${match.template}`];
    if (!handler) return { status: 501, body: errorBody('NOT_IMPLEMENTED', `The fake does not implement ${method} ${match.template}.`) };
    return handler({ params: match.pathParams, query, body });
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        const rawBody = Buffer.concat(chunks).toString('utf8');
        const url = new URL(req.url ?? '/', 'http://127.0.0.1');
        const method = (req.method ?? 'GET').toUpperCase();
        const validation = validator.validateRequest({ method, pathname: url.pathname, query: url.searchParams, contentType: req.headers['content-type'], rawBody });
        const entry: LoggedRequest = {
          seq: ++seq,
          method,
          path: url.pathname,
          query: url.search,
          operation: validation.match?.template,
          body: validation.body,
          status: 0,
          validationErrors: validation.errors,
          responseErrors: [],
        };
        requests.push(entry);
        if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
        let answer: JsonResponse;
        try {
          answer = serve(method, validation.match, validation.errors, req.headers.authorization, url.searchParams, validation.body);
        } catch (error) {
          // A crash in a handler is a fake bug; answer 500 but make it loud in the log.
          answer = { status: 500, body: errorBody('INTERNAL_ERROR', `fake crashed: ${(error as Error).message}`) };
          entry.responseErrors.push(`handler threw: ${(error as Error).stack ?? String(error)}`);
        }
        entry.status = answer.status;
        entry.fault = answer.fault;
        if (validation.match && answer.status !== 501) entry.responseErrors.push(...validator.validateResponse(validation.match, answer.status, answer.body));
        const headers: Record<string, string> = { ...rateLimitHeaders(), ...answer.headers };
        if (answer.body !== undefined) headers['content-type'] = 'application/json;charset=utf-8';
        res.writeHead(answer.status, headers);
        res.end(answer.body === undefined ? undefined : JSON.stringify(answer.body));
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    token,
    requests,
    validationFailures: () => requests.filter((r) => r.validationErrors.length > 0),
    responseValidationFailures: () => requests.filter((r) => r.responseErrors.length > 0),
    records: (objectType) => [...stores[objectType].values()].map((r) => ({ ...r, properties: { ...r.properties } })),
    findByProperty,
    seed: (objectType, properties) => {
      const key = NATURAL_KEY[objectType];
      if (properties[key] !== undefined && findByProperty(objectType, key, properties[key]!)) throw new Error(`${objectType} with ${key}=${properties[key]} already exists`);
      return create(objectType, properties);
    },
    createList: (name, processingType = 'MANUAL') => {
      const list: FakeList = { listId: String(nextListId++), name, processingType, objectTypeId: '0-1', members: new Set() };
      lists.set(list.listId, list);
      return list.listId;
    },
    listMembers: (listId) => [...(lists.get(listId)?.members ?? [])].sort((a, b) => Number(a) - Number(b)),
    associations: () =>
      [...associationPairs].map((pair) => {
        const [contactId, companyId] = pair.split('->') as [string, string];
        return { contactId, companyId };
      }),
    failNext: (count, fault) => {
      for (let i = 0; i < count; i++) faults.push(fault);
    },
    setLatency: (ms) => {
      latencyMs = ms;
    },
    setRecordFault: (fault) => {
      recordFault = fault;
    },
    setRateLimit: (limit) => {
      rateLimit = limit;
      window = [];
    },
    reset: () => {
      stores.contacts.clear();
      stores.companies.clear();
      lists.clear();
      associationPairs.clear();
      requests.length = 0;
      faults = [];
      latencyMs = 0;
      recordFault = undefined;
      window = [];
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
