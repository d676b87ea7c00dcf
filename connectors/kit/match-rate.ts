/**
 * The match-rate report of an ad-audience sync (issue 9): how many members had each
 * identifier type after normalisation, how many were sent, how many the connector refused
 * before sending (nothing usable), and how many the platform reported invalid (Meta's
 * `num_invalid_entries`, Google's partial-failure errors, TikTok/LinkedIn per-entry
 * refusals). Each ad connector builds one `AdBatchReport` per batch with an
 * `AdBatchReporter` and hands it to `ctx.report`; `matchRateReport` sums them for a run.
 *
 * Invariants: counts only — never an identifier or a hash; a row counts once in a run
 * however often it was sent. The engine resends a row after a whole-batch failure (429,
 * 5xx, timeout), in the halves of a split batch, and when it was answered `retry`; so a
 * write that throws reports nothing, and a report leaves out the rows it answered `retry`
 * — the attempt that settles a row (ok or rejected) is the one that counts it.
 */
import type { RowOutcome } from './types';

export interface AdBatchReport {
  /** Rows in the batch. */
  members: number;
  /** Rows that had each identifier type after normalisation (e.g. { email: 950, phone: 400 }). */
  withIdentifier: Record<string, number>;
  /** Rows sent to the platform. */
  sent: number;
  /** Rows refused before sending (no usable identifier). */
  rejectedLocally: number;
  /** Rows (or entries) the platform said it could not use. */
  reportedInvalid: number;
}

export interface MatchRateReport extends AdBatchReport {
  /** Share of members with each identifier type (0..1). */
  identifierShare: Record<string, number>;
  /** (sent − reportedInvalid) / members: the share the platform could try to match. */
  usableShare: number;
}

export function emptyBatchReport(): AdBatchReport {
  return { members: 0, withIdentifier: {}, sent: 0, rejectedLocally: 0, reportedInvalid: 0 };
}

/** Counts one row's identifier types into a batch report. */
export function countIdentifiers(report: AdBatchReport, types: Iterable<string>): void {
  for (const type of types) report.withIdentifier[type] = (report.withIdentifier[type] ?? 0) + 1;
}

/**
 * Builds one batch's report row by row, then `finish(outcomes)` keeps only the rows the
 * batch settled: a row answered `retry` is left out (its later attempt counts it).
 */
export class AdBatchReporter {
  private readonly types: Array<readonly string[] | undefined>;
  private readonly sentRows = new Set<number>();
  private readonly invalidRows = new Set<number>();
  private invalidEntries = 0;

  constructor(private readonly rows: number) {
    this.types = new Array<readonly string[] | undefined>(rows);
  }

  /** The identifier types row `index` had after normalisation (e.g. ['email', 'phone']). */
  identifiers(index: number, types: Iterable<string>): void {
    this.types[index] = [...types];
  }

  /** Rows the platform received in a request it acknowledged. */
  sent(indexes: Iterable<number>): void {
    for (const i of indexes) this.sentRows.add(i);
  }

  /** A row the platform said it could not use (a per-row answer). */
  invalid(index: number): void {
    this.invalidRows.add(index);
  }

  /** Entries a platform reports invalid only as a count for an acknowledged request (Meta). */
  invalidCount(count: number): void {
    this.invalidEntries += count;
  }

  finish(outcomes: ReadonlyArray<RowOutcome | undefined>): AdBatchReport {
    const report = emptyBatchReport();
    for (let i = 0; i < this.rows; i++) {
      const outcome = outcomes[i];
      if (outcome === undefined || outcome.status === 'retry') continue;
      report.members++;
      countIdentifiers(report, this.types[i] ?? []);
      if (this.sentRows.has(i)) report.sent++;
      else if (outcome.status === 'rejected') report.rejectedLocally++;
      if (this.invalidRows.has(i)) report.reportedInvalid++;
    }
    report.reportedInvalid += this.invalidEntries;
    return report;
  }
}

/** Sums batch reports into one report for the run. */
export function matchRateReport(batches: Iterable<AdBatchReport>): MatchRateReport {
  const total = emptyBatchReport();
  for (const b of batches) {
    total.members += b.members;
    total.sent += b.sent;
    total.rejectedLocally += b.rejectedLocally;
    total.reportedInvalid += b.reportedInvalid;
    for (const [type, n] of Object.entries(b.withIdentifier)) total.withIdentifier[type] = (total.withIdentifier[type] ?? 0) + n;
  }
  const share = (n: number) => (total.members === 0 ? 0 : n / total.members);
  return {
    ...total,
    identifierShare: Object.fromEntries(Object.entries(total.withIdentifier).map(([type, n]) => [type, share(n)])),
    usableShare: share(Math.max(0, total.sent - total.reportedInvalid)),
  };
}
