/**
 * The one error class of the project. Every error a user can see carries a code, a human
 * message, a hint on how to fix it and, for errors at an I/O boundary, the original cause.
 *
 * `kind` decides the exit code and whether a stack is ever printed:
 *  - config   — the user's files or flags are wrong (exit 2), never a stack;
 *  - runtime  — a system we talk to failed (warehouse, control DB, vendor API) (exit 1);
 *  - internal — a bug of ours; the cause is kept for debugging.
 */
export type ErrorKind = 'config' | 'runtime' | 'internal';

export interface CdpErrorOptions {
  code: string;
  kind?: ErrorKind;
  /** Where it happened: `models/orders.sql:12`, `cdp.yml`, `warehouse duckdb`. */
  where?: string;
  hint?: string;
  cause?: unknown;
}

export class CdpError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly where?: string;
  readonly hint?: string;

  constructor(message: string, options: CdpErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CdpError';
    this.code = options.code;
    this.kind = options.kind ?? 'runtime';
    this.where = options.where;
    this.hint = options.hint;
  }

  /** One line: `where: what is wrong — how to fix`. */
  toLine(): string {
    const head = this.where ? `${this.where}: ${this.message}` : this.message;
    return this.hint ? `${head} — ${this.hint}` : head;
  }
}

export function configError(where: string, message: string, hint?: string, cause?: unknown): CdpError {
  return new CdpError(message, { code: 'CONFIG', kind: 'config', where, hint, cause });
}

/** Wraps a driver/SDK error at the warehouse boundary, naming the system. */
export function warehouseError(system: string, message: string, hint?: string, cause?: unknown): CdpError {
  return new CdpError(message, { code: 'WAREHOUSE', kind: 'runtime', where: `warehouse ${system}`, hint, cause });
}

/** The message of anything thrown, for wrapping. Driver errors are often not Error instances. */
export function messageOf(error: unknown): string {
  // Native bindings' errors are not always `instanceof Error` (another realm), so duck-type.
  const text = typeof error === 'object' && error !== null && 'message' in error ? String((error as { message: unknown }).message) : String(error);
  return text.split('\n')[0] ?? text;
}

export function isCdpError(error: unknown): error is CdpError {
  return error instanceof CdpError;
}
