/**
 * SendGrid Marketing Campaigns as the sendgrid connector uses it (../shared/specs/sendgrid:
 * tsg_mc_contacts_v3 and tsg_mc_lists_v3, which the test fake enforces on every request):
 * `PUT /v3/marketing/contacts` (async upsert job), `GET /v3/marketing/contacts/imports/{id}`
 * (job status), the job's `errors_url` file, `POST /v3/marketing/contacts/search/emails`
 * (email → contact id), `DELETE /v3/marketing/lists/{id}/contacts` (list removal),
 * `GET /v3/marketing/lists/{id}`, `GET /v3/marketing/contacts/count` (check) and
 * `GET /v3/marketing/field_definitions` (custom fields; documented by SendGrid but not part
 * of the two copied spec files).
 *
 * Invariants: every body is validated with zod before it is read; a non-2xx answer becomes a
 * classified ConnectorError (401/403 'auth' with a hint naming the API-key permission, 429
 * 'rate_limited' with Retry-After or X-RateLimit-Reset, 5xx 'transient', 404 'config') —
 * except where a caller handles the status itself (400 of an upsert names rows; 404 of an
 * email search means "none found"). No method here decides a row's outcome (index.ts does).
 */
import { z } from 'zod';
import { ConnectorError, failureForStatus, parseResponse, readRateLimitHeaders, type ConnectorContext, type HttpRequest, type HttpResponse } from '../kit';

export const DESTINATION = 'sendgrid';
/** Spec: `contacts` maxItems 30000; docs: and at most 6 MB per request, whichever is lower. */
export const SENDGRID_MAX_CONTACTS = 30_000;
export const SENDGRID_MAX_BYTES = 6 * 1024 * 1024;
/** search/emails and list removal take at most 100 emails / ids per call. */
export const SENDGRID_LOOKUP_CHUNK = 100;

// ----------------------------------------------------------------------------- schemas

const errorItemSchema = z.object({ message: z.string().optional(), field: z.string().nullable().optional(), error_id: z.string().optional(), parameter: z.string().optional() }).passthrough();
/** 4xx/5xx bodies: `{errors:[{field,message}]}` (a 400 of the import-status call has one object, not an array). */
const errorBodySchema = z.object({ errors: z.union([z.array(errorItemSchema), errorItemSchema]).optional() }).passthrough();
export type SendgridErrorItem = z.infer<typeof errorItemSchema>;

const jobAcceptedSchema = z.object({ job_id: z.string().min(1) });

export const jobStatusSchema = z.object({
  id: z.string().optional(),
  status: z.enum(['pending', 'completed', 'errored', 'failed']),
  job_type: z.string().optional(),
  results: z
    .object({
      requested_count: z.number().optional(),
      created_count: z.number().optional(),
      updated_count: z.number().optional(),
      deleted_count: z.number().optional(),
      errored_count: z.number().optional(),
      errors_url: z.string().optional(),
    })
    .optional(),
});
export type SendgridJobStatus = z.infer<typeof jobStatusSchema>;

const searchEmailsSchema = z.object({
  result: z.record(z.string(), z.object({ contact: z.object({ id: z.string(), email: z.string().optional() }).passthrough().optional(), error: z.string().optional() })),
});

const countSchema = z.object({ contact_count: z.number() }).passthrough();
const listSchema = z.object({ id: z.string(), name: z.string(), contact_count: z.number().optional() }).passthrough();

const fieldDefinitionSchema = z.object({ id: z.string(), name: z.string(), field_type: z.enum(['Text', 'Number', 'Date']) });
const fieldDefinitionsSchema = z.object({ custom_fields: z.array(fieldDefinitionSchema).default([]), reserved_fields: z.array(fieldDefinitionSchema.extend({ read_only: z.boolean().optional() })).default([]) });
export type SendgridFieldDefinition = z.infer<typeof fieldDefinitionSchema>;

// ----------------------------------------------------------------------------- inputs

/** One contact as PUT /v3/marketing/contacts takes it (spec: ContactRequest). */
export interface ContactInput {
  email: string;
  [field: string]: string | string[] | Record<string, string | number> | undefined;
}

export type UpsertAnswer = { kind: 'accepted'; jobId: string } | { kind: 'refused'; errors: SendgridErrorItem[]; message: string };

/** The text SendGrid gives in an error body, joined. */
export function sendgridMessage(body: unknown): string | undefined {
  const parsed = errorBodySchema.safeParse(body);
  if (!parsed.success || parsed.data.errors === undefined) return typeof body === 'string' && body !== '' ? body.slice(0, 300) : undefined;
  const items = Array.isArray(parsed.data.errors) ? parsed.data.errors : [parsed.data.errors];
  const text = items.map((e) => [e.field ? `${e.field}: ` : '', e.message ?? ''].join('')).filter(Boolean).join('; ');
  return text === '' ? undefined : text.slice(0, 500);
}

// ----------------------------------------------------------------------------- client

export class SendgridClient {
  constructor(private readonly ctx: ConnectorContext<{ apiKey: string }>) {}

  /** The cheapest authenticated Marketing read: the contact count. */
  async checkAccess(): Promise<number> {
    const response = await this.send({ method: 'GET', path: '/v3/marketing/contacts/count' }, 'check access (count contacts)');
    return parseResponse(DESTINATION, countSchema, response, 'check access').contact_count;
  }

  /** A list id that does not exist is a config failure naming it. */
  async getList(listId: string): Promise<z.infer<typeof listSchema>> {
    const response = await this.send({ method: 'GET', path: `/v3/marketing/lists/${encodeURIComponent(listId)}` }, `read list ${listId}`, {
      404: () => new ConnectorError(DESTINATION, 'config', `SendGrid has no list with id ${listId}`, { hint: 'copy the list id from Marketing → Contacts → the list’s URL (a UUID) into the sync’s object_options', httpStatus: 404 }),
    });
    return parseResponse(DESTINATION, listSchema, response, `read list ${listId}`);
  }

