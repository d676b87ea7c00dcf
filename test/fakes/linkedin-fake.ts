/**
 * A stateful local LinkedIn Marketing API for DMP segments (destinations.md §11), on
 * 127.0.0.1: `POST /dmpSegments/{id}/users|companies` (BATCH_CREATE; the versioned headers
 * are required — a request without `LinkedIn-Version`, `X-Restli-Protocol-Version: 2.0.0` or
 * `X-RestLi-Method: BATCH_CREATE` is refused), elements validated with zod from the
 * documented shape, one status per element (an idValue of SHA256_EMAIL that is not a SHA-256
 * digest gets 400 for that element only), `GET /adAccounts` for check, bearer auth, and 429
 * for throttling. Users and companies are matched by any shared id; faults change nothing.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { startFakeServer, type FakeServer, type FakeServerOptions } from './ad-fake-server';

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

export interface LinkedinFake {
  url: string;
  token: string;
  server: FakeServer;
  /** Each member of a segment as its id strings ('SHA256_EMAIL:<hash>', 'companyWebsiteDomain:acme.com', …). */
  members(segmentId: string, kind: 'users' | 'companies'): string[][];
  refusals: Array<{ path: string; reason: string }>;
  close(): Promise<void>;
}

export async function startLinkedinFake(options: FakeServerOptions = {}): Promise<LinkedinFake> {
  const token = `AQV${randomUUID()}`;
  const segments = new Map<string, string[][]>();
  const refusals: LinkedinFake['refusals'] = [];
  const refuse = (path: string, reason: string) => (refusals.push({ path, reason }), { status: 400, body: { status: 400, code: 'ILLEGAL_ARGUMENT', message: reason } });
  const server = await startFakeServer(
    (call) => {
      if (call.headers.authorization !== `Bearer ${token}`) return { status: 401, body: { status: 401, serviceErrorCode: 65600, code: 'INVALID_ACCESS_TOKEN', message: 'Invalid access token' } };
      if (!/^\d{6}$/.test(String(call.headers['linkedin-version'] ?? ''))) return refuse(call.path, 'LinkedIn-Version header (YYYYMM) is required');
      if (call.headers['x-restli-protocol-version'] !== '2.0.0') return refuse(call.path, 'X-Restli-Protocol-Version: 2.0.0 is required');
      if (call.method === 'GET' && call.path === '/adAccounts') return { status: 200, body: { elements: [{ id: 5001 }] } };
      const m = /^\/dmpSegments\/(\d+)\/(users|companies)$/.exec(call.path);
      if (!m || call.method !== 'POST') return { status: 404, body: { status: 404, message: 'Not Found' } };
      if (call.headers['x-restli-method'] !== 'BATCH_CREATE') return refuse(call.path, 'X-RestLi-Method: BATCH_CREATE is required');
      const parsed = z.strictObject({ elements: z.array(m[2] === 'users' ? userElement : companyElement).min(1) }).safeParse(call.body);
      if (!parsed.success) return refuse(call.path, parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')} ${i.message}`).join('; '));
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
  return { url: server.url, token, server, members: (id, kind) => segments.get(`${id}/${kind}`) ?? [], refusals, close: () => server.close() };
}
