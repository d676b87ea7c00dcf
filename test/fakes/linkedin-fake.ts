/**
 * A stateful local LinkedIn Marketing API for DMP segments (destinations.md §11), on
 * 127.0.0.1: `POST /dmpSegments/{id}/users|companies` (BATCH_CREATE; the versioned headers
 * are required — a request without `LinkedIn-Version`, `X-Restli-Protocol-Version: 2.0.0` or
 * `X-RestLi-Method: BATCH_CREATE` is refused), elements validated with zod from the
 * documented shape, one status per element (an idValue of SHA256_EMAIL that is not a SHA-256
 * digest gets 400 for that element only), `GET /adAccounts` for check, bearer auth, and 429
 * for throttling; a seeded share of elements answered 503 on their own (the element is not
 * applied: the connector answers that row `retry`). DMP segments can be created
 * (`POST /dmpSegments`, 201 with the id in `x-restli-id`, body validated against the documented
 * create schema) and found by account (`GET /dmpSegments?q=account`, paged); adding to an
 * unknown segment is 404. Users and companies are matched by any shared id; faults change nothing.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { seededRandom, startFakeServer, type FakeServer, type FakeServerOptions } from './ad-fake-server';

const userElement = z.strictObject({
  action: z.enum(['ADD', 'REMOVE']),
  userIds: z.array(z.strictObject({ idType: z.enum(['SHA256_EMAIL', 'SHA512_EMAIL', 'GOOGLE_AID']), idValue: z.string() })).min(1),
  firstName: z.string().optional(),
  lastName: z.string().optional(),
  title: z.string().optional(),
  company: z.string().optional(),
  country: z.string().optional(),
});
const companyElement = z.strictObject({
  action: z.enum(['ADD', 'REMOVE']),
  companyName: z.string().optional(),
  organizationUrn: z.string().optional(),
  companyWebsiteDomain: z.string().optional(),
  companyEmailDomain: z.string().optional(),
  companyPageUrl: z.string().optional(),
});

const createSegmentSchema = z.strictObject({
  name: z.string().min(1),
  account: z.string().regex(/^urn:li:sponsoredAccount:\d+$/),
  type: z.enum(['USER', 'COMPANY', 'USER_STREAMING', 'COMPANY_STREAMING', 'USER_LIST_UPLOAD', 'COMPANY_LIST_UPLOAD']),
  sourcePlatform: z.enum(['STREAMING', 'LIST_UPLOAD']),
  accessPolicy: z.enum(['PRIVATE', 'PUBLIC']),
  destinations: z.array(z.strictObject({ destination: z.literal('LINKEDIN') })).min(1),
  description: z.string().optional(),
});

export interface LinkedinFakeOptions extends FakeServerOptions {
  /** Seeded share of elements answered `{status: 503}` on their own (not applied). */
  elementFaultRate?: number;
  /** Segment ids that exist before the test (others must be created); default: any id exists. */
  knownSegmentsOnly?: boolean;
}

export interface LinkedinFake {
  url: string;
  token: string;
  server: FakeServer;
  /** Each member of a segment as its id strings ('SHA256_EMAIL:<hash>', 'companyWebsiteDomain:acme.com', …). */
  members(segmentId: string, kind: 'users' | 'companies'): string[][];
  refusals: Array<{ path: string; reason: string }>;
  /** Segments created through the API. */
  created: Array<z.infer<typeof createSegmentSchema> & { id: string }>;
  close(): Promise<void>;
}

