/**
 * A stateful local Customer.io Track API on 127.0.0.1, per ../shared/research/destinations.md
 * §8: HTTP Basic `site_id:api_key`; `GET /api/v1/accounts/region` (credential check, says
 * the account's data center); v2 `POST /api/v2/batch` (identify / delete people; ≤ 500 KB a
 * request → 413 beyond, ≤ 32 KB an object → that object fails); manual segments
 * `POST /api/v1/segments/{id}/add_customers|remove_customers?id_type=id|email` (≤ 1,000 ids
 * → 400 beyond); fair use of 100 requests/s answered 429 with Retry-After.
 *
 * The v2 partial-failure shape (207 with `errors[{batch_index, reason, field, message}]`)
 * follows the research note, which flags the v2 body as "from memory": it is the one
 * assumption here. Bodies are validated with zod; a refused body is a 400 and changes nothing.
 * People keep an `unsubscribed` history, so tests can prove nobody was re-subscribed.
 */
import { z } from 'zod';
import { startVendorFake, zodReason, type FakeAnswer, type VendorFakeFaults, type VendorFakeServer } from './vendor-fake';

export const CIO_BATCH_BYTES = 500 * 1024;
export const CIO_OBJECT_BYTES = 32 * 1024;
export const CIO_SEGMENT_LIMIT = 1000;

export interface CioPerson {
  id: string;
  email?: string;
  attributes: Record<string, unknown>;
  /** Every value `unsubscribed` took, in order. */
  unsubscribedHistory: boolean[];
}

export interface CustomerioFakeOptions extends VendorFakeFaults {
  siteId?: string;
  apiKey?: string;
  region?: 'us' | 'eu';
  /** Requests per window (Customer.io fair use: 100 per second). */
  rateLimit?: { count: number; perMs: number };
  rejectPerson?: (id: string, attributes: Record<string, unknown>) => string | undefined;
}

export interface CustomerioFake {
  url: string;
  siteId: string;
  apiKey: string;
  server: VendorFakeServer;
  people: Map<string, CioPerson>;
  /** Manual segments: id → member person ids. */
  segments: Map<number, Set<string>>;
  createSegment(): number;
  unsubscribeInCustomerio(id: string): void;
  close(): Promise<void>;
}

const identifiersSchema = z.union([z.strictObject({ id: z.string().min(1) }), z.strictObject({ email: z.string().min(1) }), z.strictObject({ cio_id: z.string().min(1) })]);
const attributeName = z.string().min(1).max(150, 'attribute names are at most 150 bytes');
const batchItemSchema = z.discriminatedUnion('action', [
  z.strictObject({ type: z.literal('person'), identifiers: identifiersSchema, action: z.literal('identify'), attributes: z.record(attributeName, z.unknown()).optional(), timestamp: z.number().int().optional() }),
  z.strictObject({ type: z.literal('person'), identifiers: identifiersSchema, action: z.literal('delete') }),
]);
const batchRequestSchema = z.strictObject({ batch: z.array(z.unknown()).min(1) });
const segmentRequestSchema = z.strictObject({ ids: z.array(z.string().min(1)).min(1).max(CIO_SEGMENT_LIMIT, `at most ${CIO_SEGMENT_LIMIT} ids per request`) });
const EMAIL = /^[^\s@]+@[^\s@]+\.[a-z]{2,}$/i;

const meta = (status: number, error: string): FakeAnswer => ({ status, body: { meta: { error } } });

