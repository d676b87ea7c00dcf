/**
 * Consent records as the preference centre, ESP and SMS gateway log them: one row per
 * change, several per person over time, keyed by whatever subject the system knows (email,
 * phone or user id). The latest record per subject and channel wins; withdrawals come after
 * grants, some people grant again, and a few withdraw without a recorded grant (imported
 * unsubscribe lists).
 */
import type { Column, Row } from '../../../src/warehouse';
import { Rng } from './prng';
import { e164, personAt } from './person';
import { emailVariant } from './messy';
import { DAY_MS, Salt, streamEntities, toSecond, type DemoTable, type GenContext } from './table';

export const consentColumns: Column[] = [
  { name: 'subject_type', type: 'string' },
  { name: 'subject_value', type: 'string' },
  { name: 'channel', type: 'string' },
  { name: 'status', type: 'string' },
  { name: 'recorded_at', type: 'timestamp' },
];

type SubjectType = 'email' | 'phone' | 'user_id';
type Channel = 'email' | 'sms' | 'push' | 'ads';

interface ConsentHistory {
  subjectType: SubjectType;
  channel: Channel;
  grantP: number;
  withdrawP: number;
}

const HISTORIES: readonly ConsentHistory[] = [
  { subjectType: 'email', channel: 'email', grantP: 0.55, withdrawP: 0.2 },
  { subjectType: 'email', channel: 'ads', grantP: 0.3, withdrawP: 0.1 },
  { subjectType: 'phone', channel: 'sms', grantP: 0.3, withdrawP: 0.15 },
  { subjectType: 'user_id', channel: 'push', grantP: 0.5, withdrawP: 0.2 },
];

export function consentsTable(ctx: GenContext): DemoTable {
  const personRng = new Rng();
  const rng = new Rng();
  return {
    name: 'consents',
    columns: consentColumns,
    rows: () =>
      streamEntities(ctx.people, ctx.batchRows, (index, out) => {
        const p = personAt(ctx, index, personRng);
        rng.forEntity(ctx.seed, Salt.consents, index);
        for (const h of HISTORIES) {
          const subject =
            h.subjectType === 'email' ? p.email :
            h.subjectType === 'phone' ? phoneOf(p.phoneDigits) :
            p.userId;
          // Draw every roll whatever the subject, so one history never shifts the next.
          const grantRoll = rng.float();
          const orphanRoll = rng.float();
          if (subject === null) continue;
          const from = h.subjectType === 'user_id' ? p.registeredMs : p.firstSeenMs;
          if (grantRoll < h.grantP) {
            emitHistory(ctx, h, subject, from, rng, out);
          } else if (orphanRoll < 0.02) {
            out.push(record(h, subject, 'withdrawn', toSecond(from + rng.float() * (ctx.asOfMs - from))));
          }
        }
      }),
  };
}

/** grant → maybe withdraw → maybe grant again, each at least a day after the previous one. */
function emitHistory(ctx: GenContext, h: ConsentHistory, subject: string, from: number, rng: Rng, out: Row[]): void {
  let t = from;
  const steps: ('granted' | 'withdrawn')[] = ['granted'];
  if (rng.chance(h.withdrawP)) {
    steps.push('withdrawn');
    if (rng.chance(0.3)) steps.push('granted');
  }
  for (const status of steps) {
    if (t >= ctx.asOfMs) return;
    // Email-side systems write the address as the user typed it; normalising is the model's job.
    const value = h.subjectType === 'email' && rng.chance(0.15) ? emailVariant(subject, rng) : subject;
    out.push(record(h, value, status, t));
    t = toSecond(t + DAY_MS + rng.float() * 200 * DAY_MS);
  }
}

function phoneOf(digits: string | null): string | null {
  return digits === null ? null : e164(digits);
}

function record(h: ConsentHistory, subject: string, status: 'granted' | 'withdrawn', ms: number): Row {
  return { subject_type: h.subjectType, subject_value: subject, channel: h.channel, status, recorded_at: new Date(ms) };
}
