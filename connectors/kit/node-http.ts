/**
 * One HTTP exchange over `node:http`/`node:https` with keep-alive agents — what `ctx.http`
 * sends with unless a `fetch` is injected. Why not the global fetch: per request, undici's
 * fetch allocates WHATWG streams, a Request, a Response, Headers and AbortSignal.any
 * machinery; at 1,000 batches per second that garbage was most of a sync's peak RSS (V8's
 * old generation grows to several times the live heap between full collections). Here the
 * body is one Buffer written once, the answer is read into one Buffer.
 *
 * Kept from fetch so connectors see no difference: redirects followed (at most 20;
 * 301/302 POST and 303 become GET without body; credentials dropped across origins), gzip/
 * deflate/br answers decoded, a text body without content-type sent as
 * `text/plain;charset=UTF-8`, a UTF-8 BOM stripped from the answer, the answer headers as a
 * WHATWG `Headers`. The timeout covers connect, send and reading the whole answer (redirects
 * included); cancellation destroys the request at once.
 */
import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';
import type { Readable } from 'node:stream';

const agents = {
  'http:': new http.Agent({ keepAlive: true, scheduling: 'lifo' }),
  'https:': new https.Agent({ keepAlive: true, scheduling: 'lifo' }),
};

const MAX_REDIRECTS = 20;
const CROSS_ORIGIN_DROPPED = ['authorization', 'cookie', 'proxy-authorization'];

export interface NodeHttpAnswer {
  status: number;
  headers: Headers;
  text: string;
}

/** Why a request did not produce an answer: the caller maps this to its own errors. */
export class NodeHttpFailure extends Error {
  constructor(
    readonly kind: 'timeout' | 'aborted' | 'network',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'NodeHttpFailure';
  }
}

export interface NodeHttpRequest {
  method: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

export function nodeHttpRequest(url: string, request: NodeHttpRequest): Promise<NodeHttpAnswer> {
  return new Promise<NodeHttpAnswer>((resolve, reject) => {
    const { signal } = request;
    if (signal?.aborted) {
      reject(new NodeHttpFailure('aborted', 'aborted', { cause: signal.reason }));
      return;
    }
    let current: http.ClientRequest | undefined;
    let done = false;
    const finish = (error: Error | undefined, answer?: NodeHttpAnswer) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (error) {
        current?.destroy();
        reject(error);
      } else resolve(answer!);
    };
    const onAbort = () => finish(new NodeHttpFailure('aborted', 'aborted', { cause: signal!.reason }));
    const timer = setTimeout(() => finish(new NodeHttpFailure('timeout', `timed out after ${request.timeoutMs}ms`)), request.timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });

    let headers = { ...request.headers };
    if (!hasKey(headers, 'accept-encoding')) headers['accept-encoding'] = 'gzip, deflate, br';
    let method = request.method.toUpperCase();
    let body: Buffer | undefined = request.body === undefined ? undefined : Buffer.from(request.body, 'utf8');
    if (body && !hasKey(headers, 'content-type')) headers['content-type'] = 'text/plain;charset=UTF-8';

    const send = (target: URL, redirects: number) => {
      const lib = target.protocol === 'https:' ? https : target.protocol === 'http:' ? http : undefined;
      if (!lib) {
        finish(new NodeHttpFailure('network', `unsupported protocol ${target.protocol}`));
        return;
      }
      const outgoing: Record<string, string> = { ...headers };
      if (body) outgoing['content-length'] = String(body.length);
      else if (method !== 'GET' && method !== 'HEAD') outgoing['content-length'] = '0';
      let req: http.ClientRequest;
      try {
        req = lib.request(target, { method, headers: outgoing, agent: agents[target.protocol as 'http:' | 'https:'] });
      } catch (cause) {
        finish(new NodeHttpFailure('network', (cause as Error).message, { cause }));
        return;
      }
      current = req;
      req.on('error', (cause) => finish(new NodeHttpFailure('network', networkText(cause), { cause })));
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        const location = res.headers.location;
        if (location !== undefined && (status === 301 || status === 302 || status === 303 || status === 307 || status === 308)) {
          res.resume();
          if (redirects >= MAX_REDIRECTS) {
            finish(new NodeHttpFailure('network', 'redirect count exceeded'));
            return;
          }
          let next: URL;
          try {
            next = new URL(location, target);
          } catch (cause) {
            finish(new NodeHttpFailure('network', `invalid redirect location ${location}`, { cause }));
            return;
          }
          if ((status === 303 && method !== 'HEAD') || ((status === 301 || status === 302) && method === 'POST')) {
            method = 'GET';
            body = undefined;
            headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !/^content-(type|length|encoding|language|location)$/i.test(k)));
          }
          if (next.origin !== target.origin) headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !CROSS_ORIGIN_DROPPED.includes(k.toLowerCase())));
          send(next, redirects + 1);
          return;
        }
        readAnswer(res)
          .then((buffer) => {
            const answerHeaders = new Headers();
            const raw = res.rawHeaders;
            for (let i = 0; i + 1 < raw.length; i += 2) answerHeaders.append(raw[i]!, raw[i + 1]!);
            let text = buffer.toString('utf8');
            if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
            finish(undefined, { status, headers: answerHeaders, text });
          })
          .catch((cause: unknown) => finish(new NodeHttpFailure('network', networkText(cause), { cause })));
      });
      req.end(body);
    };

    let target: URL;
    try {
      target = new URL(url);
    } catch (cause) {
      finish(new NodeHttpFailure('network', `invalid URL ${url}`, { cause }));
      return;
    }
    send(target, 0);
  });
}

/** The whole answer, decoded per Content-Encoding (as fetch does). */
function readAnswer(res: http.IncomingMessage): Promise<Buffer> {
  const encoding = String(res.headers['content-encoding'] ?? '').trim().toLowerCase();
  let stream: Readable = res;
  if (encoding === 'gzip' || encoding === 'x-gzip') stream = res.pipe(zlib.createGunzip({ flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH }));
  else if (encoding === 'deflate') stream = res.pipe(zlib.createInflate({ flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH }));
  else if (encoding === 'br') stream = res.pipe(zlib.createBrotliDecompress());
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    stream.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
    });
    stream.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length)));
    stream.on('error', reject);
    if (stream !== res) res.on('error', reject);
    res.on('aborted', () => reject(new Error('the connection closed before the answer was complete')));
  });
}

function hasKey(headers: Record<string, string>, name: string): boolean {
  for (const key in headers) if (key.toLowerCase() === name) return true;
  return false;
}

function networkText(cause: unknown): string {
  const code = (cause as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return code;
  return cause instanceof Error ? cause.message : String(cause);
}
