/**
 * B2B: accounts, memberships over time and each person's current account.
 *  - accounts: one row per account key (a CRM account id or a domain), with the domain
 *    normalised (lower, no scheme, no www., no path), declared traits and member counts;
 *  - account_memberships: person (profile_id, through the membership's identifier) →
 *    account with valid_from / valid_to; a person who changed jobs has one profile and a
 *    row per job; `is_current` when valid_to is empty or in the future;
 *  - current account: the current membership that started last (ties: account id).
 * Memberships whose person has no profile are left out (add the memberships table as an
 * identity source to make every member a profile).
 */
import type { Dialect } from '../warehouse';
import type { IdentityPlan } from './identity-plan';
import { normalizedSql } from './normalize-sql';

type Q = (n: string) => string;

export function membershipsSql(d: Dialect, plan: IdentityPlan, registry: string): string | undefined {
  const m = plan.memberships;
  if (!m) return undefined;
  const q: Q = (n) => d.quoteIdent(n);
  const ts = (col: string | undefined) => (col === undefined ? `CAST(NULL AS ${d.typeName('timestamp')})` : d.cast(`m.${q(col)}`, 'timestamp'));
  return (
    `SELECT DISTINCT g.${q('profile_id')} AS ${q('profile_id')}, ${d.cast(`m.${q(m.account_key)}`, 'string')} AS ${q('account_id')},\n` +
    `  ${ts(m.valid_from)} AS ${q('valid_from')}, ${ts(m.valid_to)} AS ${q('valid_to')},\n` +
    `  CASE WHEN ${ts(m.valid_to)} IS NULL OR ${ts(m.valid_to)} > ${d.now()} THEN TRUE ELSE FALSE END AS ${q('is_current')}\n` +
    `FROM ${d.qualify(m.ref)} AS m\n` +
    `JOIN ${registry} AS g ON g.${q('identifier_type')} = ${d.literal(m.rule.name)} AND g.${q('identifier_value')} = ${normalizedSql(d, m.rule, `m.${q(m.column)}`)}\n` +
    `WHERE m.${q(m.account_key)} IS NOT NULL`
  );
}

export function currentAccountSql(d: Dialect, memberships: string): string {
  const q: Q = (n) => d.quoteIdent(n);
  const nullsLast = `CASE WHEN ${q('valid_from')} IS NULL THEN 1 ELSE 0 END`;
  return (
    `SELECT ${q('profile_id')}, ${q('account_id')} FROM (SELECT ${q('profile_id')}, ${q('account_id')}, ` +
    `ROW_NUMBER() OVER (PARTITION BY ${q('profile_id')} ORDER BY ${nullsLast}, ${q('valid_from')} DESC, ${q('account_id')} DESC) AS ${q('rn')} ` +
    `FROM ${memberships} WHERE ${q('is_current')}) AS c WHERE ${q('rn')} = 1`
  );
}

export function accountsSql(d: Dialect, plan: IdentityPlan, memberships: string | undefined): string | undefined {
  const a = plan.accounts;
  if (!a) return undefined;
  const q: Q = (n) => d.quoteIdent(n);
  const domain =
    a.domain === undefined
      ? `CAST(NULL AS ${d.typeName('string')})`
      : `MAX(NULLIF(${d.regexReplace(d.regexReplace(`lower(trim(${d.cast(`a.${q(a.domain)}`, 'string')}))`, '^(https?://)?(www\\.)?', ''), '/.*$', '')}, ''))`;
  const traits = Object.entries(a.traits).map(([name, column]) => `MAX(a.${q(column)}) AS ${q(name)}`);
  const counts = memberships
    ? `LEFT JOIN (SELECT ${q('account_id')}, COUNT(DISTINCT ${q('profile_id')}) AS ${q('members')}, ` +
      `COUNT(DISTINCT CASE WHEN ${q('is_current')} THEN ${q('profile_id')} END) AS ${q('current_members')} FROM ${memberships} GROUP BY ${q('account_id')}) AS mc ` +
      `ON mc.${q('account_id')} = acc.${q('account_id')}`
    : '';
  const memberCols = memberships
    ? `COALESCE(mc.${q('members')}, 0) AS ${q('members')}, COALESCE(mc.${q('current_members')}, 0) AS ${q('current_members')}`
    : `0 AS ${q('members')}, 0 AS ${q('current_members')}`;
  return (
    `SELECT acc.*, ${memberCols} FROM (\n` +
    `  SELECT ${d.cast(`a.${q(a.key)}`, 'string')} AS ${q('account_id')}, ${domain} AS ${q('domain')}${traits.length ? `, ${traits.join(', ')}` : ''}\n` +
    `  FROM ${d.qualify(a.ref)} AS a WHERE a.${q(a.key)} IS NOT NULL GROUP BY ${d.cast(`a.${q(a.key)}`, 'string')}) AS acc\n` +
    counts
  );
}
