/**
 * What an ad-audience connector remembers about a member it added: the identifiers exactly
 * as it sent them (already hashed where the platform wants hashes), packed into the row's
 * `externalId`. Why: the engine sends a removal with only the key and the stored external
 * id (the mapped fields are gone once a person leaves the audience), and the platforms
 * remove by the same hashed identifiers that were added. Invariant: a token holds only what
 * was sent to the platform — hashes and the ids the platform takes in clear — never a raw
 * email or phone.
 */
export function encodeMemberToken(platform: string, values: Record<string, string>): string {
  const parts = Object.entries(values).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  return [`${platform}1`, ...parts].join('|');
}

/** The identifiers of a token written by `encodeMemberToken` for this platform, else undefined. */
export function decodeMemberToken(platform: string, token: string | undefined): Record<string, string> | undefined {
  if (!token) return undefined;
  const [head, ...parts] = token.split('|');
  if (head !== `${platform}1`) return undefined;
  const values: Record<string, string> = {};
  for (const part of parts) {
    const at = part.indexOf('=');
    if (at <= 0) return undefined;
    values[decodeURIComponent(part.slice(0, at))] = decodeURIComponent(part.slice(at + 1));
  }
  return values;
}
