/** The REST API (fastify, OpenAPI from zod), tokens and audit. */
export { buildApiServer, type ApiServer } from './app';
export { createServerContext, type ServerContext } from './context';
export { createToken, listTokens, revokeToken, scopes, type Scope, type Actor } from './auth';
export { recordAudit, listAudit, redact } from './audit';
export { startServe, type ServeOptions, type RunningServe } from './serve';
