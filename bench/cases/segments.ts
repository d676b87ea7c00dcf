/**
 * Bench `segments`: the live size of a three-condition rule segment on DuckDB — 1M profiles
 * and 10M events (small: 20k and 200k), generated in SQL:
 *   revenue_usd ≥ 100  AND  added to cart at least twice in the last 30 days (events mapped
 *   to profiles through identity_graph)  AND  last_order_at within the last 180 days.
 *  - results.size_seconds: `segmentSize` (one statement with the count after each condition
 *    group), median of 3 after a warm-up;
 *  - baselines.hand_sql_seconds: a hand-written COUNT of the same audience, same engine,
 *    same run — the floor the compiled SQL is held to;
 *  - results.materialize_seconds: building the membership table and history (first run).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProject } from '../../src/project';
import { loadSegmentsPlan, runSegments, segmentSize } from '../../src/segments';
import { connectWarehouse, type Warehouse } from '../../src/warehouse';
import { peakRssMb, round, timed, type BenchCase } from '../harness';

const AS_OF = '2026-11-01';

async function generate(w: Warehouse, profiles: number, events: number): Promise<void> {
  await w.execute('CREATE SCHEMA IF NOT EXISTS analytics');
  // Deterministic pseudo-random columns from the row number (hash), so runs are comparable.
  await w.execute(`CREATE OR REPLACE TABLE analytics.profiles AS
    SELECT 'p_' || i AS profile_id,
      CAST(hash(i, 1) % 20 AS BIGINT) AS orders_count,
      CAST(hash(i, 2) % 100000 AS DOUBLE) / 100 AS revenue_usd,
      TIMESTAMP '${AS_OF}' - INTERVAL (CAST(hash(i, 3) % 720 AS INTEGER)) DAY AS last_order_at,
      CAST(NULL AS VARCHAR) AS current_account_id
    FROM range(${profiles}) AS t(i)`);
  await w.execute(`CREATE OR REPLACE TABLE analytics.identity_graph AS
    SELECT 'user_id' AS identifier_type, 'u' || i AS identifier_value, 'p_' || i AS profile_id FROM range(${profiles}) AS t(i)`);
  await w.execute(`CREATE OR REPLACE TABLE analytics.events AS
    SELECT 'u' || CAST(hash(i, 4) % ${profiles} AS BIGINT) AS user_id,
      ['page_view', 'product_view', 'add_to_cart', 'checkout', 'login'][1 + CAST(hash(i, 5) % 5 AS INTEGER)] AS event_type,
      TIMESTAMP '${AS_OF}' - INTERVAL (CAST(hash(i, 6) % 525600 AS INTEGER)) MINUTE AS occurred_at
    FROM range(${events}) AS t(i)`);
}

const handSql = `SELECT COUNT(*) AS n
FROM analytics.profiles AS p
JOIN (
  SELECT g.profile_id
  FROM analytics.events AS e JOIN analytics.identity_graph AS g ON g.identifier_type = 'user_id' AND g.identifier_value = e.user_id
  WHERE e.event_type = 'add_to_cart' AND e.occurred_at >= TIMESTAMP '${AS_OF}' - INTERVAL 30 DAY
  GROUP BY g.profile_id HAVING COUNT(*) >= 2
) AS c ON c.profile_id = p.profile_id
WHERE p.revenue_usd >= 100 AND p.last_order_at >= TIMESTAMP '${AS_OF}' - INTERVAL 180 DAY`;

function writeProject(dir: string): void {
  const files: Record<string, string> = {
    'cdp.yml': `name: bench_segments\nwarehouse: { type: duckdb, path: bench.duckdb, schema: analytics }\nsources:\n  raw: { schema: analytics, tables: [events] }\n`,
    'identity.yml': 'identifiers:\n  user_id: {}\nsources:\n  - { name: ev, source: raw.events, identifiers: { user_id: user_id } }\n',
    'segments.yml': `as_of: '${AS_OF}'\nevents:\n  web: { source: raw.events, identifier: { type: user_id, column: user_id }, event: event_type, timestamp: occurred_at }\n`,
    'segments/engaged_buyers.yml':
      'rules:\n  all:\n    - { trait: revenue_usd, op: gte, value: 100 }\n    - { event: add_to_cart, times: { at_least: 2 }, within: { last: 30, unit: day } }\n    - { trait: last_order_at, op: within_last, value: 180, unit: day }\n',
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
}

async function median3(fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < 3; i++) times.push((await timed(fn)).seconds);
  return times.sort((a, b) => a - b)[1]!;
}

export const segmentsCase: BenchCase = {
  name: 'segments',
  description: 'live size of a 3-condition rule segment on DuckDB (1M profiles, 10M events; small: 20k/200k)',
  async run(scale, log) {
    const profiles = scale === 'small' ? 20_000 : 1_000_000;
    const events = profiles * 10;
    const dir = mkdtempSync(join(tmpdir(), 'cdp-bench-segments-'));
    try {
      writeProject(dir);
      const project = loadProject(dir, {});
      const warehouse = await connectWarehouse(project.config.warehouse, { projectDir: dir });
      try {
        log(`generating ${profiles} profiles and ${events} events in SQL`);
        const gen = await timed(() => generate(warehouse, profiles, events));
        log(`generated in ${round(gen.seconds, 1)} s`);
        const plan = await loadSegmentsPlan(project, warehouse, {});
        const size = await segmentSize(warehouse, plan, 'engaged_buyers');
        const [hand] = await warehouse.query(handSql);
        if (Number(hand?.n) !== size.size) throw new Error(`size ${size.size} differs from the hand-written count ${String(hand?.n)}`);
        log(`size ${size.size}; steps ${size.steps.map((s) => s.count).join(' → ')}`);
        const sizeSeconds = await median3(() => segmentSize(warehouse, plan, 'engaged_buyers'));
        const handSeconds = await median3(() => warehouse.query(handSql));
        const materialize = await timed(() => runSegments(warehouse, plan, { at: new Date(`${AS_OF}T00:00:00Z`) }));
        return {
          params: { profiles, events, conditions: 3 },
          results: { size_seconds: round(sizeSeconds), size: size.size, materialize_seconds: round(materialize.seconds), generate_seconds: round(gen.seconds, 1), peak_rss_mb: peakRssMb() },
          baselines: { hand_sql_seconds: round(handSeconds) },
          ratios: { vs_hand_sql: round(sizeSeconds / handSeconds, 2) },
        };
      } finally {
        await warehouse.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
