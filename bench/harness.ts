/**
 * The benchmark harness behind `npm run bench -- <case> [--scale small]`. Each case measures
 * its own baseline in the same run, so its figures are ratios that hold on a noisy machine,
 * and writes `bench/results/<case>.json` in the one shape of DESIGN §6.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type Scale = 'small' | 'default';

export interface BenchResult {
  case: string;
  params: Record<string, number | string>;
  results: Record<string, number>;
  baselines: Record<string, number>;
  ratios: Record<string, number>;
}

export interface BenchCase {
  name: string;
  description: string;
  run(scale: Scale, log: (line: string) => void): Promise<Omit<BenchResult, 'case'>>;
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { value, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
}

/** Peak resident memory of this process so far, in MB. */
export function peakRssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

export function round(n: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function writeResult(result: BenchResult, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${result.case}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}

export function formatTable(result: BenchResult): string {
  const rows: [string, string][] = [];
  for (const [section, values] of [['param', result.params], ['result', result.results], ['baseline', result.baselines], ['ratio', result.ratios]] as const) {
    for (const [key, value] of Object.entries(values)) rows.push([`${section}.${key}`, String(value)]);
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n');
}
