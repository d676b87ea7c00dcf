/**
 * A stateful local Braze REST API on 127.0.0.1, as ../shared/research/destinations.md §4
 * documents it: Bearer REST API key with per-endpoint permissions; `POST /users/track`
 * (at most 75 attributes, 75 events, 75 purchases per request — more is a fatal 400; a bad
 * object is a non-fatal `errors[{type, input_array, index}]` next to "success", and the
 * others are applied); `POST /users/delete` (at most 50 ids, exactly one identifier type per
 * request); a rate limit of 3,000 `/users/track` requests per 3 s (window configurable so a
 * test can hit it) answered 429 with X-RateLimit-* headers and Retry-After.
 *
 * Request bodies are validated with zod schemas written from the documented shapes; a body
 * they refuse is a 400 and changes nothing. Attribute semantics: a value sets the custom
 * attribute, null removes it; `email_subscribe` and `subscription_groups` keep their own
 * state, with a history so a test can prove nobody was re-subscribed.
 */
import { z } from 'zod';
import { startVendorFake, zodReason, type FakeAnswer, type VendorFakeFaults, type VendorFakeServer } from './vendor-fake';

export const BRAZE_TRACK_LIMIT = 75;
export const BRAZE_DELETE_LIMIT = 50;

export type SubscribeState = 'opted_in' | 'subscribed' | 'unsubscribed';

export interface BrazeUser {
  external_id: string;
  attributes: Record<string, unknown>;
  email_subscribe?: SubscribeState;
  emailSubscribeHistory: SubscribeState[];
  subscriptionGroups: Map<string, 'subscribed' | 'unsubscribed'>;
}

export interface BrazeFakeOptions extends VendorFakeFaults {
  apiKey?: string;
  /** Permissions the key has (default users.track and users.delete). */
  permissions?: string[];
  /** /users/track requests allowed per window (Braze: 3,000 per 3 s). */
  trackLimit?: { count: number; perMs: number };
  /** Per-object rejection, like Braze's non-fatal errors (type text), by external_id. */
  rejectUser?: (externalId: string, attributes: Record<string, unknown>) => string | undefined;
}

export interface BrazeFake {
  url: string;
  apiKey: string;
  server: VendorFakeServer;
  users: Map<string, BrazeUser>;
  /** external_ids whose deletion was requested, in order. */
  deleted: string[];
  /** Someone unsubscribes from email inside Braze (a link, the preference centre). */
  unsubscribeInBraze(externalId: string): void;
  close(): Promise<void>;
}

const identifierKeys = ['external_id', 'user_alias', 'braze_id', 'email', 'phone'] as const;
const attributeValue: z.ZodType = z.lazy(() => z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(attributeValue), z.record(z.string(), attributeValue)]));
/** One attribute object: identifiers, Braze's flags and standard fields, then custom attributes. */
const attributeObjectSchema = z
  .object({
    external_id: z.string().min(1).optional(),
    braze_id: z.string().min(1).optional(),
    email: z.string().optional(),
    phone: z.string().optional(),
    user_alias: z.strictObject({ alias_name: z.string(), alias_label: z.string() }).optional(),
    _update_existing_only: z.boolean().optional(),
    email_subscribe: z.enum(['opted_in', 'subscribed', 'unsubscribed']).optional(),
    push_subscribe: z.enum(['opted_in', 'subscribed', 'unsubscribed']).optional(),
    subscription_groups: z.array(z.strictObject({ subscription_group_id: z.string().min(1), subscription_state: z.enum(['subscribed', 'unsubscribed']) })).optional(),
  })
  .catchall(attributeValue);
const trackRequestSchema = z
  .strictObject({
    attributes: z.array(z.record(z.string(), z.unknown())).max(BRAZE_TRACK_LIMIT, `at most ${BRAZE_TRACK_LIMIT} attributes per request`).optional(),
    events: z.array(z.record(z.string(), z.unknown())).max(BRAZE_TRACK_LIMIT, `at most ${BRAZE_TRACK_LIMIT} events per request`).optional(),
    purchases: z.array(z.record(z.string(), z.unknown())).max(BRAZE_TRACK_LIMIT, `at most ${BRAZE_TRACK_LIMIT} purchases per request`).optional(),
  })
  .refine((b) => (b.attributes?.length ?? 0) + (b.events?.length ?? 0) + (b.purchases?.length ?? 0) > 0, 'at least one of attributes, events or purchases is required');
const deleteRequestSchema = z
  .strictObject({
    external_ids: z.array(z.string().min(1)).min(1).max(BRAZE_DELETE_LIMIT, `at most ${BRAZE_DELETE_LIMIT} ids per request`).optional(),
    braze_ids: z.array(z.string().min(1)).min(1).max(BRAZE_DELETE_LIMIT).optional(),
    user_aliases: z.array(z.strictObject({ alias_name: z.string(), alias_label: z.string() })).min(1).max(BRAZE_DELETE_LIMIT).optional(),
    email_addresses: z.array(z.strictObject({ email: z.string(), prioritization: z.array(z.string()).min(1) })).min(1).max(BRAZE_DELETE_LIMIT).optional(),
    phone_numbers: z.array(z.strictObject({ phone: z.string(), prioritization: z.array(z.string()).min(1) })).min(1).max(BRAZE_DELETE_LIMIT).optional(),
  })
  .refine((b) => Object.keys(b).length === 1, 'exactly one identifier type per request (external_ids, user_aliases, braze_ids, email_addresses or phone_numbers)');

const EMAIL = /^[^\s@]+@[^\s@]+\.[a-z]{2,}$/i;
const fatal = (status: number, message: string, errors: unknown[] = []): FakeAnswer => ({ status, body: { message, errors } });

