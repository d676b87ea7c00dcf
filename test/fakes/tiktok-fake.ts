/**
 * A stateful local TikTok Business API for custom audiences (destinations.md §12), on
 * 127.0.0.1: `POST /segment/mapping/` (add/delete; body validated with zod from the
 * documented shape: advertiser_ids, action, id_schema, batch_data with one inner array per
 * user and one {id, audience_ids} per id_schema column), `GET /advertiser/info/` for check,
 * the `Access-Token` header. Like TikTok, failures come back as HTTP 200 with a non-zero
 * `code` (40105 bad token, 40100 throttled, 40002 bad request); ids must be SHA-256 digests.
 * Members are matched by any shared id; faults and refused requests change nothing.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { startFakeServer, type FakeServer, type FakeServerOptions } from './ad-fake-server';

const mappingSchema = z.strictObject({
  advertiser_ids: z.array(z.string()).min(1),
  action: z.enum(['add', 'delete']),
  id_schema: z.array(z.enum(['EMAIL_SHA256', 'PHONE_SHA256', 'IDFA_SHA256', 'AAID_SHA256', 'IDFA_MD5', 'AAID_MD5'])).min(1),
  batch_data: z.array(z.array(z.strictObject({ id: z.string(), audience_ids: z.array(z.string()).min(1) }))).min(1),
});

export interface TiktokFake {
  url: string;
  token: string;
  advertiserId: string;
  server: FakeServer;
  members(audienceId: string): string[][];
  refusals: Array<{ reason: string }>;
  close(): Promise<void>;
}

export async function startTiktokFake(options: FakeServerOptions = {}): Promise<TiktokFake> {
  const token = randomUUID().replace(/-/g, '');
  const advertiserId = '7000000000001';
  const audiences = new Map<string, string[][]>();
  const refusals: TiktokFake['refusals'] = [];
  const body = (code: number, message: string, data: unknown = {}) => ({ status: 200, body: { code, message, request_id: randomUUID(), data } });
  const refuse = (reason: string) => (refusals.push({ reason }), body(40002, reason));
  const server = await startFakeServer(
    (call) => {
      if (call.headers['access-token'] !== token) return body(40105, 'Access token is incorrect or has been revoked.');
      if (call.method === 'GET' && call.path === '/advertiser/info/') return body(0, 'OK', { list: [{ advertiser_id: advertiserId }] });
      if (call.method !== 'POST' || call.path !== '/segment/mapping/') return { status: 404, body: { code: 40404, message: 'Not found' } };
      const parsed = mappingSchema.safeParse(call.body);
      if (!parsed.success) return refuse(parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')} ${i.message}`).join('; '));
      const { id_schema: schema, batch_data: data, action } = parsed.data;
      if (!parsed.data.advertiser_ids.includes(advertiserId)) return body(40001, 'No permission to operate advertiser');
      for (const user of data) {
        if (user.length !== schema.length) return refuse('each batch_data entry needs one id per id_schema column');
        if (user.some((u) => u.id !== '' && !/^[0-9a-f]{64}$/.test(u.id))) return refuse('ids must be SHA-256 hex digests');
      }
      for (const user of data) {
        const ids = user.flatMap((u, i) => (u.id === '' ? [] : [`${schema[i]}:${u.id}`]));
        for (const audienceId of new Set(user.flatMap((u) => u.audience_ids))) {
          let members = audiences.get(audienceId) ?? [];
          const matches = members.filter((m) => m.some((id) => ids.includes(id)));
          if (action === 'add') {
            if (matches.length === 0) members.push(ids);
          } else members = members.filter((m) => !matches.includes(m));
          audiences.set(audienceId, members);
        }
      }
      return body(0, 'OK');
    },
    () => body(40100, 'Requests made too frequently. Please try again later.'),
    options,
  );
  return { url: server.url, token, advertiserId, server, members: (id) => audiences.get(id) ?? [], refusals, close: () => server.close() };
}
