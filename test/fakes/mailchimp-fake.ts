/**
 * A stateful local Mailchimp Marketing API (3.0) on 127.0.0.1, behaving as
 * ../shared/research/destinations.md §3 documents: HTTP Basic auth with the API key (its
 * `-usNN` suffix must name this data center), batch subscribe/update `POST /lists/{id}`
 * (at most 500 members; 200 with `new_members`, `updated_members`, `errors[]`), member
 * PATCH, archive (`DELETE …/members/{hash}`), member tags, static segments (tags are static
 * segments in Mailchimp: one membership set, two ways to reach it; at most 500 adds and 500
 * removals per request), merge-field discovery, and the concurrency limit — more than 10
 * requests in flight at once are answered 429 with no rate-limit headers.
 *
 * Every request body is validated with zod schemas written from the documented request
 * shapes (Mailchimp publishes no spec we hold); anything else is a 400 "Invalid Resource"
 * and changes nothing. Faults (failNext, a seeded share of 429/5xx) also change nothing, so
 * the end state is exactly what was acknowledged. Members keep their status history, so a
 * test can prove nobody who unsubscribed was ever subscribed again.
 *
 * The HTTP scaffold (body reading, in-flight count, latency, faults, request log) is
 * `startVendorFake` in vendor-fake.ts, shared with the Braze and Customer.io fakes.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { startVendorFake, zodReason, type FakeAnswer, type FakeRequest, type VendorFakeFaults, type VendorFakeServer } from './vendor-fake';

export const MAILCHIMP_BATCH_LIMIT = 500;
export const MAILCHIMP_SEGMENT_LIMIT = 500;
export const MAILCHIMP_MAX_CONNECTIONS = 10;

export type MemberStatus = 'subscribed' | 'unsubscribed' | 'cleaned' | 'pending' | 'transactional';

export interface FakeMergeField {
  tag: string;
  name: string;
  type: 'text' | 'number' | 'date' | 'address' | 'phone';
  required?: boolean;
}

export interface FakeMember {
  id: string;
  email_address: string;
  status: MemberStatus;
  merge_fields: Record<string, unknown>;
  /** Tag names; a tag is a static segment of the same name. */
  tags: Set<string>;
  archived: boolean;
  /** Every status the member had, in order (consent tests read it). */
  statusHistory: MemberStatus[];
}

export interface FakeAudience {
  id: string;
  name: string;
  mergeFields: FakeMergeField[];
  members: Map<string, FakeMember>;
  /** Static segments (tags) by id. */
  segments: Map<number, { id: number; name: string }>;
}

export interface MailchimpFakeOptions extends VendorFakeFaults {
  /** The data center this fake plays (the API key must end with -<dc>). */
  dc?: string;
  apiKey?: string;
  /** Allowed simultaneous connections (Mailchimp: 10). */
  maxConnections?: number;
}

export interface MailchimpFake {
  url: string;
  apiKey: string;
  dc: string;
  server: VendorFakeServer;
  audiences: Map<string, FakeAudience>;
  createAudience(name: string, mergeFields?: FakeMergeField[]): string;
  /** Someone clicks "unsubscribe" in a Mailchimp email. */
  unsubscribeFromEmail(listId: string, email: string): void;
  /** Current (non-archived) members of an audience by lowercased email. */
  members(listId: string): Map<string, FakeMember>;
  /** Emails (lowercased) of non-archived members in the static segment / tag. */
  segmentMembers(listId: string, segmentId: number): Set<string>;
  close(): Promise<void>;
}

export const subscriberHash = (email: string) => createHash('md5').update(email.trim().toLowerCase()).digest('hex');

const EMAIL = /^[^\s@]+@[^\s@]+\.[a-z]{2,}$/i;
const memberStatusSchema = z.enum(['subscribed', 'unsubscribed', 'cleaned', 'pending', 'transactional']);
const mergeValueSchema = z.union([z.string(), z.number(), z.record(z.string(), z.string())]);

