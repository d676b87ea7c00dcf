/**
 * The BigQuery adapter: every statement runs as a query job in the configured project and
 * location, with the configured dataset as default dataset. Invariants:
 *  - every job has a server-side timeout (`jobTimeoutMs`) AND a client-side poll deadline;
 *    a job still running at the deadline is cancelled before the error is raised, so a
 *    runaway query never keeps billing after we gave up on it (DESIGN §8.10);
 *  - results are read page by page (`autoPaginate: false`, `maxResults`), so `stream`
 *    holds at most one page plus one batch in memory;
 *  - `load` writes newline-delimited JSON to a temp file batch by batch (bounded memory)
 *    and runs one load job; the temp file is always removed;
 *  - values leave as the value contract of `types.ts`: INT64 via a cast function (number
 *    when exact, text otherwise — never a lossy number), TIMESTAMP/DATETIME → Date (UTC),
 *    DATE → 'YYYY-MM-DD', NUMERIC → number, nested values → JSON text;
 *  - every SDK or job error leaves as `warehouseError('bigquery', …)` with a hint.
 * The SDK client is injected (`createBigqueryWarehouse`), so tests stub it at its boundary.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  BigQuery,
  BigQueryDate,
  BigQueryDatetime,
  BigQueryInt,
  BigQueryTime,
  BigQueryTimestamp,
  Geography,
  type BigQueryOptions,
  type IntegerTypeCastOptions,
  type JobLoadMetadata,
  type Query,
  type QueryResultsOptions,
} from '@google-cloud/bigquery';
import { z } from 'zod';
import { CdpError, configError, isCdpError, messageOf, warehouseError } from '../../errors';
import type { BigqueryConfig } from '../config';
import {
  booleanInput,
  dateInput,
  floatInput,
  integerInput,
  integerTextToScalar,
  integerToScalar,
  stringInput,
  timestampInput,
} from '../result-values';
import type { Column, ColumnType, Row, Scalar, TableRef, Warehouse } from '../types';
import { BigqueryDialect } from './bigquery-dialect';

// ---------------------------------------------------------------------------------------
// The SDK surface this adapter uses, narrowed. `BigQuery` from the SDK satisfies it (checked
// in connectBigquery); tests pass a fake implementing exactly these methods.

export interface BigqueryJobLike {
  readonly id?: string;
  /** Resolves `[metadata, apiResponse]`; metadata is the REST `Job` resource. */
  getMetadata(): Promise<readonly unknown[]>;
  /** With `autoPaginate: false` resolves `[rows, nextQuery | null, apiResponse]`. */
  getQueryResults(options: QueryResultsOptions): Promise<readonly [unknown[], ({ pageToken?: string } | null)?, unknown?]>;
  cancel(): Promise<unknown>;
}

export interface BigqueryTableLike {
  createLoadJob(source: string, metadata: JobLoadMetadata): Promise<readonly [BigqueryJobLike, ...unknown[]]>;
}

export interface BigqueryClientLike {
  createQueryJob(options: Query): Promise<readonly [BigqueryJobLike, ...unknown[]]>;
  dataset(id: string, options?: { location?: string }): { table(id: string): BigqueryTableLike };
}

/** Time, injectable so tests drive the poll deadline without waiting. */
export interface BigqueryClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export interface BigqueryAdapterOptions {
  clock?: BigqueryClock;
  /** Where `load` writes its NDJSON file; the OS temp folder by default. */
  tempDir?: string;
}

const realClock: BigqueryClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Job polling starts fast (small queries finish in a second) and backs off to this. */
const FIRST_POLL_MS = 50;
const MAX_POLL_MS = 2000;
/** Page size for `query` (small results); `stream` pages by its batch size. */
const QUERY_PAGE_ROWS = 10_000;
const JOB_LABELS = { tool: 'warehouse-cdp' };

/** REST `Job` resource, only the fields read here. */
const errorProtoSchema = z.object({ reason: z.string().optional(), message: z.string().optional(), location: z.string().optional() });
const jobMetadataSchema = z.object({
  id: z.string().optional(),
  status: z
    .object({
      state: z.string().optional(),
      errorResult: errorProtoSchema.optional(),
      errors: z.array(errorProtoSchema).optional(),
    })
    .optional(),
  statistics: z.object({ load: z.object({ outputRows: z.string().optional() }).optional() }).optional(),
});
type JobMetadata = z.infer<typeof jobMetadataSchema>;

