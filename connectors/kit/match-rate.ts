/**
 * The match-rate report of an ad-audience sync (issue 9): how many members had each
 * identifier type after normalisation, how many were sent, how many the connector refused
 * before sending (nothing usable), and how many the platform reported invalid (Meta's
 * `num_invalid_entries`, Google's partial-failure errors, TikTok/LinkedIn per-entry
 * refusals). Each ad connector returns one `AdBatchReport` per batch from its
 * `write…Batch` function; `matchRateReport` sums them for a run. Invariant: counts only —
 * never an identifier or a hash.
 */
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
