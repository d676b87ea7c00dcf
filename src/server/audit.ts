/**
 * The audit log: every change made through the API (and the CLI's key and secret commands)
 * — who, what, on which object, and the object before and after. Values pass through
 * `redact` first: anything under a key that names a secret is replaced, so even a caller's
 * mistake cannot write a credential into the log. Destination views carry no secret values
 * at all (only `set` / `unset`).
 */
import { z } from 'zod';
import type { ControlDb } from '../control';

const SECRETISH = /secret|password|token|api_?key|private_?key|credential|authorization/i;

export function redact(value: unknown, secretKeys: readonly string[] = []): unknown {
  if (Array.isArray(value)) return value.map((v) => redact(v, secretKeys));
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, (SECRETISH.test(k) || secretKeys.includes(k)) && typeof v === 'string' && v !== 'set' && v !== 'unset' ? '[redacted]' : redact(v, secretKeys)]),
    );
  }
  return value;
}

export interface AuditEntry {
  project: string;
  actor: string;
  action: string;
  targetType: string;
  target: string;
  before?: unknown;
  after?: unknown;
}

export async function recordAudit(db: ControlDb, entry: AuditEntry): Promise<void> {
  await db.knex('cdp_audit').insert({
    at: new Date(),
    project: entry.project,
    actor: entry.actor,
    action: entry.action,
    target_type: entry.targetType,
    target: entry.target,
    before: entry.before === undefined ? null : JSON.stringify(redact(entry.before)),
    after: entry.after === undefined ? null : JSON.stringify(redact(entry.after)),
  });
}

export const auditRecordSchema = z.object({
  id: z.number(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  target_type: z.string(),
  target: z.string(),
  before: z.unknown().nullable(),
  after: z.unknown().nullable(),
});
export type AuditRecord = z.infer<typeof auditRecordSchema>;

export async function listAudit(db: ControlDb, project: string, limit = 100): Promise<AuditRecord[]> {
  const rows = z
    .array(z.object({ id: z.coerce.number(), at: z.coerce.date(), actor: z.string(), action: z.string(), target_type: z.string(), target: z.string(), before: z.string().nullable(), after: z.string().nullable() }))
    .parse(await db.knex('cdp_audit').where({ project }).orderBy('id', 'desc').limit(limit));
  return rows.map((r) => ({ ...r, at: r.at.toISOString(), before: r.before ? (JSON.parse(r.before) as unknown) : null, after: r.after ? (JSON.parse(r.after) as unknown) : null }));
}
