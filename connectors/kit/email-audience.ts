/**
 * Row handling the email-keyed list destinations (Klaviyo, SendGrid, Iterable) share: one
 * outcome slot per row, what a mapped consent value means, email keys de-duplicated per
 * batch, rows prepared into vendor payloads with their size, and requests cut by count and
 * serialised size.
 */
import { normalizeEmail } from './identifiers';
import { rejected, retry } from './outcomes';
import type { FieldValue, OutboundRow, RowOutcome } from './types';

/**
 * One outcome per input row, filled in as the vendor's answers arrive. A batch takes several
 * calls, so a row may be settled by one call and reopened for the next; a slot still empty
 * at the end becomes `retry`, never `ok` — a row is ok only once the vendor acknowledged it.
 */
export class RowOutcomes {
  private readonly items: Array<RowOutcome | undefined>;
  private readonly vendor: string;

  /** `vendor` names the destination in the reason of rows it never acknowledged. */
  constructor(size: number, vendor: string) {
    this.items = new Array<RowOutcome | undefined>(size).fill(undefined);
    this.vendor = vendor;
  }
  set(index: number, outcome: RowOutcome): void {
    this.items[index] = outcome;
  }
  get(index: number): RowOutcome | undefined {
    return this.items[index];
  }
  /** Back to "not acknowledged" (a row whose second step, e.g. a consent change, is still to be sent). */
  clear(index: number): void {
    this.items[index] = undefined;
  }
  settledCount(): number {
    return this.items.filter((o) => o !== undefined).length;
  }
  finish(unsettled: RowOutcome = retry(`${this.vendor} did not acknowledge this row`)): RowOutcome[] {
    return this.items.map((o) => o ?? unsettled);
  }
}

/** Values of a mapped consent field that mean "no consent" (compared trimmed and lowercased). */
export const NO_CONSENT: ReadonlySet<string> = new Set(['false', 'no', 'n', '0', 'denied', 'withdrawn', 'revoked', 'unsubscribed', 'opted_out', 'opt_out', '']);

/** A mapped consent value: false/denied/null… mean no consent; an unmapped field defers to the engine's purpose. */
export function consentGiven(value: FieldValue | undefined): boolean {
  if (value === undefined) return true; // field not mapped: the engine's purpose decided already
  if (value === null) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  return typeof value === 'string' ? !NO_CONSENT.has(value.trim().toLowerCase()) : true;
}

export interface EmailKeyedRow {
  index: number;
  email: string;
}

/**
 * Normalised, de-duplicated emails. A bad key is rejected here and never sent; so is a second
 * row with the same email once lowercased, since the vendor would merge the two into one
 * record and only one of them could be acknowledged truthfully.
 */
export function keyEmailRows(rows: OutboundRow[], outcomes: RowOutcomes): EmailKeyedRow[] {
  const seen = new Map<string, number>();
  const result: EmailKeyedRow[] = [];
  rows.forEach((row, index) => {
    const email = normalizeEmail(row.key);
    if (email === null) return outcomes.set(index, rejected(`"${row.key}" is not a valid email address`));
    const earlier = seen.get(email);
    if (earlier !== undefined) return outcomes.set(index, rejected(`same email as row ${earlier + 1} of this batch once lowercased (${email})`));
    seen.set(email, index);
    result.push({ index, email });
  });
  return result;
}

export interface PreparedEmailRow<Payload> extends EmailKeyedRow {
  /** The vendor's record for this row (a Klaviyo profile, a SendGrid contact, an Iterable user). */
  payload: Payload;
  /** Serialised size, for cutting requests by size. */
  bytes: number;
  consent: boolean;
}

export interface PrepareEmailRowsOptions<Payload> {
  consentField: string;
  /**
   * The vendor's record for one row from its fields, without `email` (the key says it) and the
   * consent field (it decides lists and subscriptions, it is not an attribute). A `problem`
   * rejects the row with that reason; throwing fails the whole batch (e.g. an unknown field).
   */
  build(email: string, fields: Array<[string, FieldValue]>): { payload: Payload; problem?: string };
  /** A per-record size cap: the reason to reject a record of `bytes`, else undefined. It wins over `problem`. */
  tooLarge?(bytes: number): string | undefined;
}

/** Keys the rows by email, builds each record and its size; rows that cannot go are rejected in `outcomes`. */
export function prepareEmailRows<Payload>(rows: OutboundRow[], outcomes: RowOutcomes, options: PrepareEmailRowsOptions<Payload>): Array<PreparedEmailRow<Payload>> {
  const prepared: Array<PreparedEmailRow<Payload>> = [];
  for (const { index, email } of keyEmailRows(rows, outcomes)) {
    const fields = rows[index]!.fields;
    const { payload, problem } = options.build(
      email,
      Object.entries(fields).filter(([name]) => name !== options.consentField && name !== 'email'),
    );
    // +1 for the comma that joins records in a request body, so chunk sizes add up.
    const bytes = Buffer.byteLength(JSON.stringify(payload)) + 1;
    const reason = options.tooLarge?.(bytes) ?? problem;
    if (reason !== undefined) {
      outcomes.set(index, rejected(reason));
      continue;
    }
    prepared.push({ index, email, payload, bytes, consent: consentGiven(fields[options.consentField]) });
  }
  return prepared;
}

/** Requests of at most `maxRows` rows and `maxBytes` serialised bytes, in order (a larger single row still goes, alone). */
export function chunkRowsBySize<T extends { bytes: number }>(rows: T[], maxRows: number, maxBytes: number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const row of rows) {
    if (current.length > 0 && (current.length >= maxRows || bytes + row.bytes > maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(row);
    bytes += row.bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** A field value as the text a vendor's string attribute takes: null clears (''), lists and objects as JSON. */
export function textOf(value: FieldValue): string {
  if (value === null) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}