export async function startBrazeFake(options: BrazeFakeOptions = {}): Promise<BrazeFake> {
  const apiKey = options.apiKey ?? 'braze-rest-key-0001';
  const permissions = new Set(options.permissions ?? ['users.track', 'users.delete']);
  const trackLimit = options.trackLimit ?? { count: 3000, perMs: 3000 };
  const users = new Map<string, BrazeUser>();
  const deleted: string[] = [];
  const windowTimes: number[] = [];

  const setEmailSubscribe = (user: BrazeUser, state: SubscribeState) => {
    if (user.email_subscribe !== state) user.emailSubscribeHistory.push(state);
    user.email_subscribe = state;
  };

  /** Why Braze would refuse this object (non-fatal), or undefined. */
  const objectError = (raw: Record<string, unknown>): string | undefined => {
    const parsed = attributeObjectSchema.safeParse(raw);
    if (!parsed.success) return `Invalid attribute object: ${zodReason(parsed.error)}`;
    const ids = identifierKeys.filter((k) => raw[k] !== undefined);
    if (ids.length === 0) return "'external_id', 'user_alias', 'braze_id', 'email' or 'phone' is required";
    if (ids.length > 1 && !(ids.length === 2 && ids.includes('email') && ids.includes('external_id'))) return 'Only one identifier may be given per object';
    if (typeof raw.email === 'string' && raw.email !== '' && !EMAIL.test(raw.email)) return `Invalid 'email' field: ${raw.email}`;
    for (const key of Object.keys(raw)) if (key.startsWith('$')) return `Custom attribute names cannot start with '$': ${key}`;
    return undefined;
  };

  const track = (body: unknown): FakeAnswer => {
    const parsed = trackRequestSchema.safeParse(body);
    if (!parsed.success) return fatal(400, zodReason(parsed.error));
    const errors: Array<{ type: string; input_array: string; index: number }> = [];
    let processed = 0;
    (parsed.data.attributes ?? []).forEach((raw, index) => {
      const problem = objectError(raw) ?? (typeof raw.external_id === 'string' ? options.rejectUser?.(raw.external_id, raw) : undefined);
      if (problem) {
        errors.push({ type: problem, input_array: 'attributes', index });
        return;
      }
      if (typeof raw.external_id !== 'string') return; // aliases etc. are accepted but not modelled
      let user = users.get(raw.external_id);
      if (!user) {
        if (raw._update_existing_only === true) return; // Braze skips unknown users silently then
        user = { external_id: raw.external_id, attributes: {}, emailSubscribeHistory: [], subscriptionGroups: new Map() };
        users.set(raw.external_id, user);
      }
      processed++;
      for (const [key, value] of Object.entries(raw)) {
        if (key === 'external_id' || key === '_update_existing_only') continue;
        if (key === 'email_subscribe') setEmailSubscribe(user, value as SubscribeState);
        else if (key === 'subscription_groups') for (const g of value as Array<{ subscription_group_id: string; subscription_state: 'subscribed' | 'unsubscribed' }>) user.subscriptionGroups.set(g.subscription_group_id, g.subscription_state);
        else if (value === null) delete user.attributes[key];
        else user.attributes[key] = value;
      }
    });
    return { status: 201, body: { message: 'success', attributes_processed: processed, ...(errors.length ? { errors } : {}) } };
  };

  const remove = (body: unknown): FakeAnswer => {
    const parsed = deleteRequestSchema.safeParse(body);
    if (!parsed.success) return fatal(400, zodReason(parsed.error));
    let count = 0;
    for (const id of parsed.data.external_ids ?? []) {
      if (users.delete(id)) count++;
      deleted.push(id);
    }
    return { status: 201, body: { deleted: count, message: 'success' } };
  };

  const server = await startVendorFake(
    {
      authenticate(req) {
        const key = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
        if (!key || key !== apiKey) return fatal(401, 'Invalid API key');
        const needed = req.path === '/users/track' ? 'users.track' : req.path === '/users/delete' ? 'users.delete' : undefined;
        if (needed && !permissions.has(needed)) return fatal(403, `Access Denied: this API key does not have the ${needed} permission`);
        return undefined;
      },
      admit(req) {
        if (req.path !== '/users/track') return undefined;
        const now = performance.now();
        while (windowTimes.length && windowTimes[0]! <= now - trackLimit.perMs) windowTimes.shift();
        if (windowTimes.length >= trackLimit.count) {
          const waitMs = Math.ceil(windowTimes[0]! + trackLimit.perMs - now);
          return {
            status: 429,
            body: { message: 'Rate limit exceeded', errors: [] },
            headers: { 'x-ratelimit-limit': String(trackLimit.count), 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.ceil((Date.now() + waitMs) / 1000)), 'retry-after': (waitMs / 1000).toFixed(3) },
          };
        }
        windowTimes.push(now);
        return undefined;
      },
      faultBody: (status) => (status === 429 ? { message: 'Rate limit exceeded', errors: [] } : status === 400 ? { message: 'Invalid JSON', errors: [] } : { message: 'Internal Server Error', errors: [] }),
      handle(req) {
        if (req.method === 'POST' && req.path === '/users/track') return track(req.body);
        if (req.method === 'POST' && req.path === '/users/delete') return remove(req.body);
        return fatal(404, 'Not found');
      },
    },
    options,
  );

  return {
    url: server.url,
    apiKey,
    server,
    users,
    deleted,
    unsubscribeInBraze(externalId) {
      const user = users.get(externalId);
      if (user) setEmailSubscribe(user, 'unsubscribed');
    },
    close: () => server.close(),
  };
}