// ---------------------------------------------------------------------------------------

export async function connectBigquery(config: BigqueryConfig, projectDir: string): Promise<Warehouse> {
  const options: BigQueryOptions = {
    projectId: config.project,
    location: config.location,
    userAgent: 'warehouse-cdp',
  };
  if (config.api_endpoint) options.apiEndpoint = config.api_endpoint;
  if (config.key_file) options.keyFilename = path.resolve(projectDir, config.key_file);
  if (config.credentials_json) options.credentials = parseCredentials(config.credentials_json);
  let client: BigqueryClientLike;
  try {
    client = new BigQuery(options);
  } catch (error) {
    throw wrapBigqueryError(error, 'creating the BigQuery client');
  }
  return createBigqueryWarehouse(client, config);
}

const credentialsSchema = z.looseObject({ client_email: z.string().min(1), private_key: z.string().min(1) });

/** Inline service-account JSON → the SDK's `credentials`; the secret never enters a message. */
function parseCredentials(json: string): { client_email: string; private_key: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw configError('cdp.yml warehouse.credentials_json', 'is not valid JSON', 'paste the whole service-account key file (or use key_file)');
  }
  const result = credentialsSchema.safeParse(parsed);
  if (!result.success) {
    throw configError(
      'cdp.yml warehouse.credentials_json',
      'is not a service-account key (client_email and private_key are required)',
      'download a JSON key for the service account from the Google Cloud console',
    );
  }
  return { client_email: result.data.client_email, private_key: result.data.private_key };
}

