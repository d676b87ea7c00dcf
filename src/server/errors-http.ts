/**
 * Errors to HTTP answers: validation → 400 with field paths, auth → 401/403, a missing object
 * → 404, a sync already running → 409, other user-side errors → 400, anything else → 500.
 * Messages are our own one-liners (CdpError.toLine), which never carry secrets; an internal
 * error says only that it happened — its details go to the log as a message, not a stack.
 */
import { z } from 'zod';
import { isCdpError, messageOf } from '../errors';
import { ValidationError } from '../scheduler';
import { AuthError } from './auth';
import type { errorBodySchema } from './openapi';

export type ErrorBody = z.infer<typeof errorBodySchema>;

export function zodIssues(error: z.ZodError, prefix: string[] = []): { path: string; message: string }[] {
  return error.issues.map((issue) => ({ path: [...prefix, ...issue.path.map(String)].join('.'), message: issue.message }));
}

export function httpError(error: unknown): { status: number; body: ErrorBody } {
  if (error instanceof ValidationError) return { status: 400, body: { error: 'invalid_request', message: 'the request is not valid', issues: error.issues } };
  if (error instanceof AuthError) return { status: error.status, body: { error: error.status === 401 ? 'unauthenticated' : 'forbidden', message: error.message, hint: error.hint } };
  if (isCdpError(error)) {
    const status = error.code === 'NOT_FOUND' ? 404 : error.code === 'SYNC_LOCKED' || error.code === 'CONFLICT' ? 409 : error.kind === 'config' ? 400 : 502;
    return { status, body: { error: error.code.toLowerCase(), message: error.toLine(), ...(error.hint ? { hint: error.hint } : {}) } };
  }
  void messageOf; // details are logged by the caller, never answered
  return { status: 500, body: { error: 'internal', message: 'internal error; the server log has the details' } };
}
