/**
 * `cdp keys rotate-secrets` as an operator runs it (real process, real SQLite control DB):
 * destinations written through the API are sealed with key A; after the rotation to key B the
 * runtime reads every secret with only key B, key A no longer opens them, a second rotation
 * finds nothing to do, and the command's line reports the counts. A rotation that meets an
 * envelope the old key cannot open changes nothing (one transaction). No key or secret is
 * printed.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { openControlDb } from '../../src/control';
import { CdpRuntime, createSecretBox } from '../../src/scheduler';
import { makeProject, type FixtureProject } from '../helpers/project-fixture';

const bin = join(__dirname, '..', '..', 'bin', 'cdp.js');
const KEY_A = 'key-A-0123456789abcdefghijklmnopqrstuvwxyz';
const KEY_B = 'key-B-zyxwvutsrqponmlkjihgfedcba9876543210';
const KEY_C = 'key-C-a-third-key-nobody-rotates-from-000000';
const HUBSPOT_TOKEN = 'hubspot-token-ROTATED-never-printed-123456';
const HOOK_HEADER = 'Bearer hook-header-ROTATED-never-printed-654321';

function cdp(args: string[], cwd: string, env: Record<string, string>) {
  const result = spawnSync(process.execPath, [bin, ...args], { cwd, env: { ...process.env, CDP_SECRET_KEY: '', CDP_DEBUG: '', ...env }, encoding: 'utf8', timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

async function withRuntime<T>(dir: string, key: string, fn: (runtime: CdpRuntime) => Promise<T>): Promise<T> {
  const runtime = await CdpRuntime.open({ projectDir: dir, env: {}, secretKey: key });
  try {
    return await fn(runtime);
  } finally {
    await runtime.close();
  }
}

async function envelopes(dir: string): Promise<Record<string, string | null>> {
  const db = await openControlDb('sqlite://.cdp/control.db', dir);
  try {
    const rows = (await db.knex('cdp_destinations').select('name', 'secrets').orderBy('name')) as { name: string; secrets: string | null }[];
    return Object.fromEntries(rows.map((r) => [r.name, r.secrets]));
  } finally {
    await db.close();
  }
}

describe('cdp keys rotate-secrets', () => {
  let project: FixtureProject;
  const idA = createSecretBox(KEY_A).keyId;
  const idB = createSecretBox(KEY_B).keyId;

  beforeAll(async () => {
    project = makeProject({ 'cdp.yml': 'name: rotate_test\nwarehouse: { type: duckdb, path: .cdp/warehouse.duckdb, schema: analytics }\n' });
    await withRuntime(project.dir, KEY_A, async (runtime) => {
      await runtime.destinations.save({ name: 'crm', type: 'hubspot', config: { accessToken: HUBSPOT_TOKEN, baseUrl: 'http://127.0.0.1:9/hubspot' } });
      await runtime.destinations.save({ name: 'hook', type: 'webhook', config: { url: 'http://127.0.0.1:9/hook', headers: { authorization: HOOK_HEADER } } });
      // No secret at all: nothing to re-encrypt.
      await runtime.destinations.save({ name: 'plain', type: 'webhook', config: { url: 'http://127.0.0.1:9/plain' } });
    });
  });
  afterAll(() => project?.remove());

  test('re-encrypts every secret with the new key; only the new key reads them; the line reports counts', async () => {
    const before = await envelopes(project.dir);
    expect(before.crm).toMatch(new RegExp(`^v1\\.${idA}\\.`));
    expect(before.plain).toBeNull();

    const rotated = cdp(['keys', 'rotate-secrets', '--old-key-env', 'CDP_OLD_KEY'], project.dir, { CDP_SECRET_KEY: KEY_B, CDP_OLD_KEY: KEY_A });
    expect(rotated.stderr).toBe('');
    expect(rotated.code).toBe(0);
    expect(rotated.stdout.trim()).toBe(`re-encrypted 2 destination secret(s) with key ${idB}; 0 already on it. Remove CDP_OLD_KEY once every process runs with the new CDP_SECRET_KEY.`);

    const after = await envelopes(project.dir);
    expect(after.crm).toMatch(new RegExp(`^v1\\.${idB}\\.`));
    expect(after.hook).toMatch(new RegExp(`^v1\\.${idB}\\.`));
    expect(after.crm).not.toBe(before.crm);
    expect(after.plain).toBeNull();

    // The runtime with only key B: every secret as it was written.
    await withRuntime(project.dir, KEY_B, async (runtime) => {
      const loaded = await runtime.destinations.loadAll();
      expect((loaded.get('crm')!.config as { accessToken: string }).accessToken).toBe(HUBSPOT_TOKEN);
      expect((loaded.get('hook')!.config as { headers: Record<string, string> }).headers).toEqual({ authorization: HOOK_HEADER });
      expect(loaded.get('plain')!.config).toMatchObject({ url: 'http://127.0.0.1:9/plain' });
    });
    // Key A no longer opens them, and says why.
    await withRuntime(project.dir, KEY_A, async (runtime) => {
      await expect(runtime.destinations.loadAll()).rejects.toThrow(`a stored secret was encrypted with another key (${idB}, this key is ${idA})`);
    });

    // Again: nothing left on the old key.
    const again = cdp(['keys', 'rotate-secrets', '--old-key-env', 'CDP_OLD_KEY'], project.dir, { CDP_SECRET_KEY: KEY_B, CDP_OLD_KEY: KEY_A });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^re-encrypted 0 destination secret\(s\) with key \S+; 2 already on it\./);
    expect(await envelopes(project.dir)).toEqual(after);

    // Audited as the CLI, with key ids only.
    const db = await openControlDb('sqlite://.cdp/control.db', project.dir);
    const audit = (await db.knex('cdp_audit').where({ action: 'rotate' }).orderBy('id')) as { actor: string; target: string; before: string; after: string }[];
    await db.close();
    expect(audit).toHaveLength(2);
    expect(audit[0]).toMatchObject({ actor: 'cli', target: idB });
    expect(JSON.parse(audit[0]!.before)).toEqual({ key: idA });
    expect(JSON.parse(audit[0]!.after)).toEqual({ key: idB, rotated: 2, alreadyCurrent: 0 });

    const printed = [rotated.stdout, rotated.stderr, again.stdout, again.stderr, JSON.stringify(audit)].join('\n');
    for (const secret of [KEY_A, KEY_B, HUBSPOT_TOKEN, HOOK_HEADER]) expect(printed).not.toContain(secret);
  });

  test('an envelope the old key cannot open stops the rotation and changes nothing', async () => {
    // One destination sealed with yet another key, next to the ones on key B.
    await withRuntime(project.dir, KEY_C, async (runtime) => {
      await runtime.destinations.save({ name: 'other', type: 'hubspot', config: { accessToken: HUBSPOT_TOKEN } });
    });
    const before = await envelopes(project.dir);
    // From C to A: `other` would rotate, crm and hook (on B) cannot be opened with C.
    const failed = cdp(['keys', 'rotate-secrets', '--old-key-env', 'CDP_OLD_KEY'], project.dir, { CDP_SECRET_KEY: KEY_A, CDP_OLD_KEY: KEY_C });
    expect(failed.code).not.toBe(0);
    const lines = failed.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/a stored secret was encrypted with another key/);
    expect(failed.stderr).not.toMatch(/\n\s+at /);
    expect(await envelopes(project.dir)).toEqual(before);

    const missing = cdp(['keys', 'rotate-secrets', '--old-key-env', 'CDP_NO_SUCH_KEY'], project.dir, { CDP_SECRET_KEY: KEY_B });
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toBe('error: environment CDP_NO_SUCH_KEY: the old key is not set — export CDP_NO_SUCH_KEY=<the key the stored secrets were encrypted with>, then run this again');
  });
});