  async fieldDefinitions(): Promise<z.infer<typeof fieldDefinitionsSchema>> {
    const response = await this.send({ method: 'GET', path: '/v3/marketing/field_definitions' }, 'read custom field definitions');
    return parseResponse(DESTINATION, fieldDefinitionsSchema, response, 'read custom field definitions');
  }

  /** PUT contacts: 202 starts a job; a 400 is returned (not thrown) so its field errors can be mapped to rows. */
  async upsert(contacts: ContactInput[], listIds: string[]): Promise<UpsertAnswer> {
    const body = listIds.length > 0 ? { list_ids: listIds, contacts } : { contacts };
    const what = `upsert ${contacts.length} contacts`;
    const response = await this.send({ method: 'PUT', path: '/v3/marketing/contacts', body }, what, { 400: () => undefined });
    if (response.status === 400) {
      const parsed = errorBodySchema.safeParse(response.body);
      const errors = parsed.success && parsed.data.errors !== undefined ? (Array.isArray(parsed.data.errors) ? parsed.data.errors : [parsed.data.errors]) : [];
      return { kind: 'refused', errors, message: sendgridMessage(response.body) ?? 'HTTP 400' };
    }
    return { kind: 'accepted', jobId: parseResponse(DESTINATION, jobAcceptedSchema, response, what).job_id };
  }

  async jobStatus(jobId: string): Promise<SendgridJobStatus> {
    const what = `read job ${jobId}`;
    const response = await this.send({ method: 'GET', path: `/v3/marketing/contacts/imports/${encodeURIComponent(jobId)}` }, what);
    return parseResponse(DESTINATION, jobStatusSchema, response, what);
  }

  /** The job's error file (an absolute URL SendGrid hands out). */
  async errorsFile(url: string): Promise<string> {
    const response = await this.send({ method: 'GET', path: url, headers: { accept: 'text/csv, application/json' } }, 'download the job’s error file');
    return parseResponse(DESTINATION, z.string(), response, 'download the job’s error file');
  }

  /** Contact ids by email (≤100 per call); emails SendGrid does not have are absent from the map. */
  async idsByEmail(emails: string[]): Promise<Map<string, string>> {
    const what = `look up ${emails.length} contacts by email`;
    const response = await this.send({ method: 'POST', path: '/v3/marketing/contacts/search/emails', body: { emails } }, what, { 404: () => undefined });
    const ids = new Map<string, string>();
    // SendGrid answers 404 when none of the emails is a contact.
    if (response.status === 404) return ids;
    for (const [email, entry] of Object.entries(parseResponse(DESTINATION, searchEmailsSchema, response, what).result)) {
      if (entry.contact) ids.set(email.toLowerCase(), entry.contact.id);
    }
    return ids;
  }

  /** Removes contacts from a list (they stay contacts); SendGrid runs it as a job. */
  async removeFromList(listId: string, contactIds: string[]): Promise<string | undefined> {
    const what = `remove ${contactIds.length} contacts from list ${listId}`;
    const response = await this.send({ method: 'DELETE', path: `/v3/marketing/lists/${encodeURIComponent(listId)}/contacts`, query: { contact_ids: contactIds.join(',') } }, what, {
      404: () => new ConnectorError(DESTINATION, 'config', `SendGrid has no list with id ${listId}`, { hint: 'check the listId of the sync', httpStatus: 404 }),
    });
    return parseResponse(DESTINATION, z.object({ job_id: z.string().optional() }), response, what).job_id;
  }

  /**
   * Sends a request and throws a classified error for a failed answer, unless `handled`
   * maps the status: to undefined (the caller reads the response) or to a specific error.
   */
  private async send(request: HttpRequest, what: string, handled: Partial<Record<number, () => ConnectorError | undefined>> = {}): Promise<HttpResponse> {
    const response = await this.ctx.http({ ...request, headers: { authorization: `Bearer ${this.ctx.config.apiKey}`, ...request.headers } });
    if (response.status < 300) return response;
    const special = handled[response.status];
    if (special) {
      const error = special();
      if (error) throw error;
      return response;
    }
    throw sendgridError(response, what);
  }
}

/** A failed answer as a ConnectorError, with the hint a SendGrid user needs. */
export function sendgridError(response: HttpResponse, what: string): ConnectorError {
  const failure = failureForStatus(response.status) ?? 'transient';
  const vendor = sendgridMessage(response.body);
  const message = `${what}: HTTP ${response.status}${vendor ? ` — ${vendor}` : ''}`;
  const limits = readRateLimitHeaders(response.headers);
  const hints: Record<string, string> = {
    401: 'SendGrid does not know this API key: create one under Settings → API Keys and put it in destinations.yml (apiKey: ${SENDGRID_API_KEY})',
    403: 'the API key lacks Marketing permissions: give it "Marketing: Full Access" (Settings → API Keys → Edit), or the account has no Marketing Campaigns plan',
    429: 'SendGrid rate limit reached; the engine waits until X-RateLimit-Reset and retries',
  };
  return new ConnectorError(DESTINATION, failure, message, {
    hint: hints[response.status] ?? (failure === 'transient' ? 'SendGrid had a problem; the engine retries' : 'the request was refused; see the reason'),
    httpStatus: response.status,
    // SendGrid documents X-RateLimit-Reset (epoch seconds) rather than Retry-After; honour either.
    retryAfterMs: response.status === 429 ? (limits.retryAfterMs ?? limits.resetMs ?? 1000) : limits.retryAfterMs,
  });
}
