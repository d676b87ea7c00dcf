/**
 * Writes a throwaway project folder for a test: `cdp.yml` plus model files, in a fresh temp
 * directory that the test removes.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface FixtureProject {
  dir: string;
  write(path: string, text: string): void;
  remove(): void;
}

export function makeProject(files: Record<string, string>): FixtureProject {
  const dir = mkdtempSync(join(tmpdir(), 'cdp-test-'));
  const write = (path: string, text: string) => {
    const file = join(dir, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
  };
  for (const [path, text] of Object.entries(files)) write(path, text);
  return { dir, write, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export const minimalCdpYml = `name: fixture
warehouse: { type: duckdb, path: .cdp/warehouse.duckdb, schema: analytics }
vars: { as_of: '2026-01-01' }
sources:
  raw:
    schema: raw
    tables: [events, contacts]
`;