export async function startCustomerioFake(options: CustomerioFakeOptions = {}): Promise<CustomerioFake> {
  const siteId = options.siteId ?? 'site-123';
  const apiKey = options.apiKey ?? 'track-key-456';
  const region = options.region ?? 'us';
  const rateLimit = options.rateLimit ?? { count: 100, perMs: 1000 };
  const people = new Map<string, CioPerson>();
  const segments = new Map<number, Set<string>>();
  const windowTimes: number[] = [];
  let nextSegment = 1;

  const byEmail = (email: string) => [...people.values()].find((p) => p.email === email.toLowerCase());
  const find = (identifiers: { id?: string; email?: string; cio_id?: string }) => (identifiers.id !== undefined ? people.get(identifiers.id) : identifiers.email !== undefined ? byEmail(identifiers.email) : undefined);

  const batch = (body: unknown, bytes: number): FakeAnswer => {
    if (bytes > CIO_BATCH_BYTES) return meta(413, `request body of ${bytes} bytes is over the 500 KB limit`);
    const parsed = batchRequestSchema.safeParse(body);
    if (!parsed.success) return meta(400, zodReason(parsed.error));
    const errors: Array<{ batch_index: number; reason: string; field?: string; message: string }> = [];
    parsed.data.batch.forEach((raw, index) => {
      if (JSON.stringify(raw).length > CIO_OBJECT_BYTES) return void errors.push({ batch_index: index, reason: 'too_large', message: 'object is over the 32 KB limit' });
      const item = batchItemSchema.safeParse(raw);
      if (!item.success) return void errors.push({ batch_index: index, reason: 'invalid', message: zodReason(item.error) });
      const ids = item.data.identifiers as { id?: string; email?: string };
      if (item.data.action === 'delete') {
        const person = find(ids);
        if (person) {
          people.delete(person.id);
          for (const members of segments.values()) members.delete(person.id);
        }
        return;
      }
      const attributes = item.data.attributes ?? {};
      const email = typeof attributes.email === 'string' ? attributes.email : ids.email;
      if (email !== undefined && !EMAIL.test(email)) return void errors.push({ batch_index: index, reason: 'invalid', field: 'email', message: `'${email}' is not a valid email address` });
      const id = ids.id ?? find(ids)?.id ?? ids.email!.toLowerCase();
      const problem = options.rejectPerson?.(id, attributes);
      if (problem) return void errors.push({ batch_index: index, reason: 'invalid', message: problem });
      let person = people.get(id);
      if (!person) people.set(id, (person = { id, attributes: {}, unsubscribedHistory: [] }));
      if (email !== undefined) person.email = email.toLowerCase();
      for (const [key, value] of Object.entries(attributes)) {
        if (key === 'unsubscribed' && typeof value === 'boolean' && person.attributes.unsubscribed !== value) person.unsubscribedHistory.push(value);
        // Customer.io removes an attribute sent as null or "".
        if (value === null || value === '') delete person.attributes[key];
        else person.attributes[key] = value;
      }
    });
    return errors.length ? { status: 207, body: { errors } } : { status: 200, body: {} };
  };

  const segment = (id: number, change: 'add' | 'remove', idType: string | null, body: unknown): FakeAnswer => {
    const members = segments.get(id);
    if (!members) return meta(404, 'segment not found');
    if (idType !== null && !['id', 'email', 'cio_id'].includes(idType)) return meta(400, `id_type must be id, email or cio_id`);
    const parsed = segmentRequestSchema.safeParse(body);
    if (!parsed.success) return meta(400, zodReason(parsed.error));
    for (const raw of parsed.data.ids) {
      // Unknown people are ignored (Customer.io adds only people it has).
      const person = idType === 'email' ? byEmail(raw) : people.get(raw);
      if (!person) continue;
      if (change === 'add') members.add(person.id);
      else members.delete(person.id);
    }
    return { status: 200, body: {} };
  };

  const server = await startVendorFake(
    {
      authenticate(req) {
        const match = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
        const [user, key] = match ? Buffer.from(match[1]!, 'base64').toString('utf8').split(':') : [];
        if (user !== siteId || key !== apiKey) return meta(401, 'Unauthorized request');
        return undefined;
      },
      admit() {
        const now = performance.now();
        while (windowTimes.length && windowTimes[0]! <= now - rateLimit.perMs) windowTimes.shift();
        if (windowTimes.length >= rateLimit.count) return { ...meta(429, 'Too many requests'), headers: { 'retry-after': String(Math.ceil((windowTimes[0]! + rateLimit.perMs - now) / 1000)) } };
        windowTimes.push(now);
        return undefined;
      },
      faultBody: (status) => ({ meta: { error: status === 429 ? 'Too many requests' : status === 400 ? 'invalid JSON' : 'internal error' } }),
      handle(req) {
        if (req.method === 'GET' && req.path === '/api/v1/accounts/region') return { status: 200, body: { url: region === 'eu' ? 'https://track-eu.customer.io' : 'https://track.customer.io', data_center: region, environment_id: 42 } };
        if (req.method === 'POST' && req.path === '/api/v2/batch') return batch(req.body, JSON.stringify(req.body ?? null).length);
        const m = /^\/api\/v1\/segments\/(\d+)\/(add_customers|remove_customers)$/.exec(req.path);
        if (req.method === 'POST' && m) return segment(Number(m[1]), m[2] === 'add_customers' ? 'add' : 'remove', req.query.get('id_type'), req.body);
        return meta(404, 'not found');
      },
    },
    options,
  );

  return {
    url: server.url,
    siteId,
    apiKey,
    server,
    people,
    segments,
    createSegment() {
      const id = nextSegment++;
      segments.set(id, new Set());
      return id;
    },
    unsubscribeInCustomerio(id) {
      const person = people.get(id);
      if (person && person.attributes.unsubscribed !== true) {
        person.attributes.unsubscribed = true;
        person.unsubscribedHistory.push(true);
      }
    },
    close: () => server.close(),
  };
}
