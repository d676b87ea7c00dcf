/**
 * A stateful local Google Ads API for Customer Match (destinations.md §9), on 127.0.0.1:
 * `offlineUserDataJobs:create` (CUSTOMER_MATCH_USER_LIST, consent recorded),
 * `…:addOperations` (zod-validated create/remove operations; ≤20 identifiers per user and
 * ≤100,000 per request, else TOO_MANY_USER_IDENTIFIERS; with enablePartialFailure a bad
 * identifier fails only its operation, reported in `partialFailureError` with the operation
 * index in the field path), `…:run` (the job runs asynchronously for `runMs`; a second job
 * run or created on a list with a running job gets CONCURRENT_MODIFICATION), `googleAds:search`
 * for check and for a job's status (`… FROM offline_user_data_job WHERE
 * offline_user_data_job.resource_name = '…'`: PENDING → RUNNING → SUCCESS, or FAILED with a
 * failure_reason for jobs `failJob` picks — a failed job changes nothing), OAuth bearer +
 * developer-token headers, 429 RESOURCE_EXHAUSTED for throttling.
 * Operations change a list only when their job finishes running; faults change nothing.
 * Users are matched as Google matches them: by any shared identifier.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { startFakeServer, type FakeAnswer, type FakeServer, type FakeServerOptions } from './ad-fake-server';

const hex = z.string();
const identifierSchema = z.union([
  z.strictObject({ hashedEmail: hex }),
  z.strictObject({ hashedPhoneNumber: hex }),
  z.strictObject({ addressInfo: z.strictObject({ hashedFirstName: hex, hashedLastName: hex, countryCode: z.string(), postalCode: z.string() }) }),
  z.strictObject({ mobileId: z.string() }),
  z.strictObject({ thirdPartyUserId: z.string() }),
]);
const operationSchema = z.union([z.strictObject({ create: z.strictObject({ userIdentifiers: z.array(identifierSchema).min(1) }) }), z.strictObject({ remove: z.strictObject({ userIdentifiers: z.array(identifierSchema).min(1) }) })]);
const addOperationsSchema = z.strictObject({ enablePartialFailure: z.boolean().optional(), operations: z.array(operationSchema).min(1) });
const createJobSchema = z.strictObject({
  job: z.strictObject({
    type: z.literal('CUSTOMER_MATCH_USER_LIST'),
    customerMatchUserListMetadata: z.strictObject({ userList: z.string(), consent: z.strictObject({ adUserData: z.string().optional(), adPersonalization: z.string().optional() }).optional() }),
  }),
});

type Identifier = z.infer<typeof identifierSchema>;
interface Job {
  id: string;
  listId: string;
  state: 'PENDING' | 'RUNNING' | 'SUCCESS' | 'FAILED';
  failureReason?: string;
  customerId: string;
  consent?: Record<string, string | undefined>;
  operations: Array<{ add: boolean; ids: string[] }>;
}

export interface GoogleAdsFake {
  url: string;
  accessToken: string;
  developerToken: string;
  customerId: string;
  server: FakeServer;
  jobs: Map<string, Job>;
  /** Each user of the list as its identifier strings ('email:<hash>', 'phone:<hash>', 'address:fn|ln|CC|zip', …). */
  members(listId: string): string[][];
  refusals: Array<{ path: string; reason: string }>;
  /** Resolves when no job is running. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

const idString = (i: Identifier): string => {
  if ('hashedEmail' in i) return `email:${i.hashedEmail}`;
  if ('hashedPhoneNumber' in i) return `phone:${i.hashedPhoneNumber}`;
  if ('addressInfo' in i) return `address:${i.addressInfo.hashedFirstName}|${i.addressInfo.hashedLastName}|${i.addressInfo.countryCode}|${i.addressInfo.postalCode}`;
  if ('mobileId' in i) return `mobile:${i.mobileId}`;
  return `third:${i.thirdPartyUserId}`;
};

const isHex = (v: string) => /^[0-9a-f]{64}$/.test(v);
function identifierError(i: Identifier): string | undefined {
  if ('hashedEmail' in i && !isHex(i.hashedEmail)) return 'hashedEmail must be a SHA-256 hex digest';
  if ('hashedPhoneNumber' in i && !isHex(i.hashedPhoneNumber)) return 'hashedPhoneNumber must be a SHA-256 hex digest';
  if ('addressInfo' in i) {
    const a = i.addressInfo;
    if (!isHex(a.hashedFirstName) || !isHex(a.hashedLastName)) return 'hashed names must be SHA-256 hex digests';
    if (!/^[A-Z]{2}$/.test(a.countryCode)) return 'countryCode must be a two-letter code in clear';
    if (isHex(a.postalCode)) return 'postalCode must not be hashed';
  }
  return undefined;
}

const googleError = (status: number, statusText: string, message: string, details: unknown[] = []): FakeAnswer => ({ status, body: { error: { code: status, message, status: statusText, details } } });

export interface GoogleAdsFakeOptions extends FakeServerOptions {
  /** How long a run job stays RUNNING. */
  runMs?: number;
  invalidValues?: Set<string>;
  /** A failure reason for jobs that should end FAILED (their operations are not applied). */
  failJob?: (job: { id: string; listId: string; operations: number }) => string | undefined;
}