/** A member of a batch subscribe request (documented fields; others are refused). */
const batchMemberSchema = z.strictObject({
  email_address: z.string().min(1),
  email_type: z.enum(['html', 'text']).optional(),
  status: memberStatusSchema,
  merge_fields: z.record(z.string().regex(/^[A-Z0-9_]{1,10}$/, 'merge tags are up to 10 uppercase letters, digits or _'), mergeValueSchema).optional(),
  interests: z.record(z.string(), z.boolean()).optional(),
  language: z.string().optional(),
  vip: z.boolean().optional(),
  tags: z.array(z.string().min(1).max(100)).optional(),
});
const batchRequestSchema = z.strictObject({
  members: z.array(batchMemberSchema).min(1).max(MAILCHIMP_BATCH_LIMIT, `at most ${MAILCHIMP_BATCH_LIMIT} members per request`),
  update_existing: z.boolean().optional(),
  sync_tags: z.boolean().optional(),
});
/** PATCH member: every field optional; a status change is explicit. */
const patchMemberSchema = z.strictObject({
  email_address: z.string().min(1).optional(),
  status: memberStatusSchema.optional(),
  merge_fields: z.record(z.string().regex(/^[A-Z0-9_]{1,10}$/), mergeValueSchema).optional(),
  language: z.string().optional(),
  vip: z.boolean().optional(),
});
const tagsRequestSchema = z.strictObject({
  tags: z.array(z.strictObject({ name: z.string().min(1).max(100), status: z.enum(['active', 'inactive']) })).min(1),
  is_syncing: z.boolean().optional(),
});
const segmentMembersRequestSchema = z
  .strictObject({
    members_to_add: z.array(z.string()).max(MAILCHIMP_SEGMENT_LIMIT, `at most ${MAILCHIMP_SEGMENT_LIMIT} emails to add`).optional(),
    members_to_remove: z.array(z.string()).max(MAILCHIMP_SEGMENT_LIMIT, `at most ${MAILCHIMP_SEGMENT_LIMIT} emails to remove`).optional(),
  })
  .refine((b) => (b.members_to_add?.length ?? 0) + (b.members_to_remove?.length ?? 0) > 0, 'members_to_add or members_to_remove is required');
const createSegmentRequestSchema = z.strictObject({ name: z.string().min(1).max(100), static_segment: z.array(z.string()) });

const problem = (status: number, title: string, detail: string, extra: Record<string, unknown> = {}): FakeAnswer => ({
  status,
  body: { type: 'https://mailchimp.com/developer/marketing/docs/errors/', title, status, detail, instance: 'fake', ...extra },
});
const invalid = (detail: string) => problem(400, 'Invalid Resource', detail);
const notFound = () => problem(404, 'Resource Not Found', 'The requested resource could not be found.');

