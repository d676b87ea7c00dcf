/**
 * `npm run bench -- <case> [--scale small]`. Never part of `npm test`: timings are
 * measurements, not assertions. With no case it lists the cases; `all` runs each.
 */
import { join } from 'node:path';
import { formatTable, writeResult, type BenchCase, type Scale } from './harness';
import { modelsCase } from './cases/models';
import { identityCase } from './cases/identity';
import { syncCase } from './cases/sync';
import { apiCase } from './cases/api';
import { segmentsCase } from './cases/segments';

const cases: BenchCase[] = [modelsCase, identityCase, syncCase, apiCase, segmentsCase];

async function main(argv: string[]): Promise<number> {
  const scaleIndex = argv.indexOf('--scale');
  const scale: Scale = scaleIndex >= 0 && argv[scaleIndex + 1] === 'small' ? 'small' : 'default';
  const names = argv.filter((a, i) => !a.startsWith('--') && argv[i - 1] !== '--scale');
  if (names.length === 0) {
    process.stdout.write(`usage: npm run bench -- <case|all> [--scale small]\ncases:\n${cases.map((c) => `  ${c.name.padEnd(10)} ${c.description}`).join('\n')}\n`);
    return 2;
  }
  const selected = names.includes('all') ? cases : names.map((n) => cases.find((c) => c.name === n));
  if (selected.some((c) => !c)) {
    process.stderr.write(`error: unknown bench case in ${names.join(', ')} — cases are ${cases.map((c) => c.name).join(', ')}\n`);
    return 2;
  }
  for (const benchCase of selected as BenchCase[]) {
    process.stdout.write(`== ${benchCase.name} (scale ${scale})\n`);
    const measured = await benchCase.run(scale, (line) => process.stdout.write(`  ${line}\n`));
    const result = { case: benchCase.name, ...measured };
    const file = writeResult(result, join(__dirname, 'results'));
    process.stdout.write(`${formatTable(result)}\n  → ${file}\n`);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
