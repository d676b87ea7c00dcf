/**
 * Seeded randomness for the demo generator. Every person (and every company) gets its own
 * small generator seeded from (seed, table salt, index), so any table can be produced alone,
 * in any order, and the same seed always gives byte-identical data. Never uses Math.random
 * or the wall clock.
 */

/** MurmurHash3's 32-bit finaliser: a bijection on uint32, so distinct inputs stay distinct. */
export function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A 32-bit key for (seed, salt, index). Bijective in `index` for a fixed seed and salt, so two
 * people never share a stream and ids built from it never collide.
 */
export function streamKey(seed: number, salt: number, index: number): number {
  const base = fmix32((seed >>> 0) ^ Math.imul(salt + 1, 0x9e3779b1));
  return fmix32(base ^ (index >>> 0));
}

/**
 * xoshiro128** — fast, 128-bit state, so per-person streams do not overlap the way
 * counter-style generators (mulberry32) do at a million people. Reseeded in place to avoid
 * allocating one generator per person.
 */
export class Rng {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;

  constructor(seed = 0) {
    this.reseed(seed);
  }

  /** Spreads a 32-bit key over the four state words (splitmix-style); never all zero. */
  reseed(key: number): this {
    let s = key >>> 0;
    s = (s + 0x9e3779b9) >>> 0;
    this.a = fmix32(s);
    s = (s + 0x9e3779b9) >>> 0;
    this.b = fmix32(s);
    s = (s + 0x9e3779b9) >>> 0;
    this.c = fmix32(s);
    s = (s + 0x9e3779b9) >>> 0;
    this.d = fmix32(s) | 1;
    return this;
  }

  /** Reseeds for one entity of one table. */
  forEntity(seed: number, salt: number, index: number): this {
    return this.reseed(streamKey(seed, salt, index));
  }

  /** Next uint32. */
  next(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.next() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Uniform integer in [lo, hi]. */
  between(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.float() * items.length)];
  }

  /** Picks by weight; `weights` must be the same length as `items` and sum to > 0. */
  weighted<T>(items: readonly T[], weights: readonly number[]): T {
    let total = 0;
    for (const w of weights) total += w;
    let r = this.float() * total;
    for (let i = 0; i < items.length; i++) {
      r -= weights[i];
      if (r < 0) return items[i];
    }
    return items[items.length - 1];
  }

  /** Standard normal (Box–Muller; one value per call keeps the stream simple). */
  normal(): number {
    const u = 1 - this.float();
    const v = this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function hex8(n: number): string {
  return HEX[(n >>> 24) & 255] + HEX[(n >>> 16) & 255] + HEX[(n >>> 8) & 255] + HEX[n & 255];
}

const HEX_CODES = new Uint8Array(16).map((_, i) => '0123456789abcdef'.charCodeAt(i));
/** Scratch space: building ids in bytes gives flat strings (a `+` chain leaves a tree of pieces for GC). */
const UUID_BYTES = Buffer.alloc(36);

function putHex(pos: number, value: number, digits: number): void {
  let n = value >>> 0;
  for (let k = digits - 1; k >= 0; k--) {
    UUID_BYTES[pos + k] = HEX_CODES[n & 15];
    n >>>= 4;
  }
}

/**
 * A v4-looking UUID that is unique by construction: (owner key, counter < 65,536) goes
 * through a two-round Feistel mix into the first 48 bits, which is invertible, so distinct
 * pairs never collide; the rest is noise. The mix keeps one person's ids from sharing a prefix.
 */
export function uniqueUuid(ownerKey: number, counter: number, rng: Rng): string {
  const r1 = rng.next();
  const r2 = rng.next();
  const c = counter & 0xffff;
  const high = (ownerKey ^ fmix32(Math.imul(c, 0x9e3779b1) + 0x7f4a7c15)) >>> 0;
  const low = (c ^ fmix32(high)) & 0xffff;
  putHex(0, high, 8);
  UUID_BYTES[8] = 0x2d; // '-'
  putHex(9, low, 4);
  UUID_BYTES[13] = 0x2d;
  UUID_BYTES[14] = 0x34; // version 4
  putHex(15, r1 & 0xfff, 3);
  UUID_BYTES[18] = 0x2d;
  UUID_BYTES[19] = HEX_CODES[8 | ((r1 >>> 12) & 3)]; // RFC 4122 variant
  putHex(20, r1 >>> 14, 3);
  UUID_BYTES[23] = 0x2d;
  putHex(24, r2, 8);
  putHex(32, r1 >>> 17, 4);
  return UUID_BYTES.toString('latin1', 0, 36);
}
