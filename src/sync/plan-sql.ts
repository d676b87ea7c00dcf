/**
 * The diff as SQL (sync invariant 1: the diff runs in the warehouse). One CREATE TABLE … AS
 * snapshots the mapped audience with a 64-bit row hash, full-outer-joins it with the sync's
 * state on the key and keeps only rows that need something: added, changed, removed, plus
 * the rows we refuse to send (invalid keys, no consent, rejected before with the same data)
 * so a plan can show samples of each. Node never sees unchanged rows.
 *
 * Kinds: added | changed | removed | invalid_null_key | invalid_duplicate_key |
 * skipped_consent | skipped_rejected. `__op` is the batch op the mode sends for the row
 * (NULL: nothing to send, state bookkeeping only) — modes are data (`modeOperations`).
 * Safety rules encoded here: a key that is duplicated now is never removed (we cannot tell
 * which row is meant); a delete is sent only for records this sync created.
 */
import { modeOperations, type SyncMode } from '../../connectors/kit';
import type { Dialect, TableRef } from '../warehouse';

export interface ConsentSource {
  /** Absent: the consent column is on the audience source itself. */
  table?: TableRef;
  /** Column of `table` matching the sync key. */
  keyColumn?: string;
  column: string;
  granted: string[];
}

export interface PlanSqlInput {
  source: TableRef;
  keyColumn: string;
  /** Source columns the mapping reads. */
  columns: string[];
  fingerprint: string;
  consent?: ConsentSource;
  mode: SyncMode;
  state: TableRef;
  rejected: TableRef;
  plan: TableRef;
  /** Resend every row in the audience (`--full`). */
  full: boolean;
  /** Resend rows rejected before even when their data has not changed (`--retry-rejected`). */
  retryRejected: boolean;
}

/** Statements that (re)build the plan table. */
export function planStatements(d: Dialect, input: PlanSqlInput): string[] {
  const q = (name: string) => d.quoteIdent(name);
  const text = (e: string) => d.cast(e, 'string');
  const lit = (v: string) => d.literal(v);
  const ops = modeOperations[input.mode];
  const opOf = (op: string | undefined) => (op ? lit(op) : 'NULL');

  const sourceCols = input.columns.map((c) => `s.${q(c)} AS ${q(c)}`);
  const hashInputs = [...input.columns.map((c) => `s.${q(c)}`), lit(input.fingerprint)];
  const consent = input.consent;
  let consentJoin = '';
  let consentExpr = 'TRUE';
  if (consent) {
    const granted = consent.granted.map(lit).join(', ');
    if (consent.table) {
      // Several consent rows for one key: any refusal wins (consent first).
      consentJoin =
        `LEFT JOIN (SELECT ${text(q(consent.keyColumn!))} AS ckey, ` +
        `MIN(CASE WHEN ${text(q(consent.column))} IN (${granted}) THEN 1 ELSE 0 END) AS cgranted ` +
        `FROM ${d.qualify(consent.table)} GROUP BY ${text(q(consent.keyColumn!))}) AS c ON c.ckey = ${text(`s.${q(input.keyColumn)}`)}`;
      consentExpr = `COALESCE(c.cgranted, 0) = 1`;
    } else {
      consentExpr = `COALESCE(${text(`s.${q(consent.column)}`)} IN (${granted}), FALSE)`;
    }
  }

  const colList = input.columns.map((c) => `v.${q(c)}`);
  const nullCols = input.columns.map((c) => `${q(c)}`);
  // 'changed' needs the state hash to differ; --full resends unchanged rows too.
  const changedTest = input.full ? 'TRUE' : 'v.__hash <> st.row_hash';
  const rejectedSkip = input.retryRejected ? 'FALSE' : 'r.row_hash = v.__hash';

  const select = `WITH src AS (
  SELECT ${text(`s.${q(input.keyColumn)}`)} AS __key, ${sourceCols.length ? `${sourceCols.join(', ')}, ` : ''}${consentExpr} AS __consent,
    ${d.rowHash64(hashInputs)} AS __hash
  FROM ${d.qualify(input.source)} AS s
  ${consentJoin}
),
dups AS (
  SELECT __key FROM src WHERE __key IS NOT NULL GROUP BY __key HAVING COUNT(*) > 1
),
valid AS (
  SELECT src.* FROM src LEFT JOIN dups ON dups.__key = src.__key WHERE src.__key IS NOT NULL AND dups.__key IS NULL
),
joined AS (
  SELECT
    CASE
      WHEN v.__key IS NULL THEN CASE WHEN dk.__key IS NULL THEN 'removed' END
      WHEN NOT v.__consent THEN CASE WHEN st.key IS NULL THEN 'skipped_consent' ELSE 'removed' END
      WHEN st.key IS NULL THEN CASE WHEN r.key IS NOT NULL AND ${rejectedSkip} THEN 'skipped_rejected' ELSE 'added' END
      WHEN ${changedTest} THEN CASE WHEN r.key IS NOT NULL AND ${rejectedSkip} THEN 'skipped_rejected' ELSE 'changed' END
    END AS __kind,
    CASE WHEN v.__key IS NULL OR NOT v.__consent THEN 'left_audience' END AS __why,
    COALESCE(v.__key, st.key) AS __key,
    v.__hash AS __hash,
    st.external_id AS __external_id,
    st.created AS __prev_created,
    r.reason AS __prev_reason${colList.length ? `,\n    ${colList.join(', ')}` : ''}
  FROM valid AS v
  FULL OUTER JOIN ${d.qualify(input.state)} AS st ON st.key = v.__key
  LEFT JOIN dups AS dk ON dk.__key = st.key
  LEFT JOIN ${d.qualify(input.rejected)} AS r ON r.key = v.__key
)
SELECT
  __kind,
  CASE __kind
    WHEN 'added' THEN ${opOf(ops.added)}
    WHEN 'changed' THEN ${opOf(ops.changed)}
    WHEN 'removed' THEN ${ops.removed === 'delete' ? `CASE WHEN COALESCE(__prev_created, TRUE) THEN ${lit('delete')} END` : opOf(ops.removed)}
  END AS __op,
  __why, __key, __hash, __external_id, __prev_created, __prev_reason${nullCols.length ? `, ${nullCols.join(', ')}` : ''}
FROM joined
WHERE __kind IS NOT NULL
UNION ALL
SELECT
  CASE WHEN __key IS NULL THEN 'invalid_null_key' ELSE 'invalid_duplicate_key' END AS __kind,
  CAST(NULL AS ${d.typeName('string')}) AS __op, CAST(NULL AS ${d.typeName('string')}) AS __why, __key, __hash,
  CAST(NULL AS ${d.typeName('string')}) AS __external_id, CAST(NULL AS ${d.typeName('boolean')}) AS __prev_created,
  CAST(NULL AS ${d.typeName('string')}) AS __prev_reason${nullCols.length ? `, ${nullCols.join(', ')}` : ''}
FROM src
WHERE __key IS NULL OR __key IN (SELECT __key FROM dups)`;

  return [d.dropTableIfExists(input.plan), d.createTableAs(input.plan, select)];
}

/** Counts per kind and op of the plan table. */
export function planCountsSql(d: Dialect, plan: TableRef): string {
  return `SELECT __kind AS kind, __op AS op, COUNT(*) AS n FROM ${d.qualify(plan)} GROUP BY __kind, __op`;
}
