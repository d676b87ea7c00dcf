/**
 * `cdp keys create|list|revoke` (API tokens) and `cdp keys rotate-secrets` (re-encrypt every
 * stored destination secret from the old key to CDP_SECRET_KEY). Each change is audited with
 * actor `cli`. A token is printed once, at creation.
 */
import { createSecretBox, rotateDestinationSecrets, SECRET_KEY_ENV } from '../scheduler';
import { createToken, listTokens, recordAudit, revokeToken, type Scope } from '../server';
import { configError } from '../errors';
import type { Output } from './output';
import { loadProjectFromCli, openProjectControlDb, type GlobalOptions } from './project-context';

async function withControl<T>(global: GlobalOptions, fn: (db: Awaited<ReturnType<typeof openProjectControlDb>>, project: string) => Promise<T>): Promise<T> {
  const project = loadProjectFromCli(global);
  const db = await openProjectControlDb(project);
  try {
    return await fn(db, project.config.name);
  } finally {
    await db.close();
  }
}

export async function keysCreateCommand(global: GlobalOptions, options: { name: string; scope: Scope }, out: Output): Promise<number> {
  return withControl(global, async (db, project) => {
    const { token, id } = await createToken(db, options.name, options.scope);
    await recordAudit(db, { project, actor: 'cli', action: 'create', targetType: 'token', target: id, after: { name: options.name, scope: options.scope } });
    out.line(`token ${options.name} (${options.scope}) created; it is shown this once:`);
    out.line(token);
    out.result({ id, name: options.name, scope: options.scope, token });
    return 0;
  });
}

export async function keysListCommand(global: GlobalOptions, out: Output): Promise<number> {
  return withControl(global, async (db) => {
    const tokens = await listTokens(db);
    for (const t of tokens) out.line(`${t.id}  ${t.name.padEnd(24)} ${t.scope.padEnd(5)} created ${t.created_at.toISOString()}${t.revoked_at ? `  revoked ${t.revoked_at.toISOString()}` : ''}`);
    if (tokens.length === 0) out.line('no API tokens — cdp keys create --name NAME --scope read|write|admin');
    out.result(tokens);
    return 0;
  });
}

export async function keysRevokeCommand(global: GlobalOptions, idOrName: string, out: Output): Promise<number> {
  return withControl(global, async (db, project) => {
    const revoked = await revokeToken(db, idOrName);
    if (!revoked) throw configError(`token ${idOrName}`, 'no active token with this id or name', 'see `cdp keys list`');
    await recordAudit(db, { project, actor: 'cli', action: 'revoke', targetType: 'token', target: idOrName });
    out.line(`revoked ${revoked} token(s)`);
    out.result({ revoked });
    return 0;
  });
}

export async function keysRotateSecretsCommand(global: GlobalOptions, options: { oldKeyEnv: string }, out: Output): Promise<number> {
  // Checked here for its own wording: the box's "cannot be encrypted" is about the new key.
  if (!process.env[options.oldKeyEnv]) {
    throw configError(`environment ${options.oldKeyEnv}`, 'the old key is not set', `export ${options.oldKeyEnv}=<the key the stored secrets were encrypted with>, then run this again`);
  }
  const oldBox = createSecretBox(process.env[options.oldKeyEnv], options.oldKeyEnv);
  const newBox = createSecretBox(process.env[SECRET_KEY_ENV], SECRET_KEY_ENV);
  return withControl(global, async (db, project) => {
    const result = await rotateDestinationSecrets(db, oldBox, newBox);
    await recordAudit(db, { project, actor: 'cli', action: 'rotate', targetType: 'secret_key', target: newBox.keyId, before: { key: oldBox.keyId }, after: { key: newBox.keyId, ...result } });
    out.line(`re-encrypted ${result.rotated} destination secret(s) with key ${newBox.keyId}; ${result.alreadyCurrent} already on it. Remove ${options.oldKeyEnv} once every process runs with the new ${SECRET_KEY_ENV}.`);
    out.result(result);
    return 0;
  });
}
