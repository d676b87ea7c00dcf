/**
 * Bench `sync`, Klaviyo rate-limit utilisation (issue 8): a real sync (`runSync`, DuckDB
 * warehouse, SQLite control DB) of a list_members audience to the spec-validating Klaviyo
 * fake configured with Klaviyo's documented limits, sized to keep the connector busy for
 * ~`seconds` at its own request budget.
 *
 * utilisation = requests the fake accepted / the most the documented limit admits over the
 * same interval [first accepted, last accepted].
 *
 * Which requests count, and why: ALL of them. An adds-only list_members sync sends
 * `POST /api/profile-bulk-import-jobs` (one per batch), `GET /api/profile-bulk-import-jobs/
 * {job_id}` (job polling) and — only when a job reports failures — `GET …/{id}/import-errors`.
 * The spec (`x-klaviyo-ratelimit`, ../shared/specs/klaviyo/stable.json) puts all three on the
 * same tier, M: burst 10/s, steady 150/min; destinations.md §6 says the limits are per account,
 * with a fixed 1 s burst window and a 1 min steady window, and the fake enforces them as one
 * account-wide pair of windows over every authenticated request. So a poll costs exactly as
 * much as an import: counting only the POSTs would understate what the connector spends.
 * (runSync calls no `check`, so no `GET /api/lists` — a 75/s-tier call — is in the run; the
 * assertion below makes sure no other endpoint slipped in.) Requests the limiter refused (429)
 * are not "accepted"; they are reported separately.
 *
 * The most the limit admits over a span S (the fake's windows slide, so this is exact):
 * min(burst.count × (⌊S / 1 s⌋ + 1), steady.count × (⌊S / 60 s⌋ + 1)) — for S < 60 s the steady
 * window caps it at 150 whatever the burst allows, which is why a run is kept under 150
 * requests when the connector paces at the burst rate (see the README's "Limits").
 */
