/**
 * The counts a sync run reports (plan and outcome), one shape for the CLI, the control DB
 * and the API. `planned` = rows the run intends to send (added + changed + removed that
 * have an op); everything else is reported, never silently dropped.
 */
export interface SyncCounts {
  planned: number;
  added: number;
  changed: number;
  removed: number;
  /** Acknowledged by the destination. */
  succeeded: number;
  /** Refused by the destination (permanent), stored with the reason. */
  rejected: number;
  /** Row sends repeated after a transient failure. */
  retried: number;
  /** Not sent because the person has no consent for the purpose. */
  skipped_consent: number;
  /** Null or duplicate keys: never sent. */
  invalid: number;
  /** Rejected before with the same data: not resent (use --retry-rejected). */
  skipped_rejected: number;
  /** Still failing after every attempt: left for the next run. */
  unsent: number;
  /** In the audience and already up to date. */
  unchanged: number;
}

export function emptyCounts(): SyncCounts {
  return { planned: 0, added: 0, changed: 0, removed: 0, succeeded: 0, rejected: 0, retried: 0, skipped_consent: 0, invalid: 0, skipped_rejected: 0, unsent: 0, unchanged: 0 };
}
