/**
 * Driver values → the VALUE CONTRACT of `types.ts`, shared by the DuckDB and PostgreSQL
 * adapters (and usable by any other). Invariants:
 *  - every value leaving an adapter is a `Scalar` (string | number | boolean | Date | null);
 *  - integers beyond ±2^53 become decimal strings, never lossy numbers;
 *  - timestamps are instants read as UTC; dates stay 'YYYY-MM-DD' text;
 *  - anything outside the contract (lists, structs, intervals, blobs…) becomes text, so a
 *    row is always serialisable and comparable across warehouses;
 *  - column names are folded to lower case once per result, not once per row.
 */
import type { Row, Scalar } from './types';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);

/** A 64/128-bit integer as a number when exact, else as its decimal text. */
export function integerToScalar(value: bigint): number | string {
  return value <= MAX_SAFE && value >= MIN_SAFE ? Number(value) : value.toString();
}

/** Integer text (pg int8, …) → number when exact, else the text unchanged. */
export function integerTextToScalar(text: string): number | string {
  return integerToScalar(BigInt(text));
}

/** Largest |ms| a JS Date holds (±8.64e15). Beyond it (or ±infinity) the text is kept. */
const MAX_DATE_MS = 8_640_000_000_000_000n;

/** Microseconds since the epoch → Date, flooring (not truncating) sub-millisecond parts. */
export function dateFromEpochMicros(micros: bigint): Date | null {
  let ms = micros / 1000n;
  if (micros < 0n && micros % 1000n !== 0n) ms -= 1n;
  if (ms > MAX_DATE_MS || ms < -MAX_DATE_MS) return null;
  return new Date(Number(ms));
}

/**
 * Builds row objects from positional values with column names folded to lower case. When
 * two names fold to the same key the later column wins (documented in CONTEXT.md).
 */
export function rowsFromArrays(names: readonly string[], rows: readonly (readonly Scalar[])[]): Row[] {
  const keys = names.map((n) => n.toLowerCase());
  const out: Row[] = new Array(rows.length);
  for (let r = 0; r < rows.length; r++) {
    const values = rows[r];
    const row: Row = {};
    for (let c = 0; c < keys.length; c++) row[keys[c]] = values[c] ?? null;
    out[r] = row;
  }
  return out;
}

/** Lower-cases the keys of driver rows (PostgreSQL rows arrive as objects). */
export function foldRowKeys(rows: readonly Record<string, unknown>[]): Row[] {
  if (rows.length === 0) return [];
  const names = Object.keys(rows[0]);
  const needsFold = names.some((n) => n !== n.toLowerCase());
  return rows.map((row) => {
    const out: Row = {};
    for (const name of names) {
      out[needsFold ? name.toLowerCase() : name] = toScalar(row[name]);
    }
    return out;
  });
}

/** Last-resort mapping of a value the type parsers did not turn into a Scalar. */
export function toScalar(value: unknown): Scalar {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
      return value;
    case 'bigint':
      return integerToScalar(value);
    default:
      if (value instanceof Date) return value;
      if (Buffer.isBuffer(value)) return value.toString('hex');
      return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  }
}

/**
 * Input side, for `load`: a contract value for a column of the given logical type,
 * normalised so every adapter writes the same thing. Throws a plain Error on a value that
 * cannot be written; adapters wrap it.
 */
export function timestampInput(value: Scalar): Date {
  if (value instanceof Date) return value;
  if (typeof value === 'number') return new Date(value);
  if (typeof value === 'string') {
    const text = value.trim();
    const date = /^\d{4}-\d\d-\d\d$/.test(text) || hasZone(text) ? new Date(text) : new Date(`${text.replace(' ', 'T')}Z`);
    if (Number.isNaN(date.getTime())) throw new Error(`cannot read '${value}' as a timestamp`);
    return date;
  }
  throw new Error(`cannot read ${String(value)} as a timestamp`);
}

/** ISO text without a zone is UTC by contract; one with a zone keeps it. */
function hasZone(text: string): boolean {
  return /(Z|[+-]\d\d(:?\d\d)?)$/i.test(text) && /\d[T ]\d/.test(text);
}

/** 'YYYY-MM-DD' from a date string, a Date (its UTC day) or an ISO timestamp text. */
export function dateInput(value: Scalar): string {
  if (value instanceof Date) return value.toISOString().slice(0, 10);
  if (typeof value === 'string' && /^\d{4}-\d\d-\d\d/.test(value)) return value.slice(0, 10);
  throw new Error(`cannot read ${String(value)} as a date (expected 'YYYY-MM-DD')`);
}

/** Integer input as bigint: numbers must be whole, strings must be integer text. */
export function integerInput(value: Scalar): bigint {
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^[+-]?\d+$/.test(value.trim())) return BigInt(value.trim());
  if (typeof value === 'boolean') return value ? 1n : 0n;
  throw new Error(`cannot read ${String(value)} as an integer`);
}

export function floatInput(value: Scalar): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const n = Number(value);
    if (!Number.isNaN(n) || value.trim() === 'NaN') return n;
  }
  throw new Error(`cannot read ${String(value)} as a number`);
}

export function booleanInput(value: Scalar): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 1 || value === 'true' || value === 't' || value === '1') return true;
  if (value === 0 || value === 'false' || value === 'f' || value === '0') return false;
  throw new Error(`cannot read ${String(value)} as a boolean`);
}

export function stringInput(value: Scalar): string {
  if (value instanceof Date) return value.toISOString();
  return String(value);
}