export async function startLinkedinFake(options: LinkedinFakeOptions = {}): Promise<LinkedinFake> {
  const token = `AQV${randomUUID()}`;
  const segments = new Map<string, string[][]>();
  const created: LinkedinFake['created'] = [];
  const elementRandom = seededRandom((options.seed ?? 1) + 7);
  let nextSegment = 9000;
  const refusals: LinkedinFake['refusals'] = [];
  const refuse = (path: string, reason: string) => (refusals.push({ path, reason }), { status: 400, body: { status: 400, code: 'ILLEGAL_ARGUMENT', message: reason } });
  const server = await startFakeServer(
    (call) => {
      if (call.headers.authorization !== `Bearer ${token}`) return { status: 401, body: { status: 401, serviceErrorCode: 65600, code: 'INVALID_ACCESS_TOKEN', message: 'Invalid access token' } };
      if (!/^\d{6}$/.test(String(call.headers['linkedin-version'] ?? ''))) return refuse(call.path, 'LinkedIn-Version header (YYYYMM) is required');
      if (call.headers['x-restli-protocol-version'] !== '2.0.0') return refuse(call.path, 'X-Restli-Protocol-Version: 2.0.0 is required');
      if (call.method === 'GET' && call.path === '/adAccounts') return { status: 200, body: { elements: [{ id: 5001 }] } };
      if (call.path === '/dmpSegments' && call.method === 'GET') {
        if (call.query.get('q') !== 'account') return refuse(call.path, 'q=account is required');
        const account = call.query.get('account') ?? '';
        const start = Number(call.query.get('start') ?? 0);
        const count = Number(call.query.get('count') ?? 10);
        const all = created.filter((c) => c.account === account);
        return { status: 200, body: { elements: all.slice(start, start + count).map((c) => ({ id: Number(c.id), name: c.name, type: c.type, account: c.account, status: 'READY' })), paging: { start, count, total: all.length } } };
      }
      if (call.path === '/dmpSegments' && call.method === 'POST') {
        const parsed = createSegmentSchema.safeParse(call.body);
        if (!parsed.success) return refuse(call.path, parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')} ${i.message}`).join('; '));
        const id = String(nextSegment++);
        created.push({ ...parsed.data, id });
        return { status: 201, headers: { 'x-restli-id': id, 'x-linkedin-id': id } };
      }
      const m = /^\/dmpSegments\/(\d+)\/(users|companies)$/.exec(call.path);
      if (!m || call.method !== 'POST') return { status: 404, body: { status: 404, message: 'Not Found' } };
      if (call.headers['x-restli-method'] !== 'BATCH_CREATE') return refuse(call.path, 'X-RestLi-Method: BATCH_CREATE is required');
      const parsed = z.strictObject({ elements: z.array(m[2] === 'users' ? userElement : companyElement).min(1) }).safeParse(call.body);
      if (!parsed.success) return refuse(call.path, parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')} ${i.message}`).join('; '));
      if (options.knownSegmentsOnly && !created.some((c) => c.id === m[1])) return { status: 404, body: { status: 404, message: `DMP segment ${m[1]} not found` } };
      const key = `${m[1]}/${m[2]}`;
      let members = segments.get(key) ?? [];
      const statuses = parsed.data.elements.map((element) => {
        const ids =
          'userIds' in element
            ? element.userIds.map((u) => `${u.idType}:${u.idValue}`)
            : Object.entries(element)
                .filter(([k]) => k !== 'action')
                .map(([k, v]) => `${k}:${String(v)}`);
        if ('userIds' in element && element.userIds.some((u) => u.idType === 'SHA256_EMAIL' && !/^[0-9a-f]{64}$/.test(u.idValue))) return { status: 400, message: 'idValue of SHA256_EMAIL must be a SHA-256 hex digest' };
        if (elementRandom() < (options.elementFaultRate ?? 0)) return { status: 503, message: 'Service unavailable for this element' };
        const matches = members.filter((mm) => mm.some((id) => ids.includes(id)));
        if (element.action === 'ADD') {
          if (matches.length === 0) members.push(ids);
        } else members = members.filter((mm) => !matches.includes(mm));
        return { status: 201 };
      });
      segments.set(key, members);
      return { status: 200, body: { elements: statuses } };
    },
    () => ({ status: 429, body: { status: 429, message: 'Resource level throttle limit for calls to this resource is reached.' } }),
    options,
  );
  return { url: server.url, token, server, members: (id, kind) => segments.get(`${id}/${kind}`) ?? [], refusals, created, close: () => server.close() };
}