export function createBigqueryWarehouse(client: BigqueryClientLike, config: BigqueryConfig, adapterOptions: BigqueryAdapterOptions = {}): Warehouse {
  const clock = adapterOptions.clock ?? realClock;
  const dialect = new BigqueryDialect({ defaultDataset: config.dataset, location: config.location });
  // The SDK calls this for every INT64 value instead of Number(), which would round
  // values beyond 2^53 silently.
  const integerCast: IntegerTypeCastOptions = { integerTypeCastFunction: (text: string) => integerTextToScalar(text) };

  async function startQuery(sql: string): Promise<BigqueryJobLike> {
    const request: Query = {
      query: sql,
      useLegacySql: false,
      location: config.location,
      jobTimeoutMs: config.job_timeout_ms,
      labels: JOB_LABELS,
      defaultDataset: { projectId: config.project, datasetId: config.dataset },
      jobPrefix: 'cdp_',
    };
    if (config.maximum_bytes_billed) request.maximumBytesBilled = config.maximum_bytes_billed;
    try {
      const [job] = await client.createQueryJob(request);
      return job;
    } catch (error) {
      throw wrapBigqueryError(error, 'starting a query job', sql);
    }
  }

  /** Polls until the job is DONE; cancels it and fails when the deadline passes first. */
  async function waitForJob(job: BigqueryJobLike, what: string, sql?: string): Promise<JobMetadata> {
    const deadline = clock.now() + config.job_timeout_ms;
    let delay = FIRST_POLL_MS;
    for (;;) {
      let metadata: JobMetadata;
      try {
        const [raw] = await job.getMetadata();
        metadata = jobMetadataSchema.parse(raw);
      } catch (error) {
        throw wrapBigqueryError(error, `polling ${what} ${jobName(job)}`, sql);
      }
      const status = metadata.status;
      if (status?.state === 'DONE') {
        if (status.errorResult) throw jobFailed(job, what, status.errorResult, sql);
        return metadata;
      }
      const left = deadline - clock.now();
      if (left <= 0) throw await cancelAfterTimeout(job, what);
      await clock.sleep(Math.min(delay, left));
      delay = Math.min(delay * 2, MAX_POLL_MS);
    }
  }

  async function cancelAfterTimeout(job: BigqueryJobLike, what: string): Promise<CdpError> {
    let cancelNote = 'and was cancelled';
    try {
      await job.cancel();
    } catch (error) {
      cancelNote = `and cancelling it failed (${messageOf(error)}): cancel it in the console`;
    }
    return warehouseError(
      'bigquery',
      `${what} ${jobName(job)} did not finish within ${config.job_timeout_ms} ms ${cancelNote}`,
      'raise job_timeout_ms in cdp.yml or make the query scan less',
    );
  }

  async function runQuery(sql: string): Promise<BigqueryJobLike> {
    const job = await startQuery(sql);
    await waitForJob(job, 'query job', sql);
    return job;
  }

  /** Pages of normalised rows; each page is fetched only when the previous one was consumed. */
  async function* pages(job: BigqueryJobLike, pageRows: number, sql: string): AsyncGenerator<Row[]> {
    let pageToken: string | undefined;
    do {
      const options: QueryResultsOptions = { autoPaginate: false, maxResults: pageRows, wrapIntegers: integerCast, parseJSON: false };
      if (pageToken) options.pageToken = pageToken;
      let rows: unknown[];
      let next: { pageToken?: string } | null | undefined;
      try {
        [rows, next] = await job.getQueryResults(options);
      } catch (error) {
        throw wrapBigqueryError(error, `reading the results of ${jobName(job)}`, sql);
      }
      pageToken = next?.pageToken || undefined;
      yield rows.map(normaliseRow);
    } while (pageToken);
  }

  async function writeNdjson(file: string, columns: Column[], batches: AsyncIterable<Row[]>): Promise<number> {
    const out = createWriteStream(file, { encoding: 'utf8' });
    const failed = new Promise<never>((_, reject) => out.once('error', reject));
    failed.catch(() => undefined); // observed below; avoids an unhandled rejection meanwhile
    let count = 0;
    try {
      for await (const batch of batches) {
        if (batch.length === 0) continue;
        const text = batch.map((row) => JSON.stringify(ndjsonRow(columns, row))).join('\n') + '\n';
        count += batch.length;
        // Backpressure: wait for the file to drain before taking the next batch.
        if (!out.write(text)) await Promise.race([once(out, 'drain'), failed]);
      }
    } finally {
      out.end();
    }
    await Promise.race([once(out, 'finish'), failed]);
    return count;
  }

  const warehouse: Warehouse = {
    dialect,
    defaultSchema: config.dataset,

    async execute(sql) {
      await runQuery(sql);
    },

    async executeAll(statements) {
      if (statements.length === 0) return;
      await runQuery(bigqueryScript(statements));
    },

    async query<T extends Row = Row>(sql: string): Promise<T[]> {
      const job = await runQuery(sql);
      const all: Row[] = [];
      for await (const page of pages(job, QUERY_PAGE_ROWS, sql)) all.push(...page);
      return all as T[];
    },

    async *stream(sql, batchRows) {
      if (!Number.isInteger(batchRows) || batchRows < 1) throw new Error(`batchRows must be a positive integer, got ${batchRows}`);
      const job = await runQuery(sql);
      let buffer: Row[] = [];
      for await (const page of pages(job, batchRows, sql)) {
        buffer = buffer.length === 0 ? page : buffer.concat(page);
        while (buffer.length >= batchRows) {
          yield buffer.slice(0, batchRows);
          buffer = buffer.slice(batchRows);
        }
      }
      if (buffer.length > 0) yield buffer;
    },

    async load(table, columns, rows) {
      const dir = await mkdtemp(path.join(adapterOptions.tempDir ?? tmpdir(), 'cdp-bq-load-'));
      try {
        const file = path.join(dir, 'rows.ndjson');
        let written: number;
        try {
          written = await writeNdjson(file, columns, rows);
        } catch (error) {
          if (isCdpError(error)) throw error;
          throw warehouseError(
            'bigquery',
            `preparing rows for ${qualifiedName(table, config)} failed: ${messageOf(error)}`,
            'every value must fit its column type (see the value contract in src/warehouse/types.ts)',
            error,
          );
        }
        if (written === 0) return 0;
        const metadata: JobLoadMetadata = {
          sourceFormat: 'NEWLINE_DELIMITED_JSON',
          writeDisposition: 'WRITE_APPEND',
          // The table exists with these columns; never let a load change its schema.
          createDisposition: 'CREATE_NEVER',
          location: config.location,
          jobPrefix: 'cdp_load_',
        };
        let job: BigqueryJobLike;
        try {
          [job] = await client.dataset(table.schema ?? config.dataset, { location: config.location }).table(table.name).createLoadJob(file, metadata);
        } catch (error) {
          throw wrapBigqueryError(error, `loading into ${qualifiedName(table, config)}`);
        }
        const done = await waitForJob(job, `load job into ${qualifiedName(table, config)}`);
        const output = done.statistics?.load?.outputRows;
        return output === undefined ? written : Number(output);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },

    async check() {
      await warehouse.query('SELECT 1 AS ok');
    },

    async close() {
      // Jobs are stateless REST calls: there is no connection to release.
    },
  };
  return warehouse;
}

// ---------------------------------------------------------------------------------------
// Scripts

/** DDL on permanent tables is not allowed inside a BigQuery multi-statement transaction. */
const DDL = /^\s*(CREATE|DROP|ALTER)\b/i;

/**
 * One job for all statements. DML-only lists run in a transaction that rolls back on any
 * error and re-raises it; lists with DDL run as a plain script (in order, stopping at the
 * first error), since BigQuery rejects DDL inside transactions.
 */
export function bigqueryScript(statements: string[]): string {
  const body = statements.map((s) => `${s.trim().replace(/;+\s*$/, '')};`);
  if (body.some((s) => DDL.test(s))) return body.join('\n');
  return [
    'BEGIN',
    '  BEGIN TRANSACTION;',
    ...body.map((s) => `  ${s}`),
    '  COMMIT TRANSACTION;',
    'EXCEPTION WHEN ERROR THEN',
    '  ROLLBACK TRANSACTION;',
    '  RAISE USING MESSAGE = @@error.message;',
    'END;',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------
// Values

function normaliseRow(raw: unknown): Row {
  const row: Row = {};
  if (typeof raw !== 'object' || raw === null) return row;
  for (const [name, value] of Object.entries(raw)) row[name.toLowerCase()] = bigqueryValueToScalar(value);
  return row;
}

/** One SDK value → the value contract. Exported for tests. */
export function bigqueryValueToScalar(value: unknown): Scalar {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return value;
    case 'bigint':
      return integerToScalar(value);
  }
  if (value instanceof BigQueryTimestamp) return new Date(value.value);
  // DATETIME has no zone; by contract it is read as UTC.
  if (value instanceof BigQueryDatetime) return new Date(`${value.value.replace(' ', 'T')}Z`);
  if (value instanceof BigQueryDate) return value.value;
  if (value instanceof BigQueryTime) return value.value;
  if (value instanceof Geography) return value.value;
  if (value instanceof BigQueryInt) return integerTextToScalar(value.value);
  if (value instanceof Date) return value;
  if (isBig(value)) return Number(value.toString());
  if (Buffer.isBuffer(value)) return value.toString('hex');
  // REPEATED / RECORD / RANGE: JSON text, with SDK wrappers unwrapped to their text.
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof BigQueryTimestamp || v instanceof BigQueryDatetime || v instanceof BigQueryDate || v instanceof BigQueryTime || v instanceof Geography) return v.value;
    if (v instanceof BigQueryInt) return v.value;
    if (isBig(v)) return v.toString();
    if (typeof v === 'bigint') return v.toString();
    return v;
  });
}

