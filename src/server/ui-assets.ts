/**
 * The marketer web UI (issue 7): plain static files shipped in `src/server/ui/` — one HTML
 * page, small vanilla ES modules (one screen or helper each), one stylesheet; no build step. Served without auth (they hold
 * no data); every call the page makes goes to the REST API with the user's token, so the UI
 * has no power the API lacks. `/` and `/ui` answer the page, `/ui/<file>` the listed assets.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';

const UI_DIR = join(__dirname, 'ui');
const JS = 'text/javascript; charset=utf-8';
/** Only these files are served (an allow-list: nothing else in the folder, no path tricks). */
const ASSETS: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
  'app.js': JS,
  'api.js': JS,
  'dom.js': JS,
  'chart.js': JS,
  'segments.js': JS,
  'rule-builder.js': JS,
  'destinations.js': JS,
  'schema-form.js': JS,
  'syncs.js': JS,
  'sync-wizard.js': JS,
  'mapping.js': JS,
  'profiles.js': JS,
};
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

export function registerUiRoutes(app: FastifyInstance): void {
  // Read on each request: tiny files, and an edited asset is seen without a restart.
  const send = (file: string) => ({ type: ASSETS[file]!, body: readFileSync(join(UI_DIR, file)) });
  const page = async (_request: unknown, reply: FastifyReply) => {
    const { type, body } = send('index.html');
    return reply.headers(SECURITY_HEADERS).type(type).send(body);
  };
  app.get('/', page);
  app.get('/ui', page);
  app.get('/ui/', page);
  app.get<{ Params: { file: string } }>('/ui/:file', async (request, reply) => {
    const file = request.params.file;
    if (!Object.hasOwn(ASSETS, file)) return reply.status(404).send({ error: 'not_found', message: `no UI asset ${file}` });
    const { type, body } = send(file);
    return reply.headers(SECURITY_HEADERS).type(type).send(body);
  });
}