export async function startGoogleAdsFake(options: GoogleAdsFakeOptions = {}): Promise<GoogleAdsFake> {
  const accessToken = `ya29.${randomUUID()}`;
  const developerToken = `dev-${randomUUID().slice(0, 8)}`;
  const customerId = '1234567890';
  const jobs = new Map<string, Job>();
  const lists = new Map<string, string[][]>();
  const refusals: GoogleAdsFake['refusals'] = [];
  const running = new Set<Promise<void>>();
  let nextJob = 1;

  const refuse = (path: string, reason: string) => {
    refusals.push({ path, reason });
    return googleError(400, 'INVALID_ARGUMENT', `Request contains an invalid argument. ${reason}`);
  };
  const listRunning = (listId: string) => [...jobs.values()].some((j) => j.listId === listId && j.state === 'RUNNING');
  const concurrent = () =>
    googleError(409, 'ABORTED', 'Multiple requests were attempting to modify the same resource at once.', [
      { '@type': 'type.googleapis.com/google.ads.googleads.v23.errors.GoogleAdsFailure', errors: [{ errorCode: { databaseError: 'CONCURRENT_MODIFICATION' }, message: 'Multiple requests were attempting to modify the same resource at once. Retry the request.' }] },
    ]);

  function apply(job: Job): void {
    const failure = options.failJob?.({ id: job.id, listId: job.listId, operations: job.operations.length });
    if (failure) {
      job.state = 'FAILED';
      job.failureReason = failure;
      return;
    }
    // Index users by identifier, so a 10,000-operation job stays linear.
    const users = new Set(lists.get(job.listId) ?? []);
    const index = new Map<string, string[]>();
    for (const u of users) for (const id of u) index.set(id, u);
    for (const op of job.operations) {
      const matches = [...new Set(op.ids.map((id) => index.get(id)).filter((u): u is string[] => u !== undefined))];
      if (op.add) {
        const user = matches[0] ?? [];
        if (!matches.length) users.add(user);
        for (const id of op.ids) if (!user.includes(id)) (user.push(id), index.set(id, user));
      } else
        for (const u of matches) {
          users.delete(u);
          for (const id of u) index.delete(id);
        }
    }
    lists.set(job.listId, [...users]);
    job.state = 'SUCCESS';
  }

  const server = await startFakeServer(
    (call) => {
      if (call.headers.authorization !== `Bearer ${accessToken}`) return googleError(401, 'UNAUTHENTICATED', 'Request is missing required authentication credential.');
      if (call.headers['developer-token'] !== developerToken) return googleError(403, 'PERMISSION_DENIED', 'The developer token is not valid.');
      let m: RegExpExecArray | null;
      if ((m = /^\/customers\/(\d+)\/googleAds:search$/.exec(call.path))) {
        const query = z.object({ query: z.string() }).safeParse(call.body);
        if (!query.success) return refuse(call.path, 'a search needs a query');
        if (/FROM\s+offline_user_data_job\b/.test(query.data.query)) {
          const name = /offline_user_data_job\.resource_name\s*=\s*'customers\/(\d+)\/offlineUserDataJobs\/(\d+)'/.exec(query.data.query);
          if (!name) return refuse(call.path, 'filter offline_user_data_job by resource_name');
          const job = jobs.get(name[2]!);
          if (!job || job.customerId !== name[1]) return { status: 200, body: { results: [] } };
          return {
            status: 200,
            body: { results: [{ offlineUserDataJob: { resourceName: `customers/${job.customerId}/offlineUserDataJobs/${job.id}`, status: job.state, ...(job.failureReason ? { failureReason: job.failureReason } : {}), operationMetadata: { matchRateRange: 'MATCH_RANGE_51_TO_70' } } }] },
          };
        }
        return { status: 200, body: { results: [{ customer: { resourceName: `customers/${m[1]}`, id: m[1] } }] } };
      }
      if ((m = /^\/customers\/(\d+)\/offlineUserDataJobs:create$/.exec(call.path)) && call.method === 'POST') {
        const parsed = createJobSchema.safeParse(call.body);
        if (!parsed.success) return refuse(call.path, parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; '));
        const listId = /userLists\/(\d+)$/.exec(parsed.data.job.customerMatchUserListMetadata.userList)?.[1];
        if (!listId) return refuse(call.path, 'userList must be customers/{cid}/userLists/{id}');
        if (listRunning(listId)) return concurrent();
        const id = String(nextJob++);
        jobs.set(id, { id, customerId: m[1]!, listId, state: 'PENDING', consent: parsed.data.job.customerMatchUserListMetadata.consent, operations: [] });
        return { status: 200, body: { resourceName: `customers/${m[1]}/offlineUserDataJobs/${id}` } };
      }
      if ((m = /^\/customers\/\d+\/offlineUserDataJobs\/(\d+):(addOperations|run)$/.exec(call.path)) && call.method === 'POST') {
        const job = jobs.get(m[1]!);
        if (!job) return googleError(404, 'NOT_FOUND', 'Resource not found.');
        if (job.state !== 'PENDING') return googleError(400, 'FAILED_PRECONDITION', 'The job is not pending.');
        if (m[2] === 'run') {
          if (listRunning(job.listId)) return concurrent();
          job.state = 'RUNNING';
          const done = new Promise<void>((r) => setTimeout(r, options.runMs ?? 5)).then(() => apply(job));
          running.add(done);
          void done.finally(() => running.delete(done));
          return { status: 200, body: { name: `customers/x/operations/${job.id}` } };
        }
        const parsed = addOperationsSchema.safeParse(call.body);
        if (!parsed.success) return refuse(call.path, parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')} ${i.message}`).join('; '));
        const total = parsed.data.operations.reduce((n, op) => n + ('create' in op ? op.create : op.remove).userIdentifiers.length, 0);
        if (total > 100_000 || parsed.data.operations.some((op) => ('create' in op ? op.create : op.remove).userIdentifiers.length > 20)) {
          return googleError(400, 'INVALID_ARGUMENT', 'Too many user identifiers.', [{ '@type': 'type.googleapis.com/google.ads.googleads.v23.errors.GoogleAdsFailure', errors: [{ errorCode: { offlineUserDataJobError: 'TOO_MANY_USER_IDENTIFIERS' }, message: 'Too many user identifiers.' }] }]);
        }
        const errors: unknown[] = [];
        const accepted: Job['operations'] = [];
        parsed.data.operations.forEach((op, index) => {
          const ids = ('create' in op ? op.create : op.remove).userIdentifiers;
          const problem = ids.map(identifierError).find(Boolean) ?? (ids.some((i) => options.invalidValues?.has(idString(i).split(':')[1]!)) ? 'The identifier is not valid.' : undefined);
          if (problem) errors.push({ errorCode: { offlineUserDataJobError: 'INVALID_SHA256_FORMAT' }, message: problem, location: { fieldPathElements: [{ fieldName: 'operations', index }, { fieldName: 'create' }] } });
          else accepted.push({ add: 'create' in op, ids: ids.map(idString) });
        });
        if (errors.length && !parsed.data.enablePartialFailure) return googleError(400, 'INVALID_ARGUMENT', 'Request contains an invalid argument.', [{ '@type': 'type.googleapis.com/google.ads.googleads.v23.errors.GoogleAdsFailure', errors }]);
        job.operations.push(...accepted);
        return {
          status: 200,
          body: errors.length ? { partialFailureError: { code: 3, message: `${errors.length} operations failed`, details: [{ '@type': 'type.googleapis.com/google.ads.googleads.v23.errors.GoogleAdsFailure', errors }] } } : {},
        };
      }
      return googleError(404, 'NOT_FOUND', `no route ${call.method} ${call.path}`);
    },
    () => ({
      status: 429,
      body: {
        error: {
          code: 429,
          message: 'Resource has been exhausted (e.g. check quota).',
          status: 'RESOURCE_EXHAUSTED',
          details: [{ '@type': 'type.googleapis.com/google.ads.googleads.v23.errors.GoogleAdsFailure', errors: [{ errorCode: { quotaError: 'RESOURCE_EXHAUSTED' }, message: 'Too many requests.', details: { quotaErrorDetails: { rateScope: 'DEVELOPER', retryDelay: '0.01s' } } }] }],
        },
      },
    }),
    options,
  );

  return {
    url: server.url,
    accessToken,
    developerToken,
    customerId,
    server,
    jobs,
    members: (listId) => lists.get(listId) ?? [],
    refusals,
    idle: async () => {
      while (running.size) await Promise.all([...running]);
    },
    close: () => server.close(),
  };
}