import { rmSync, writeFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import klaviyo from '../../connectors/klaviyo';
import { openControlDb } from '../../src/control';
import { loadSyncProject, resolveSyncTarget, runSync } from '../../src/sync';
import { connectWarehouse } from '../../src/warehouse';
import { startKlaviyoFake } from '../../test/fakes/klaviyo-fake';
import { createAudience } from './sync-support';

/** Klaviyo's documented M tier (the endpoints above). */
export const KLAVIYO_DOCUMENTED = { burst: { count: 10, perMs: 1_000 }, steady: { count: 150, perMs: 60_000 } } as const;
const COUNTED = new Set(['/api/profile-bulk-import-jobs', '/api/profile-bulk-import-jobs/{job_id}', '/api/profile-bulk-import-jobs/{id}/import-errors']);

export interface KlaviyoRateResult {
  accepted: number;
  tooMany: number;
  allowed: number;
  utilisation: number;
  spanSeconds: number;
  rows: number;
  batchRows: number;
  budget: string;
}

export function maxAdmitted(spanMs: number, limits: typeof KLAVIYO_DOCUMENTED = KLAVIYO_DOCUMENTED): number {
  return Math.min(limits.burst.count * (Math.floor(spanMs / limits.burst.perMs) + 1), limits.steady.count * (Math.floor(spanMs / limits.steady.perMs) + 1));
}

export async function measureKlaviyoRateLimit(dir: string, seconds: number): Promise<KlaviyoRateResult> {
  const fake = await startKlaviyoFake({ ...KLAVIYO_DOCUMENTED, jobDelayMs: 20 });
  // The fake logs each request synchronously on arrival, in the same tick as its limiter
  // stamps it; recording the time of each push gives the arrival times without touching the fake.
  const arrivals: number[] = [];
  const push = fake.requests.push.bind(fake.requests);
  fake.requests.push = (...items) => {
    for (let i = 0; i < items.length; i++) arrivals.push(Date.now());
    return push(...items);
  };
  const warehouse = await connectWarehouse({ type: 'duckdb', path: join(dir, 'klaviyo-bench.duckdb'), schema: 'main' }, { projectDir: dir });
  const control = await openControlDb(`sqlite://${join(dir, 'klaviyo-control.db')}`, dir);
  const projectDir = mkdtempSync(join(tmpdir(), 'cdp-bench-klaviyo-'));
  try {
    // 1,000-row imports instead of the connector's 10,000: the limit counts requests, not rows,
    // and the fake validates every body against the 3 MB spec — smaller bodies keep the fake
    // from being the bottleneck. Each batch costs one import + one poll (the 20 ms job is done
    // by the time the budget lets the poll out). The connector's own budget and concurrency.
    const batchRows = 1000;
    const windows = [klaviyo.limits.requests!].flat();
    // Enough work for the documented limits to keep the connector busy for ~`seconds`:
    // each batch costs two requests (import + poll).
    const batches = Math.max(2, Math.floor(maxAdmitted(seconds * 1000) / 2));
    const rows = batches * batchRows;
    await createAudience(warehouse, 'kl', rows);
    const listId = fake.createList('bench');
    const config = { privateKey: fake.privateKey, baseUrl: fake.url, jobPollMs: 30, jobTimeoutMs: 60_000 };
    mkdirSync(join(projectDir, 'syncs'));
    writeFileSync(join(projectDir, 'destinations.yml'), `kl_bench:\n  type: klaviyo\n  config: ${JSON.stringify(config)}\n  limits: { batch_rows: ${batchRows} }\n`);
    writeFileSync(join(projectDir, 'consent.yml'), 'purposes:\n  email_marketing: { column: consent }\n');
    writeFileSync(
      join(projectDir, 'syncs', 'audience.yml'),
      `source: { table: kl.audience }\ndestination: kl_bench\nobject: list_members\nmode: mirror\nkey: email\n` +
        `mapping: { email: email, first_name: first_name, tier: tier, score: score }\npurpose: email_marketing\n` +
        `object_options: { listId: "${listId}" }\noptions: { max_deletion_share: 1, timeout_ms: 60000, max_attempts: 8 }\n`,
    );
    const sync = loadSyncProject(projectDir, {}).syncs.get('audience')!;
    const target = resolveSyncTarget(sync, { models: new Map(), defaultSchema: 'kl', stateSchema: 'kl_state' });
    const result = await runSync({ warehouse, control, project: 'bench', projectDir }, target, {});
    if (result.status !== 'success') throw new Error(`Klaviyo run ended ${result.status}: ${result.message}`);
    const members = fake.listMembers(listId).length;
    if (members !== rows) throw new Error(`Klaviyo fake holds ${members} list members of ${rows}`);
    if (fake.validationFailures().length > 0) throw new Error(`${fake.validationFailures().length} requests the Klaviyo spec refuses`);

    const log = fake.requests;
    const stray = log.find((r) => !COUNTED.has(r.operation ?? ''));
    if (stray) throw new Error(`unexpected request ${r(stray)} — decide whether the M-tier limit applies to it`);
    const accepted = log.map((req, i) => ({ req, at: arrivals[i]! })).filter(({ req }) => req.fault === undefined);
    const tooMany = log.filter((req) => req.fault === 'rate_limit').length;
    const spanMs = accepted[accepted.length - 1]!.at - accepted[0]!.at;
    const allowed = maxAdmitted(spanMs);
    return { accepted: accepted.length, tooMany, allowed, utilisation: accepted.length / allowed, spanSeconds: spanMs / 1000, rows, batchRows, budget: windows.map((w) => `${w.count} per ${w.perMs} ms`).join(' and ') };
  } finally {
    rmSync(projectDir, { recursive: true, force: true });
    await control.close();
    await warehouse.close();
    await fake.close();
  }
}

function r(req: { method: string; path: string }): string {
  return `${req.method} ${req.path}`;
}
