/**
 * API tokens. A token is `cdp_<id>_<secret>`, shown once at creation; the control DB keeps
 * only the id and a SHA-256 of the secret (the secret is 32 random bytes, so a plain hash is
 * enough — there is nothing to brute-force). Scopes are ordered: read < write < admin; a
 * route names the least scope it needs. Missing or unknown token → 401, too little → 403.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { ControlDb } from '../control';
import { CdpError } from '../errors';

export const scopes = ['read', 'write', 'admin'] as const;
export type Scope = (typeof scopes)[number];

export interface Actor {
  tokenId: string;
  name: string;
  scope: Scope;
}

const tokenRowSchema = z.object({ id: z.string(), name: z.string(), hash: z.string(), scope: z.enum(scopes), created_at: z.coerce.date(), last_used_at: z.coerce.date().nullable(), revoked_at: z.coerce.date().nullable() });
export type TokenRecord = Omit<z.infer<typeof tokenRowSchema>, 'hash'>;

const hashOf = (secret: string) => createHash('sha256').update(secret).digest('hex');

export async function createToken(db: ControlDb, name: string, scope: Scope): Promise<{ token: string; id: string }> {
  const id = randomUUID().replace(/-/g, '');
  const secret = randomBytes(32).toString('base64url');
  await db.knex('cdp_api_tokens').insert({ id, name, hash: hashOf(secret), scope, created_at: new Date() });
  return { token: `cdp_${id}_${secret}`, id };
}

export async function listTokens(db: ControlDb): Promise<TokenRecord[]> {
  const rows = z.array(tokenRowSchema).parse(await db.knex('cdp_api_tokens').orderBy('created_at'));
  return rows.map(({ hash: _hash, ...rest }) => rest);
}

export async function revokeToken(db: ControlDb, idOrName: string): Promise<number> {
  return db.knex('cdp_api_tokens').where((q) => q.where({ id: idOrName }).orWhere({ name: idOrName })).whereNull('revoked_at').update({ revoked_at: new Date() });
}

export class AuthError extends CdpError {
  constructor(readonly status: 401 | 403, message: string, hint: string) {
    super(message, { code: status === 401 ? 'UNAUTHENTICATED' : 'FORBIDDEN', kind: 'config', where: 'auth', hint });
  }
}

/**
 * Checks an Authorization header. Verified tokens are cached for a few seconds (the API
 * answers profile lookups at personalisation rates); revocation takes effect within that.
 * `identify` is the same check without a scope and without throwing: the rate limiter keys
 * requests by the token that *verified*, so a client cannot spend another token's budget by
 * sending its (public) id with a made-up secret.
 */
const MAX_CACHED_TOKENS = 10_000;

export function createAuthenticator(db: ControlDb, cacheMs = 5000) {
  const cache = new Map<string, { actor: Actor | undefined; until: number }>();
  const lastUsedWrites = new Map<string, number>();
  const tokenPattern = /^Bearer\s+(cdp_([0-9a-f]{32})_([A-Za-z0-9_-]{20,}))\s*$/;
  /** undefined: malformed header; null: well-formed but unknown or revoked. */
  const verify = async (header: string | undefined): Promise<Actor | null | undefined> => {
    const match = tokenPattern.exec(header ?? '');
    if (!match) return undefined;
    const [, token, id, secret] = match as unknown as [string, string, string, string];
    const cacheKey = hashOf(token);
    let entry = cache.get(cacheKey);
    if (!entry || entry.until < Date.now()) {
      const row = await db.knex('cdp_api_tokens').where({ id }).first();
      const parsed = row ? tokenRowSchema.parse(row) : undefined;
      const ok = parsed && !parsed.revoked_at && timingSafeEqual(Buffer.from(parsed.hash, 'hex'), Buffer.from(hashOf(secret), 'hex'));
      entry = { actor: ok ? { tokenId: parsed.id, name: parsed.name, scope: parsed.scope } : undefined, until: Date.now() + cacheMs };
      // Bounded: a flood of made-up tokens must not grow the process (oldest entry out first).
      if (cache.size >= MAX_CACHED_TOKENS) cache.delete(cache.keys().next().value!);
      cache.set(cacheKey, entry);
    }
    return entry.actor ?? null;
  };
  async function authenticate(header: string | undefined, needed: Scope): Promise<Actor> {
    const actor = await verify(header);
    if (actor === undefined) throw new AuthError(401, 'missing or malformed API token', 'send Authorization: Bearer cdp_… (create one with `cdp keys create`)');
    if (actor === null) throw new AuthError(401, 'unknown or revoked API token', 'create a new one with `cdp keys create`');
    if (scopes.indexOf(actor.scope) < scopes.indexOf(needed)) throw new AuthError(403, `this token has scope ${actor.scope}; this call needs ${needed}`, `use a token with scope ${needed} or higher`);
    const last = lastUsedWrites.get(actor.tokenId) ?? 0;
    if (Date.now() - last > 60_000) {
      lastUsedWrites.set(actor.tokenId, Date.now());
      void db.knex('cdp_api_tokens').where({ id: actor.tokenId }).update({ last_used_at: new Date() }).catch(() => undefined);
    }
    return actor;
  }
  return Object.assign(authenticate, {
    /** The verified token's actor, or undefined (no token, malformed, unknown, revoked, or the control DB failed). */
    identify: async (header: string | undefined): Promise<Actor | undefined> => (await verify(header).catch(() => undefined)) ?? undefined,
  });
}
export type Authenticator = ReturnType<typeof createAuthenticator>;
