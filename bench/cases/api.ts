/**
 * Bench `api` (issue 6): 200 concurrent HTTP clients on loopback against `cdp serve`'s API
 * (fastify, real DuckDB warehouse, SQLite control DB, token auth on every request) calling
 * profile lookup by a random person's email — and segment size and preview once the
 * segments module publishes those routes. Baseline: the same warehouse queries called in
 * process with the same concurrency and no HTTP, so `vs_in_process` is what the API layer
 * (HTTP, auth, validation, JSON) costs.
 */
import { Agent, request } from 'node:http';
import { identityTables, loadIdentityPlan } from '../../src/identity';
import { openServerFixture } from '../../test/server/server-fixture';
import { round, type BenchCase } from '../harness';

const CLIENTS = 200;

export const apiCase: BenchCase = {
  name: 'api',
  description: 'REST API under 200 concurrent loopback clients: profile lookup (+ segment size/preview when available); p50/p99, errors',
  async run(scale, log) {
    const people = scale === 'small' ? 10_000 : 100_000;
    const seconds = scale === 'small' ? 4 : 10;
    log(`setting up ${people} people (identity resolved in DuckDB) and cdp serve on loopback`);
    const fx = await openServerFixture({ people, listen: true });
    try {
      const doc = fx.serve.api!.openapi as { paths: Record<string, unknown> };
      const segmentPaths = ['/segments/{name}/size', '/segments/{name}/preview'].filter((p) => p in doc.paths);
      const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
      const headers = { authorization: `Bearer ${fx.tokens.read}` };
      // Requests rotate over the published endpoints: profile lookup, then segment size and
      // preview (the fixture's `name_one` segment) where the API has them.
      const segmentUrls = segmentPaths.map((p) => `${fx.serve.url}${p.replace('{name}', 'name_one')}${p.endsWith('preview') ? '?limit=10' : ''}`);
      const urlFor = (i: number) => {
        const k = i % (segmentUrls.length + 1);
        return k === 0 ? `${fx.serve.url}/profiles/lookup?type=email&value=person${i}%40example.com` : segmentUrls[k - 1]!;
      };
      const latencies: number[] = [];
      let errors = 0;
      const until = Date.now() + seconds * 1000;
      let n = 0;
      const client = async () => {
        while (Date.now() < until) {
          const i = (n++ * 7919) % people;
          const started = process.hrtime.bigint();
          try {
            const status = await get(urlFor(i), headers, agent);
            if (status !== 200) errors += 1;
          } catch {
            errors += 1;
          }
          latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
        }
      };
      log(`${CLIENTS} clients for ${seconds}s: GET /profiles/lookup${segmentPaths.length ? ` and ${segmentPaths.join(', ')}` : ' (segment size/preview routes not published yet)'}`);
      const started = Date.now();
      await Promise.all(Array.from({ length: CLIENTS }, client));
      const elapsed = (Date.now() - started) / 1000;
      agent.destroy();
      latencies.sort((x, y) => x - y);
      const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
      const requestsPerS = latencies.length / elapsed;
      log(`  ${latencies.length} requests, ${round(requestsPerS, 0)} req/s, p50 ${round(pct(0.5), 2)} ms, p99 ${round(pct(0.99), 2)} ms, errors ${errors}`);

      // Baseline: the lookup's queries in process, same concurrency, no HTTP.
      const runtime = fx.serve.runtime;
      const plan = loadIdentityPlan(runtime.project, runtime.warehouse.dialect, runtime.env);
      const T = identityTables(plan);
      const d = runtime.warehouse.dialect;
      let direct = 0;
      const directUntil = Date.now() + Math.min(seconds, 4) * 1000;
      const directStarted = Date.now();
      await Promise.all(
        Array.from({ length: CLIENTS }, async () => {
          while (Date.now() < directUntil) {
            const i = (direct++ * 7919) % people;
            const [hit] = await runtime.warehouse.query(`SELECT profile_id FROM ${d.qualify(T.graph)} WHERE identifier_type = 'email' AND identifier_value = ${d.literal(`person${i}@example.com`)} LIMIT 1`);
            await Promise.all([
              runtime.warehouse.query(`SELECT * FROM ${d.qualify(T.profiles)} WHERE profile_id = ${d.literal(String(hit?.profile_id))}`),
              runtime.warehouse.query(`SELECT identifier_type, identifier_value FROM ${d.qualify(T.graph)} WHERE profile_id = ${d.literal(String(hit?.profile_id))} ORDER BY 1, 2 LIMIT 200`),
            ]);
          }
        }),
      );
      const directPerS = direct / ((Date.now() - directStarted) / 1000);
      log(`  in process (no HTTP): ${round(directPerS, 0)} lookups/s`);
      return {
        params: { clients: CLIENTS, people, seconds, endpoints: ['profiles/lookup', ...segmentPaths].join(' ') },
        results: { requests_per_s: round(requestsPerS, 1), p50_ms: round(pct(0.5), 2), p99_ms: round(pct(0.99), 2), errors, requests: latencies.length },
        baselines: { in_process_lookups_per_s: round(directPerS, 1) },
        ratios: { vs_in_process: round(requestsPerS / directPerS, 3) },
      };
    } finally {
      await fx.close();
    }
  },
};

/** One GET with a keep-alive agent; resolves with the status once the body is read. */
function get(url: string, headers: Record<string, string>, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
