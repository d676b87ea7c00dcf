/**
 * The person behind every table: who they are (name, email, phone, user id) and the facts
 * several tables must agree on (when they were first seen, whether and when they registered,
 * which channels they use). Derived only from (seed, person index), so each table can rebuild
 * it on its own instead of holding a million profiles in memory.
 */
import { hex8, Rng, streamKey } from './prng';
import { DAY_MS, Salt, toSecond, type GenContext } from './table';
import { AREA_CODES, EMAIL_DOMAINS, FIRST_NAMES, LAST_NAMES } from './vocab';

const TWO_YEARS_DAYS = 730;
const CURRENCIES = ['USD', 'EUR', 'GBP', 'THB'] as const;
const CURRENCY_WEIGHTS = [78, 11, 7, 4] as const;

/**
 * One person. Strings (email, phone, user id) are built on first use: most tables touch only
 * a few people's strings, and a million people are rebuilt once per table.
 */
export class Person {
  readonly firstName: string;
  readonly lastName: string;
  readonly firstSeenMs: number;
  /** When the account was created; meaningful only when `registered`. */
  readonly registeredMs: number;
  readonly registered: boolean;
  /** Anonymous browsers (cookies); 0 for app-only people. */
  readonly webDevices: number;
  readonly usesApp: boolean;
  readonly buyer: boolean;
  readonly inCrm: boolean;
  readonly b2b: boolean;
  readonly contactsSupport: boolean;
  /** Currency the person pays in. */
  readonly currency: string;

  private readonly emailStyle: number;
  private readonly domain: string;
  private readonly hasPhone: boolean;
  private readonly area: string;
  private cachedEmail: string | null = null;

  /**
   * The draw order is fixed: every draw happens whatever the branch, so a later field never
   * depends on how many draws an earlier outcome took.
   */
  constructor(
    private readonly ctx: GenContext,
    readonly index: number,
    rng: Rng,
  ) {
    rng.forEntity(ctx.seed, Salt.person, index);
    this.firstName = rng.pick(FIRST_NAMES);
    this.lastName = rng.pick(LAST_NAMES);
    this.emailStyle = rng.int(4);
    this.domain = rng.pick(EMAIL_DOMAINS);
    this.hasPhone = rng.chance(0.7);
    this.area = rng.pick(AREA_CODES);
    const daysAgo = 1 + rng.float() * (TWO_YEARS_DAYS - 1);
    this.registered = rng.chance(0.6);
    const registerDelay = rng.float();
    const deviceRoll = rng.float();
    const appRoll = rng.float();
    const buyerRoll = rng.float();
    const crmRoll = rng.float();
    this.b2b = rng.chance(0.18);
    this.contactsSupport = rng.chance(0.08);
    this.currency = rng.weighted(CURRENCIES, CURRENCY_WEIGHTS);

    this.firstSeenMs = toSecond(ctx.asOfMs - daysAgo * DAY_MS);
    // Registration follows the first visit within 45 days, and always before asOf.
    const registerWindow = Math.min(45 * DAY_MS, ctx.asOfMs - this.firstSeenMs - 1000);
    this.registeredMs = toSecond(this.firstSeenMs + registerDelay * registerWindow);
    const devices = deviceRoll < 0.08 ? 0 : deviceRoll < 0.76 ? 1 : deviceRoll < 0.94 ? 2 : 3;
    // Someone with neither a cookie nor the app would leave no trace: give them a browser.
    this.webDevices = this.registered || devices > 0 ? devices : 1;
    this.usesApp = this.registered && (appRoll < 0.45 || devices === 0);
    this.buyer = buyerRoll < (this.registered ? 0.55 : 0.3);
    this.inCrm = this.b2b || crmRoll < 0.35;
  }

  /** The canonical address, lower-case; tables show it in messier forms. */
  get email(): string {
    if (this.cachedEmail === null) {
      const first = this.firstName.toLowerCase();
      const last = this.lastName.toLowerCase();
      const i = this.index;
      // The index makes the address unique: names hold no digits, so the digit tail is the index.
      const local =
        this.emailStyle === 0 ? `${first}.${last}${i}` :
        this.emailStyle === 1 ? `${first}${last}${i}` :
        this.emailStyle === 2 ? `${first[0]}.${last}${i}` :
        `${first}_${i}`;
      this.cachedEmail = `${local}@${this.domain}`;
    }
    return this.cachedEmail;
  }

  /** Ten NANP digits, e.g. '4155550134'; null when the person never gave a phone. */
  get phoneDigits(): string | null {
    return this.hasPhone ? this.area + localPhone(this.index) : null;
  }

  /** Set when the person created an account (app or web). */
  get userId(): string | null {
    return this.registered ? userIdOf(this.ctx, this.index) : null;
  }
}

export function personAt(ctx: GenContext, index: number, rng: Rng): Person {
  return new Person(ctx, index, rng);
}

/**
 * Seven unique digits per person (exchange 200–999 + line): an affine bijection of the
 * index modulo 8,000,000, so phones never collide below 8M people and identity never merges
 * two people by accident.
 */
function localPhone(index: number): string {
  const u = (index * 7_919 + 1_234_567) % 8_000_000;
  return String(2_000_000 + u);
}

export function userIdOf(ctx: GenContext, index: number): string {
  return `usr_${hex8(streamKey(ctx.seed, Salt.userId, index))}`;
}

/** A per-table id key for `index` that is unique (bijective) and looks random. */
export function idKey(ctx: GenContext, salt: number, index: number): number {
  return streamKey(ctx.seed, salt, index);
}

/** E.164 form of ten NANP digits. */
export function e164(digits: string): string {
  return `+1${digits}`;
}
