/**
 * A stateful local Meta Marketing API for custom audiences (destinations.md §10), on
 * 127.0.0.1: `POST`/`DELETE /{audience_id}/users` with a multi-key payload (≤10,000 rows,
 * validated with zod written from the documented shape), upload sessions (batch_seq must
 * grow within a session), `GET /me`, audience list/create in an ad account, bearer auth
 * (a bad token is error 190), and Meta's rate-limit signal — HTTP 400 with error code 17,
 * 613 or 80004 and an `X-Business-Use-Case-Usage` header — for the random share of faults.
 *
 * Members are matched as Meta matches people: a row whose EMAIL, PHONE, MADID or EXTERN_ID
 * equals a stored member's is that member (an add merges, a remove deletes). A hashed key
 * whose value is not a SHA-256 hex digest (e.g. a raw email) is an invalid entry: counted
 * in `num_invalid_entries`, never stored. Faults change nothing.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { startFakeServer, statusAnswer, type FakeAnswer, type FakeCall, type FakeServer, type FakeServerOptions } from './ad-fake-server';

const KEYS = ['EXTERN_ID', 'EMAIL', 'PHONE', 'GEN', 'DOBY', 'DOBM', 'DOBD', 'LN', 'FN', 'FI', 'CT', 'ST', 'ZIP', 'MADID', 'COUNTRY', 'LOOKALIKE_VALUE'] as const;
const UNHASHED = new Set(['MADID', 'EXTERN_ID', 'LOOKALIKE_VALUE']);
const MATCH_KEYS = ['EMAIL', 'PHONE', 'MADID', 'EXTERN_ID'];

const usersRequestSchema = z.strictObject({
  payload: z.strictObject({
    schema: z.union([z.enum(KEYS), z.array(z.enum(KEYS)).min(1)]),
    data: z.array(z.union([z.string(), z.array(z.string())])).min(1).max(10_000),
    app_ids: z.array(z.string()).optional(),
    page_ids: z.array(z.string()).optional(),
  }),
  session: z
    .strictObject({ session_id: z.number().int(), batch_seq: z.number().int().min(1), last_batch_flag: z.boolean(), estimated_num_total: z.number().int().optional() })
    .optional(),
});

export type MetaMember = Record<string, string>;

export interface MetaFakeAudience {
  id: string;
  name: string;
  accountId: string;
  members: MetaMember[];
}

export interface MetaFake {
  url: string;
  token: string;
  server: FakeServer;
  audiences: Map<string, MetaFakeAudience>;
  createAudience(name: string, accountId?: string): string;
  members(audienceId: string): MetaMember[];
  /** Requests the fake refused as malformed (400 code 100), with the reason. */
  refusals: Array<{ path: string; reason: string }>;
  /** The next users request is refused for the whole audience with this Meta error. */
  failNextWithCode(code: number, subcode?: number): void;
  close(): Promise<void>;
}

const metaErrorAnswer = (status: number, code: number, message: string, subcode?: number, headers?: Record<string, string>): FakeAnswer => ({
  status,
  headers,
  body: { error: { message, type: code === 190 ? 'OAuthException' : 'FacebookApiException', code, ...(subcode ? { error_subcode: subcode } : {}), fbtrace_id: randomUUID().slice(0, 11) } },
});

let rateLimitTurn = 0;
/** Meta's throttling: a 400 whose error code says which limit; the BUC header says how long (minutes). */
function rateLimited(): FakeAnswer {
  const code = [17, 613, 80004][rateLimitTurn++ % 3]!;
  const usage = JSON.stringify({ '1234': [{ type: 'custom_audience', call_count: 100, total_cputime: 20, total_time: 20, estimated_time_to_regain_access: 0 }] });
  return metaErrorAnswer(400, code, code === 17 ? 'User request limit reached' : code === 613 ? 'Calls to this api have exceeded the rate limit.' : 'There have been too many calls to this ad-account.', code === 17 ? 2446079 : code === 613 ? 1487742 : undefined, {
    'x-business-use-case-usage': usage,
  });
}

