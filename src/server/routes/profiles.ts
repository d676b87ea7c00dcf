/**
 * Profile lookup by any identifier — what personalisation systems call on every page view:
 * the identifier is normalised by the identity rules (so `ANN@Example.com ` finds
 * `ann@example.com`), and one SQL statement returns the profile's traits, its identifiers and
 * its current segment memberships: the hit in the identity graph, the profile row, and a
 * UNION ALL of identifiers and open membership rows joined to it. The profile's columns repeat
 * on each of those (at most a few hundred) rows; that costs less than more round trips.
 *
 * `?merge_path=true` adds how the identifiers were joined (what `cdp identity explain` shows:
 * the edges with the source row that joined them, the path from the looked-up identifier
 * through shared identifiers, limit rejections, merges and splits). That is a second query,
 * run only when asked: the hot path (personalisation on every page view) stays one.
 */
import { z } from 'zod';
import { CdpError } from '../../errors';
import { hasIdentityFile, identityTables, loadIdentityPlan, mergePathJsonSchema, mergePathOf, parseLookup, type IdentityPlan } from '../../identity';
import type { Dialect, TableRef } from '../../warehouse';
import type { ServerContext } from '../context';
import { jsonValue } from '../context';
import { defineRoute, type RouteDef } from '../route-kit';
import { membershipHistory } from '../segments-api';

const identifierSchema = z.object({ type: z.string(), value: z.string() });

export const profileSchema = z.object({
  profile_id: z.string(),
  lookup: identifierSchema,
  traits: z.record(z.string(), z.unknown()),
  identifiers: z.array(identifierSchema),
  segments: z.array(z.string()),
  /** Only with `?merge_path=true`. */
  merge_path: mergePathJsonSchema.optional(),
});

/** Identifiers listed per profile (a merged profile can hold thousands). */
const MAX_IDENTIFIERS = 200;

/** Columns of our own in the answer rows; a profile trait will not be called this. */
const HIT = '__cdp_hit';
const PART = '__cdp_part';
const A = '__cdp_a';
const B = '__cdp_b';

export function lookupSql(d: Dialect, tables: { graph: TableRef; profiles: TableRef; history?: TableRef }, lookup: { type: string; value: string }): string {
  const q = (n: string) => d.quoteIdent(n);
  const str = (e: string) => d.cast(e, 'string');
  const parts = [
    `SELECT * FROM (SELECT 'identifier' AS ${q(PART)}, ${str(`g.${q('identifier_type')}`)} AS ${q(A)}, ${str(`g.${q('identifier_value')}`)} AS ${q(B)}\n` +
      `  FROM ${d.qualify(tables.graph)} AS g JOIN hit ON g.${q('profile_id')} = hit.${q('profile_id')}\n` +
      `  ORDER BY 2, 3 LIMIT ${MAX_IDENTIFIERS}) AS i`,
  ];
  if (tables.history) {
    parts.push(
      `SELECT 'segment', ${str(`s.${q('segment')}`)}, ${str('NULL')}\n` +
        `  FROM ${d.qualify(tables.history)} AS s JOIN hit ON s.${q('profile_id')} = hit.${q('profile_id')}\n` +
        `  WHERE s.${q('exited_at')} IS NULL`,
    );
  }
  return (
    `WITH hit AS (\n  SELECT ${q('profile_id')} FROM ${d.qualify(tables.graph)}\n` +
    `  WHERE ${q('identifier_type')} = ${d.literal(lookup.type)} AND ${q('identifier_value')} = ${d.literal(lookup.value)} LIMIT 1\n),\n` +
    `parts AS (\n${parts.join('\nUNION ALL\n')}\n)\n` +
    `SELECT hit.${q('profile_id')} AS ${q(HIT)}, parts.*, pr.*\n` +
    `FROM hit LEFT JOIN ${d.qualify(tables.profiles)} AS pr ON pr.${q('profile_id')} = hit.${q('profile_id')}\n` +
    `LEFT JOIN parts ON 1 = 1\n` +
    `ORDER BY 2, 3, 4`
  );
}

export function profileRoutes(ctx: ServerContext): RouteDef[] {
  let plan: IdentityPlan | undefined;
  const identityPlan = (): IdentityPlan => {
    if (!hasIdentityFile(ctx.runtime.project)) throw new CdpError('identity is not configured', { code: 'NOT_FOUND', kind: 'config', where: 'identity.yml', hint: 'add identity.yml and run `cdp identity run`' });
    plan ??= loadIdentityPlan(ctx.runtime.project, ctx.runtime.warehouse.dialect, ctx.runtime.env);
    return plan;
  };
  let history: (() => Promise<TableRef | undefined>) | undefined;
  return [
    defineRoute({
      method: 'GET',
      path: '/profiles/lookup',
      scope: 'read',
      tag: 'profiles',
      summary: 'Find a profile by any identifier, with traits and segment memberships (and, when asked, how its identifiers were joined)',
      description: 'One query. `merge_path=true` adds the merge path (edges and why, the path from the looked-up identifier through shared identifiers, limit rejections, merges/splits) with a second query.',
      query: z.object({
        type: z.string().min(1).describe('identifier type from identity.yml, e.g. email'),
        value: z.string().min(1).describe('the identifier, as written anywhere'),
        merge_path: z.enum(['true', 'false']).default('false').describe('add merge_path (a second query)'),
      }),
      response: profileSchema,
      handler: async ({ query }) => {
        const p = identityPlan();
        const lookup = parseLookup(p, `${query.type}:${query.value}`);
        const warehouse = ctx.runtime.warehouse;
        const T = identityTables(p);
        history ??= membershipHistory(ctx.runtime);
        const rows = await warehouse.query(lookupSql(warehouse.dialect, { graph: T.graph, profiles: T.profiles, history: await history() }, lookup));
        if (rows.length === 0) throw new CdpError(`no profile has ${lookup.type} ${lookup.value}`, { code: 'NOT_FOUND', kind: 'config', where: 'profiles', hint: 'check the value, or run `cdp identity run` after new data lands' });
        const first = rows[0]!;
        const traits: Record<string, unknown> = {};
        for (const [column, value] of Object.entries(first)) if (![HIT, PART, A, B, 'profile_id'].includes(column)) traits[column] = value;
        const profileId = String(first[HIT]);
        const mergePath = query.merge_path === 'true' ? await mergePathOf(warehouse, p, profileId, lookup) : undefined;
        return {
          profile_id: profileId,
          lookup: { type: lookup.type, value: lookup.value },
          traits: jsonValue(traits) as Record<string, unknown>,
          identifiers: rows.filter((r) => r[PART] === 'identifier').map((r) => ({ type: String(r[A]), value: String(r[B]) })),
          segments: rows.filter((r) => r[PART] === 'segment').map((r) => String(r[A])),
          ...(mergePath ? { merge_path: jsonValue(mergePath) as z.input<typeof mergePathJsonSchema> } : {}),
        };
      },
    }),
  ];
}