export async function startMailchimpFake(options: MailchimpFakeOptions = {}): Promise<MailchimpFake> {
  const dc = options.dc ?? 'us19';
  const apiKey = options.apiKey ?? `0123456789abcdef0123456789abcdef-${dc}`;
  const maxConnections = options.maxConnections ?? MAILCHIMP_MAX_CONNECTIONS;
  const audiences = new Map<string, FakeAudience>();
  let nextSegmentId = 1000;

  const setStatus = (member: FakeMember, status: MemberStatus) => {
    if (member.statusHistory[member.statusHistory.length - 1] !== status) member.statusHistory.push(status);
    member.status = status;
  };
  const memberView = (m: FakeMember) => ({ id: m.id, email_address: m.email_address, status: m.status, merge_fields: m.merge_fields, tags: [...m.tags].map((name) => ({ name })) });

  /** Merge fields as Mailchimp checks them: known tags, numbers for number fields. */
  const mergeFieldError = (audience: FakeAudience, fields: Record<string, unknown>, creating: boolean): string | undefined => {
    for (const [tag, value] of Object.entries(fields)) {
      const def = audience.mergeFields.find((f) => f.tag === tag);
      if (!def) return `Your merge fields were invalid: ${tag} is not a merge field of this audience.`;
      if (def.type === 'number' && value !== '' && !(typeof value === 'number' || (typeof value === 'string' && Number.isFinite(Number(value))))) {
        return `Your merge fields were invalid: ${tag} must be a number.`;
      }
    }
    if (creating) for (const def of audience.mergeFields) if (def.required && (fields[def.tag] === undefined || fields[def.tag] === '')) return `Your merge fields were invalid: ${def.tag} is required.`;
    return undefined;
  };

  const batchSubscribe = (audience: FakeAudience, body: unknown): FakeAnswer => {
    const parsed = batchRequestSchema.safeParse(body);
    if (!parsed.success) return invalid(zodReason(parsed.error));
    const result = { new_members: [] as unknown[], updated_members: [] as unknown[], errors: [] as Array<{ email_address: string; error: string; error_code: string }> };
    const seen = new Set<string>();
    for (const m of parsed.data.members) {
      const email = m.email_address.trim().toLowerCase();
      const fail = (error: string, code = 'ERROR_GENERIC') => result.errors.push({ email_address: m.email_address, error, error_code: code });
      if (!EMAIL.test(email)) {
        fail(`${m.email_address} looks fake or invalid, please enter a real email address.`);
        continue;
      }
      if (seen.has(email)) {
        fail(`${m.email_address} is already in this request.`, 'ERROR_DUPLICATE');
        continue;
      }
      seen.add(email);
      const existing = audience.members.get(email);
      const fields = m.merge_fields ?? {};
      if (existing && !existing.archived) {
        if (!parsed.data.update_existing) {
          fail(`${m.email_address} is already a list member. Use PUT to insert or update list members.`, 'ERROR_CONTACT_EXISTS');
          continue;
        }
        const error = mergeFieldError(audience, fields, false);
        if (error) {
          fail(error);
          continue;
        }
        Object.assign(existing.merge_fields, fields);
        setStatus(existing, m.status);
        for (const tag of m.tags ?? []) existing.tags.add(tag);
        result.updated_members.push(memberView(existing));
        continue;
      }
      const error = mergeFieldError(audience, fields, true);
      if (error) {
        fail(error);
        continue;
      }
      // An archived contact who unsubscribed (or bounced) cannot be subscribed again by API.
      if (existing && m.status === 'subscribed' && (existing.status === 'unsubscribed' || existing.status === 'cleaned')) {
        fail(`${m.email_address} is in a compliance state due to unsubscribe, bounce, or compliance review and cannot be subscribed.`, 'ERROR_CONTACT_COMPLIANCE');
        continue;
      }
      const member: FakeMember = existing ?? { id: subscriberHash(email), email_address: email, status: m.status, merge_fields: {}, tags: new Set(), archived: false, statusHistory: [] };
      member.archived = false;
      member.merge_fields = { ...fields };
      setStatus(member, m.status);
      for (const tag of m.tags ?? []) member.tags.add(tag);
      audience.members.set(email, member);
      result.new_members.push(memberView(member));
    }
    return { status: 200, body: { ...result, total_created: result.new_members.length, total_updated: result.updated_members.length, error_count: result.errors.length } };
  };

  const memberByHash = (audience: FakeAudience, hash: string): FakeMember | undefined => {
    for (const member of audience.members.values()) if (member.id === hash) return member;
    return undefined;
  };

  const segmentMembers = (audience: FakeAudience, segmentId: number, body: unknown): FakeAnswer => {
    const segment = audience.segments.get(segmentId);
    if (!segment) return notFound();
    const parsed = segmentMembersRequestSchema.safeParse(body);
    if (!parsed.success) return invalid(zodReason(parsed.error));
    const added: unknown[] = [];
    const removed: unknown[] = [];
    const notOnList: string[] = [];
    for (const email of parsed.data.members_to_add ?? []) {
      const member = audience.members.get(email.trim().toLowerCase());
      if (!member || member.archived) notOnList.push(email);
      else {
        member.tags.add(segment.name);
        added.push(memberView(member));
      }
    }
    for (const email of parsed.data.members_to_remove ?? []) {
      const member = audience.members.get(email.trim().toLowerCase());
      if (!member || member.archived) notOnList.push(email);
      else {
        member.tags.delete(segment.name);
        removed.push(memberView(member));
      }
    }
    const errors = notOnList.length ? [{ email_addresses: notOnList, error: 'Email addresses are not subscribed to the list' }] : [];
    return { status: 200, body: { members_added: added, members_removed: removed, errors, total_added: added.length, total_removed: removed.length, error_count: notOnList.length } };
  };

  const handle = (req: FakeRequest): FakeAnswer => {
    const parts = req.path.replace(/^\/3\.0\/?/, '').split('/').filter(Boolean);
    if (!req.path.startsWith('/3.0')) return notFound();
    if (parts.length === 0 && req.method === 'GET') return { status: 200, body: { account_id: 'fake-account', account_name: 'Fake Co', email: 'owner@example.com', role: 'owner' } };
    if (parts[0] === 'ping' && req.method === 'GET') return { status: 200, body: { health_status: "Everything's Chimpy!" } };
    if (parts[0] !== 'lists') return notFound();
    if (parts.length === 1 && req.method === 'GET') {
      const lists = [...audiences.values()].map((a) => ({ id: a.id, name: a.name, stats: { member_count: [...a.members.values()].filter((m) => !m.archived && m.status === 'subscribed').length } }));
      return { status: 200, body: { lists, total_items: lists.length } };
    }
    const audience = audiences.get(parts[1] ?? '');
    if (!audience) return notFound();
    if (parts.length === 2) {
      if (req.method === 'GET') return { status: 200, body: { id: audience.id, name: audience.name, stats: { member_count: [...audience.members.values()].filter((m) => !m.archived && m.status === 'subscribed').length } } };
      if (req.method === 'POST') return batchSubscribe(audience, req.body);
    }
    if (parts[2] === 'merge-fields' && parts.length === 3 && req.method === 'GET') {
      const mergeFields = audience.mergeFields.map((f, i) => ({ merge_id: i + 1, tag: f.tag, name: f.name, type: f.type, required: f.required ?? false, default_value: '', public: true, display_order: i + 1, options: {}, list_id: audience.id }));
      return { status: 200, body: { merge_fields: mergeFields, list_id: audience.id, total_items: mergeFields.length } };
    }
    if (parts[2] === 'members' && parts.length >= 4) {
      const member = memberByHash(audience, parts[3]!);
      if (!member || member.archived) return notFound();
      if (parts.length === 4 && req.method === 'GET') return { status: 200, body: memberView(member) };
      if (parts.length === 4 && req.method === 'DELETE') {
        member.archived = true;
        return { status: 204 };
      }
      if (parts.length === 4 && req.method === 'PATCH') {
        const parsed = patchMemberSchema.safeParse(req.body);
        if (!parsed.success) return invalid(zodReason(parsed.error));
        const error = mergeFieldError(audience, parsed.data.merge_fields ?? {}, false);
        if (error) return invalid(error);
        Object.assign(member.merge_fields, parsed.data.merge_fields ?? {});
        if (parsed.data.status) setStatus(member, parsed.data.status);
        return { status: 200, body: memberView(member) };
      }
      if (parts.length === 5 && parts[4] === 'tags' && req.method === 'POST') {
        const parsed = tagsRequestSchema.safeParse(req.body);
        if (!parsed.success) return invalid(zodReason(parsed.error));
        for (const tag of parsed.data.tags) {
          if (tag.status === 'active') {
            member.tags.add(tag.name);
            if (![...audience.segments.values()].some((s) => s.name === tag.name)) audience.segments.set(nextSegmentId, { id: nextSegmentId++, name: tag.name });
          } else member.tags.delete(tag.name);
        }
        return { status: 204 };
      }
    }
    if (parts[2] === 'segments') {
      if (parts.length === 3 && req.method === 'GET') {
        const segments = [...audience.segments.values()].map((s) => ({ id: s.id, name: s.name, type: 'static', member_count: [...audience.members.values()].filter((m) => !m.archived && m.tags.has(s.name)).length, list_id: audience.id }));
        return { status: 200, body: { segments, list_id: audience.id, total_items: segments.length } };
      }
      if (parts.length === 3 && req.method === 'POST') {
        const parsed = createSegmentRequestSchema.safeParse(req.body);
        if (!parsed.success) return invalid(zodReason(parsed.error));
        if ([...audience.segments.values()].some((s) => s.name === parsed.data.name)) return invalid(`A segment named ${parsed.data.name} already exists.`);
        const segment = { id: nextSegmentId++, name: parsed.data.name };
        audience.segments.set(segment.id, segment);
        return { status: 200, body: { id: segment.id, name: segment.name, type: 'static', member_count: 0, list_id: audience.id } };
      }
      if (parts.length === 4 && req.method === 'POST') return segmentMembers(audience, Number(parts[3]), req.body);
    }
    return notFound();
  };

  const server = await startVendorFake(
    {
      authenticate(req) {
        const auth = req.headers.authorization ?? '';
        const match = /^Basic (.+)$/.exec(auth);
        const key = match ? Buffer.from(match[1]!, 'base64').toString('utf8').split(':').slice(1).join(':') : /^Bearer (.+)$/.exec(auth)?.[1];
        if (!key) return problem(401, 'API Key Missing', 'Your request did not include an API key.');
        if (!key.endsWith(`-${dc}`)) return problem(401, 'API Key Invalid', `Your API key may be invalid, or you've attempted to access the wrong datacenter.`);
        if (key !== apiKey) return problem(401, 'API Key Invalid', 'Your API key may be invalid, or you\'ve attempted to access the wrong datacenter.');
        return undefined;
      },
      admit(_req, inFlight) {
        // inFlight counts this request too (it arrived); Mailchimp sends no rate-limit headers.
        if (inFlight > maxConnections) return problem(429, 'Too Many Requests', `You have exceeded the limit of ${maxConnections} simultaneous connections.`);
        return undefined;
      },
      faultBody: (status) =>
        status === 429
          ? problem(429, 'Too Many Requests', 'You have exceeded the limit of 10 simultaneous connections.').body
          : status === 400
            ? problem(400, 'JSON Parse Exception', 'We encountered an unspecified JSON parsing error.').body
            : problem(status, 'Internal Server Error', 'An unexpected internal error has occurred.').body,
      handle,
    },
    options,
  );

  let nextList = 1;
  return {
    url: `${server.url}/3.0`,
    apiKey,
    dc,
    server,
    audiences,
    createAudience(name, mergeFields = [
      { tag: 'FNAME', name: 'First Name', type: 'text' },
      { tag: 'LNAME', name: 'Last Name', type: 'text' },
    ]) {
      const id = `a${(nextList++).toString(16).padStart(9, '0')}`;
      audiences.set(id, { id, name, mergeFields, members: new Map(), segments: new Map() });
      return id;
    },
    unsubscribeFromEmail(listId, email) {
      const member = audiences.get(listId)?.members.get(email.toLowerCase());
      if (member) setStatus(member, 'unsubscribed');
    },
    members(listId) {
      return new Map([...(audiences.get(listId)?.members ?? new Map<string, FakeMember>())].filter(([, m]) => !m.archived));
    },
    segmentMembers(listId, segmentId) {
      const audience = audiences.get(listId);
      const segment = audience?.segments.get(segmentId);
      if (!audience || !segment) return new Set();
      return new Set([...audience.members.values()].filter((m) => !m.archived && m.tags.has(segment.name)).map((m) => m.email_address));
    },
    close: () => server.close(),
  };
}
