/**
 * Profile lookup by any identifier — what personalisation systems call on every page view:
 * the identifier is normalised by the identity rules (so `ANN@Example.com ` finds
 * `ann@example.com`), its profile is read from the identity graph, and the answer carries the
 * profile's traits, identifiers and current segment memberships. Two indexed point queries.
 */
import { z } from 'zod';
import { CdpError } from '../../errors';
import { hasIdentityFile, identityTables, loadIdentityPlan, parseLookup, type IdentityPlan } from '../../identity';
import type { ServerContext } from '../context';
import { jsonValue } from '../context';
import { defineRoute, type RouteDef } from '../route-kit';
import { segmentMemberships } from '../segments-api';

export const profileSchema = z.object({
  profile_id: z.string(),
  lookup: z.object({ type: z.string(), value: z.string() }),
  traits: z.record(z.string(), z.unknown()),
  identifiers: z.array(z.object({ type: z.string(), value: z.string() })),
  segments: z.array(z.string()),
});

export function profileRoutes(ctx: ServerContext): RouteDef[] {
  let plan: IdentityPlan | undefined;
  const identityPlan = (): IdentityPlan => {
    if (!hasIdentityFile(ctx.runtime.project)) throw new CdpError('identity is not configured', { code: 'NOT_FOUND', kind: 'config', where: 'identity.yml', hint: 'add identity.yml and run `cdp identity run`' });
    plan ??= loadIdentityPlan(ctx.runtime.project, ctx.runtime.warehouse.dialect, ctx.runtime.env);
    return plan;
  };
  return [
    defineRoute({
      method: 'GET',
      path: '/profiles/lookup',
      scope: 'read',
      tag: 'profiles',
      summary: 'Find a profile by any identifier, with traits and segment memberships',
      query: z.object({ type: z.string().min(1).describe('identifier type from identity.yml, e.g. email'), value: z.string().min(1).describe('the identifier, as written anywhere') }),
      response: profileSchema,
      handler: async ({ query }) => {
        const p = identityPlan();
        const lookup = parseLookup(p, `${query.type}:${query.value}`);
        const warehouse = ctx.runtime.warehouse;
        const d = warehouse.dialect;
        const q = (n: string) => d.quoteIdent(n);
        const T = identityTables(p);
        const [hit] = await warehouse.query(`SELECT ${q('profile_id')} FROM ${d.qualify(T.graph)} WHERE ${q('identifier_type')} = ${d.literal(lookup.type)} AND ${q('identifier_value')} = ${d.literal(lookup.value)} LIMIT 1`);
        if (!hit) throw new CdpError(`no profile has ${lookup.type} ${lookup.value}`, { code: 'NOT_FOUND', kind: 'config', where: 'profiles', hint: 'check the value, or run `cdp identity run` after new data lands' });
        const profileId = String(hit.profile_id);
        const [[profile], identifiers, segments] = await Promise.all([
          warehouse.query(`SELECT * FROM ${d.qualify(T.profiles)} WHERE ${q('profile_id')} = ${d.literal(profileId)}`),
          warehouse.query(`SELECT ${q('identifier_type')}, ${q('identifier_value')} FROM ${d.qualify(T.graph)} WHERE ${q('profile_id')} = ${d.literal(profileId)} ORDER BY 1, 2 LIMIT 200`),
          segmentMemberships(ctx.runtime, profileId),
        ]);
        const { profile_id: _id, ...traits } = (profile ?? {}) as Record<string, unknown>;
        return {
          profile_id: profileId,
          lookup: { type: lookup.type, value: lookup.value },
          traits: jsonValue(traits) as Record<string, unknown>,
          identifiers: identifiers.map((r) => ({ type: String(r.identifier_type), value: String(r.identifier_value) })),
          segments,
        };
      },
    }),
  ];
}
