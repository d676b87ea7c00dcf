/**
 * Secrets at rest: AES-256-GCM envelopes for destination credentials written through the
 * API. The key comes from the environment (the CLI resolves `CDP_SECRET_KEY` and hands the
 * text in; nothing here reads `process.env`). Each envelope names the key it was sealed with
 * (a short fingerprint), so a key rotation can tell old envelopes from new ones and a wrong
 * key is reported as such rather than as corrupt data.
 *
 * Envelope: `v1.<key id>.<iv>.<auth tag>.<ciphertext>` (base64url parts). A fresh random
 * 96-bit IV per envelope, as GCM requires.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { CdpError } from '../errors';

export const SECRET_KEY_ENV = 'CDP_SECRET_KEY';

export interface SecretBox {
  /** Fingerprint of the key (not the key): which key sealed an envelope. */
  readonly keyId: string;
  seal(plain: string): string;
  open(envelope: string): string;
  /** Whether this box's key sealed the envelope. */
  sealedByMe(envelope: string): boolean;
}

const MIN_KEY_CHARS = 32;

export function createSecretBox(keyText: string | undefined, envName = SECRET_KEY_ENV): SecretBox {
  if (!keyText || keyText.length < MIN_KEY_CHARS) {
    throw new CdpError(`${envName} is ${keyText ? 'too short' : 'not set'}: secrets cannot be encrypted at rest`, {
      code: 'SECRET_KEY',
      kind: 'config',
      where: `environment ${envName}`,
      hint: `set ${envName} to at least ${MIN_KEY_CHARS} random characters, e.g. \`openssl rand -base64 32\`; keep it outside the project`,
    });
  }
  // HKDF turns any long random text (base64, hex, passphrase-like) into exactly 32 key bytes.
  const key = Buffer.from(hkdfSync('sha256', Buffer.from(keyText, 'utf8'), Buffer.from('warehouse-cdp'), Buffer.from('secrets aes-256-gcm v1'), 32));
  const keyId = createHash('sha256').update(key).digest('base64url').slice(0, 10);
  return {
    keyId,
    seal(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return ['v1', keyId, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
    },
    open(envelope) {
      const parts = envelope.split('.');
      if (parts.length !== 5 || parts[0] !== 'v1') throw secretError('a stored secret is not a v1 envelope', 'the control database may be damaged');
      const [, sealedBy, iv, tag, ciphertext] = parts as [string, string, string, string, string];
      if (sealedBy !== keyId) {
        throw secretError(`a stored secret was encrypted with another key (${sealedBy}, this key is ${keyId})`, `set ${envName} to the key in use, or rotate with \`cdp keys rotate-secrets --old-key-env NAME\``);
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
      } catch (cause) {
        throw secretError('a stored secret failed its integrity check', 'it was altered or the key is wrong', cause);
      }
    },
    sealedByMe(envelope) {
      return envelope.split('.')[1] === keyId;
    },
  };
}

function secretError(message: string, hint: string, cause?: unknown): CdpError {
  return new CdpError(message, { code: 'SECRET_DECRYPT', kind: 'runtime', where: 'control secrets', hint, cause });
}
