/**
 * The destination connector contract (DESIGN §4). A connector speaks its vendor's protocol
 * and nothing else: the sync engine owns batching, rate limits, retries, state and logs;
 * the connector turns a batch into vendor requests and each vendor answer into per-row
 * outcomes. Connectors never touch the warehouse and never read `process.env`.
 */
import type { z } from 'zod';
import type { AdBatchReport } from './match-rate';

/** What a sync asks of a destination object. Modes are data: see `modeOperations`. */
export type SyncMode = 'upsert' | 'update' | 'insert' | 'mirror' | 'add_remove' | 'archive';

/** One operation on a batch of rows. */
export type BatchOp = 'upsert' | 'update' | 'insert' | 'delete' | 'add' | 'remove';

/** Which batch operations each mode sends for added, changed and removed rows (undefined: none). */
export const modeOperations: Record<SyncMode, { added?: BatchOp; changed?: BatchOp; removed?: BatchOp }> = {
  upsert: { added: 'upsert', changed: 'upsert' },
  update: { added: 'update', changed: 'update' },
  insert: { added: 'insert' },
  mirror: { added: 'upsert', changed: 'upsert', removed: 'delete' },
  add_remove: { added: 'add', removed: 'remove' },
  archive: { removed: 'delete' },
};

export type FieldValue = string | number | boolean | null | FieldValue[] | { [key: string]: FieldValue };

export interface OutboundRow {
  /** The sync key's value (e.g. the email), already validated non-null and unique in the run. */
  key: string;
  /** Mapped destination fields. */
  fields: Record<string, FieldValue>;
  /** The destination's id for this row when a previous run recorded one (e.g. HubSpot record id). */
  externalId?: string;
}

export interface Batch {
  /** Destination object, e.g. 'contacts', or 'list_memberships'. */
  object: string;
  op: BatchOp;
  rows: OutboundRow[];
  /** Object options from the sync (e.g. `{ listId: '123' }` for list membership). */
  options: Record<string, string>;
}

/** One outcome per input row, in the same order. */
export type RowOutcome =
  | {
      status: 'ok';
      externalId?: string;
      /** False when the record already existed and this write only updated it (mirror then never deletes it). */
      created?: boolean;
    }
  /** Permanent: shown to users with the destination's reason; retried when the row's data changes. */
  | { status: 'rejected'; reason: string }
  /** Transient: the engine retries the row (with backoff). */
  | { status: 'retry'; reason: string; retryAfterMs?: number };

/** At most `count` requests in any `perMs` window. */
export interface RequestWindow {
  count: number;
  perMs: number;
}

export interface RateLimits {
  /** Rows per request the vendor accepts. */
  batchRows: number;
  /** Request budget shared by every sync to the same account. */
  requests?: RequestWindow | readonly RequestWindow[];
  /** Requests in flight at once. */
  concurrency: number;
}

export interface DestinationObject {
  /** The field that identifies a record (the sync key maps to it). */
  key: string;
  modes: readonly SyncMode[];
  /** Options a sync must give for this object, e.g. listId. */
  requiredOptions?: readonly string[];
  description?: string;
}

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path relative to the configured base URL, or an absolute URL. */
  path: string;
  headers?: Record<string, string>;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  /** Sent as is instead of JSON (e.g. CSV). */
  rawBody?: string;
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON when the response was JSON, else the text, else undefined. */
  body: unknown;
}

export interface ConnectorContext<Config> {
  config: Config;
  /** HTTP with the engine's timeout and cancellation; never throws for HTTP status codes. */
  http(request: HttpRequest): Promise<HttpResponse>;
  signal: AbortSignal;
  /** The sync run this batch belongs to (file-like destinations write one file per run). */
  run?: { id: string; sync: string; startedAt: Date };
  /** Folder that relative paths in the config resolve against (the project folder). */
  baseDir?: string;
  /**
   * Ad connectors hand the engine each batch's match-rate report here (issue 9); the engine
   * sums them over the run and keeps the sum with the run record. Counts only. Optional:
   * absent outside a sync run (tests, `check`).
   */
  report?(report: AdBatchReport): void;
}

export interface DestinationDefinition<ConfigSchema extends z.ZodType = z.ZodType> {
  type: string;
  title: string;
  category: 'crm' | 'email' | 'ads' | 'generic';
  config: ConfigSchema;
  objects: Record<string, DestinationObject>;
  limits: RateLimits;
  /** Do the credentials work? Throws a ConnectorError with a clear message if not. */
  check(ctx: ConnectorContext<z.output<ConfigSchema>>): Promise<void>;
  /**
   * Sends one batch. Returns one outcome per row, in order. Throws a ConnectorError only
   * when the whole batch failed (auth, rate limited, server down, malformed request).
   */
  write(ctx: ConnectorContext<z.output<ConfigSchema>>, batch: Batch): Promise<RowOutcome[]>;
}