export async function startMetaFake(options: FakeServerOptions & { token?: string; /** Entries holding one of these values are invalid entries (Meta cannot use them). */ invalidValues?: Set<string> } = {}): Promise<MetaFake> {
  const token = options.token ?? `EAAB${randomUUID().replace(/-/g, '')}`;
  const audiences = new Map<string, MetaFakeAudience>();
  const refusals: MetaFake['refusals'] = [];
  const sessions = new Map<number, number>();
  let nextId = 23850000000000;

  function createAudience(name: string, accountId = '1234'): string {
    const id = String(nextId++);
    audiences.set(id, { id, name, accountId, members: [] });
    return id;
  }

  /** Members by `KEY:value`, built on first use and kept in step by changeUsers. */
  const indexes = new WeakMap<MetaFakeAudience, Map<string, MetaMember[]>>();
  const indexOf = (audience: MetaFakeAudience): Map<string, MetaMember[]> => {
    let index = indexes.get(audience);
    if (!index) {
      index = new Map();
      for (const m of audience.members) for (const k of MATCH_KEYS) if (m[k] !== undefined) index.set(`${k}:${m[k]}`, [...(index.get(`${k}:${m[k]}`) ?? []), m]);
      indexes.set(audience, index);
    }
    return index;
  };

  const refuse = (path: string, reason: string): FakeAnswer => {
    refusals.push({ path, reason });
    return metaErrorAnswer(400, 100, `(#100) ${reason}`);
  };

  function changeUsers(call: Omit<FakeCall, 'status' | 'fault'>, audience: MetaFakeAudience, add: boolean): FakeAnswer {
    const parsed = usersRequestSchema.safeParse(call.body);
    if (!parsed.success) return refuse(call.path, `Invalid parameter: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
    const { payload, session } = parsed.data;
    const schema = Array.isArray(payload.schema) ? payload.schema : [payload.schema];
    if (new Set(schema).size !== schema.length) return refuse(call.path, 'schema has a duplicate key');
    if (session) {
      const last = sessions.get(session.session_id) ?? 0;
      if (session.batch_seq <= last) return refuse(call.path, `session ${session.session_id}: batch_seq ${session.batch_seq} already received`);
      sessions.set(session.session_id, session.batch_seq);
    }
    let invalid = 0;
    const samples: Record<string, string> = {};
    const removed: MetaMember[] = [];
    for (const raw of payload.data) {
      const row = Array.isArray(raw) ? raw : [raw];
      if (row.length !== schema.length) {
        invalid++;
        continue;
      }
      const member: MetaMember = {};
      let bad: string | undefined;
      schema.forEach((key, i) => {
        const value = row[i]!;
        if (value === '') return;
        if (!UNHASHED.has(key) && !/^[0-9a-f]{64}$/.test(value)) bad = `${key} is not a SHA-256 hex digest`;
        else if (options.invalidValues?.has(value)) bad = `${key} is not valid`;
        member[key] = value;
      });
      if (bad || !MATCH_KEYS.some((k) => member[k] !== undefined)) {
        invalid++;
        samples[String(invalid)] = bad ?? 'no matchable key';
        continue;
      }
      // Indexed by match key: a linear scan per row made a 10,000-row batch quadratic (seconds).
      const index = indexOf(audience);
      const matches = new Set(MATCH_KEYS.flatMap((k) => (member[k] === undefined ? [] : (index.get(`${k}:${member[k]}`) ?? []))));
      if (add) {
        const target = matches.size === 0 ? member : [...matches][0]!;
        if (matches.size === 0) audience.members.push(member);
        else Object.assign(target, member);
        for (const k of MATCH_KEYS) if (target[k] !== undefined) index.set(`${k}:${target[k]}`, [...new Set([...(index.get(`${k}:${target[k]}`) ?? []), target])]);
      } else if (matches.size > 0) {
        for (const m of matches) for (const k of MATCH_KEYS) if (m[k] !== undefined) index.set(`${k}:${m[k]}`, (index.get(`${k}:${m[k]}`) ?? []).filter((x) => x !== m));
        removed.push(...matches);
      }
    }
    if (removed.length > 0) {
      const gone = new Set(removed);
      audience.members = audience.members.filter((m) => !gone.has(m));
    }
    return {
      status: 200,
      body: { audience_id: audience.id, session_id: String(session?.session_id ?? Math.floor(Math.random() * 1e15)), num_received: payload.data.length, num_invalid_entries: invalid, invalid_entry_samples: samples },
    };
  }

  const queuedCodes: Array<{ code: number; subcode?: number }> = [];

  const server = await startFakeServer(
    (call) => {
      if (call.headers.authorization !== `Bearer ${token}`) return metaErrorAnswer(400, 190, 'Invalid OAuth access token - Cannot parse access token');
      const parts = call.path.split('/').filter(Boolean);
      if (call.method === 'GET' && call.path === '/me') return { status: 200, body: { id: '100001', name: 'cdp system user' } };
      if (parts[0]?.startsWith('act_') && parts[1] === 'customaudiences') {
        const account = parts[0].slice(4);
        if (call.method === 'GET') return { status: 200, body: { data: [...audiences.values()].filter((a) => a.accountId === account).map((a) => ({ id: a.id, name: a.name })) } };
        if (call.method === 'POST') {
          const body = z.object({ name: z.string().min(1), subtype: z.literal('CUSTOM'), customer_file_source: z.string() }).safeParse(call.body);
          if (!body.success) return refuse(call.path, 'name, subtype CUSTOM and customer_file_source are required');
          return { status: 200, body: { id: createAudience(body.data.name, account) } };
        }
      }
      const audience = audiences.get(parts[0] ?? '');
      if (!audience) return metaErrorAnswer(400, 100, `Unsupported request - Object with ID '${parts[0]}' does not exist`, 33);
      if (parts.length === 1 && call.method === 'GET') return { status: 200, body: { id: audience.id, name: audience.name } };
      if (parts[1] === 'users' && (call.method === 'POST' || call.method === 'DELETE')) {
        const forced = queuedCodes.shift();
        if (forced) return metaErrorAnswer(400, forced.code, 'injected', forced.subcode);
        return changeUsers(call, audience, call.method === 'POST');
      }
      return metaErrorAnswer(400, 100, `Unknown path components: ${call.path}`);
    },
    rateLimited,
    options,
  );

  return {
    url: server.url,
    token,
    server,
    audiences,
    createAudience,
    members: (id) => audiences.get(id)?.members ?? [],
    refusals,
    failNextWithCode: (code, subcode) => queuedCodes.push({ code, subcode }),
    close: () => server.close(),
  };
}

export { statusAnswer };