/** big.js instances (NUMERIC, BIGNUMERIC), recognised by shape: big.js is the SDK's, not ours. */
interface BigLike {
  c: number[];
  e: number;
  s: number;
  toString(): string;
}

function isBig(value: unknown): value is BigLike {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { c?: unknown; e?: unknown; s?: unknown };
  return Array.isArray(v.c) && typeof v.e === 'number' && typeof v.s === 'number';
}

type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A row as the JSON a BigQuery load job reads for columns of these types. Exported for tests. */
export function ndjsonRow(columns: Column[], row: Row): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const column of columns) {
    const value = row[column.name];
    out[column.name] = value === null || value === undefined ? null : ndjsonValue(column.type, value, column.name);
  }
  return out;
}

function ndjsonValue(type: ColumnType, value: Scalar, column: string): JsonValue {
  switch (type) {
    case 'string':
      return stringInput(value);
    case 'integer': {
      // Beyond 2^53 a JSON number would be rounded by readers; BigQuery accepts quoted INT64.
      return integerToScalar(integerInput(value));
    }
    case 'float': {
      const n = floatInput(value);
      return Number.isFinite(n) ? n : String(n); // JSON has no NaN/Infinity; BigQuery reads the text
    }
    case 'boolean':
      return booleanInput(value);
    case 'timestamp':
      return timestampInput(value).toISOString().replace('T', ' ').replace('Z', '+00:00');
    case 'date':
      return dateInput(value);
    case 'json': {
      // A JSON column takes the JSON value itself; text holding JSON is parsed first.
      if (typeof value !== 'string') return value instanceof Date ? value.toISOString() : value;
      try {
        return JSON.parse(value) as JsonValue;
      } catch {
        throw warehouseError('bigquery', `column ${column}: '${value.slice(0, 40)}' is not valid JSON`, 'json columns take JSON text');
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// Errors

function jobName(job: BigqueryJobLike): string {
  return job.id ? `'${job.id}'` : '(no id)';
}

function qualifiedName(table: TableRef, config: BigqueryConfig): string {
  return `${config.project}.${table.schema ?? config.dataset}.${table.name}`;
}

function jobFailed(job: BigqueryJobLike, what: string, error: z.infer<typeof errorProtoSchema>, sql?: string): CdpError {
  const detail = oneLine(error.message ?? error.reason ?? 'unknown error');
  return warehouseError('bigquery', `${what} ${jobName(job)} failed: ${detail}`, hintFor(undefined, error.reason, detail, sql), error);
}

/** SDK / HTTP / auth errors → WarehouseError with a hint; a CdpError passes through. */
export function wrapBigqueryError(error: unknown, action: string, sql?: string): CdpError {
  if (isCdpError(error)) return error;
  const status = httpStatusOf(error);
  const reason = reasonOf(error);
  // Whole message, lines joined: the first line alone is sometimes just a heading.
  const message = error instanceof Error ? oneLine(error.message) : messageOf(error);
  return warehouseError('bigquery', `${action} failed: ${message}`, hintFor(status, reason, message, sql), error);
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

function reasonOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const errors = (error as { errors?: unknown }).errors;
  if (!Array.isArray(errors)) return undefined;
  const first: unknown = errors[0];
  if (typeof first !== 'object' || first === null) return undefined;
  const reason = (first as { reason?: unknown }).reason;
  return typeof reason === 'string' ? reason : undefined;
}

/** Always a hint: a user error names what to check, however unfamiliar the failure. */
function hintFor(status: number | undefined, reason: string | undefined, message: string, sql?: string): string {
  if (
    status === 401 ||
    status === 403 ||
    reason === 'accessDenied' ||
    reason === 'authError' ||
    /default credentials|invalid_grant|unauthenticated|permission denied|access denied/i.test(message)
  ) {
    return 'check key_file / credentials_json (or Application Default Credentials) and that the service account has the BigQuery Job User and BigQuery Data Editor roles';
  }
  if (status === 404 || reason === 'notFound' || /not found/i.test(message)) {
    return 'check the project, dataset and table names, and that location in cdp.yml matches the dataset’s location';
  }
  if (reason === 'bytesBilledLimitExceeded' || /bytes billed/i.test(message)) {
    return 'the query scans more than maximum_bytes_billed allows: raise it in cdp.yml or make the query scan less';
  }
  if (/ENOTFOUND|ECONNREFUSED|ETIMEDOUT|ECONNRESET|getaddrinfo/.test(message)) {
    return 'check network access to bigquery.googleapis.com (or api_endpoint in cdp.yml)';
  }
  if (reason === 'quotaExceeded' || reason === 'rateLimitExceeded') return 'a BigQuery quota or rate limit was reached: retry later or raise the quota';
  if (reason === 'invalidQuery' || reason === 'invalid') {
    return sql === undefined ? 'the request was rejected as invalid' : `the SQL is not valid GoogleSQL: ${sql.trim().split('\n')[0].slice(0, 80)}…`;
  }
  return 'see the job in the BigQuery console (Job history) for details';
}
