/**
 * Transactions and service: orders (guest checkouts without a user id, emails typed at
 * checkout, refunds and cancellations, several currencies) and support_tickets.
 */
import type { Column } from '../../../src/warehouse';
import { fmix32, Rng } from './prng';
import { idKey, personAt } from './person';
import { emailVariant } from './messy';
import { DAY_MS, Salt, streamEntities, toSecond, type DemoTable, type GenContext } from './table';
import { TICKET_SUBJECTS } from './vocab';

export const orderColumns: Column[] = [
  { name: 'order_id', type: 'string' },
  { name: 'user_id', type: 'string' },
  { name: 'email', type: 'string' },
  { name: 'amount', type: 'float' },
  { name: 'currency', type: 'string' },
  { name: 'status', type: 'string' },
  { name: 'ordered_at', type: 'timestamp' },
];

const ORDER_STATUSES = ['completed', 'refunded', 'cancelled'] as const;
const ORDER_STATUS_WEIGHTS = [88, 7, 5] as const;
/** Rough price level per currency, so THB baskets look like THB. */
const PRICE_FACTOR: Readonly<Record<string, number>> = { USD: 1, EUR: 0.92, GBP: 0.79, THB: 35 };

export function ordersTable(ctx: GenContext): DemoTable {
  const personRng = new Rng();
  const rng = new Rng();
  return {
    name: 'orders',
    columns: orderColumns,
    rows: () =>
      streamEntities(ctx.people, ctx.batchRows, (index, out) => {
        const p = personAt(ctx, index, personRng);
        if (!p.buyer) return;
        rng.forEntity(ctx.seed, Salt.orders, index);
        // 1 + geometric: most buy once, a loyal tail buys often (mean ≈ 1.7).
        let count = 1;
        while (count < 15 && rng.chance(0.42)) count++;
        for (let k = 0; k < count; k++) {
          const orderedMs = toSecond(p.firstSeenMs + rng.float() * (ctx.asOfMs - p.firstSeenMs));
          const loggedIn = p.registered && orderedMs >= p.registeredMs && rng.chance(0.85);
          const emailRoll = rng.float();
          // Marketplace orders arrive without an email; checkout emails are typed by hand.
          const email = loggedIn && emailRoll < 0.02 ? null : emailRoll < 0.15 ? emailVariant(p.email, rng) : p.email;
          const basket = Math.exp(3.9 + 0.75 * rng.normal()) * (PRICE_FACTOR[p.currency] ?? 1);
          const lowerCurrency = rng.chance(0.02);
          out.push({
            order_id: `ORD-${fmix32(idKey(ctx, Salt.orderId, index * 16 + k)).toString().padStart(10, '0')}`,
            user_id: loggedIn ? p.userId : null,
            email,
            // Whole cents, so every warehouse stores and sums the same value.
            amount: Math.max(100, Math.round(basket * 100)) / 100,
            currency: lowerCurrency ? p.currency.toLowerCase() : p.currency,
            status: rng.weighted(ORDER_STATUSES, ORDER_STATUS_WEIGHTS),
            ordered_at: new Date(orderedMs),
          });
        }
      }),
  };
}

export const ticketColumns: Column[] = [
  { name: 'ticket_id', type: 'string' },
  { name: 'email', type: 'string' },
  { name: 'subject', type: 'string' },
  { name: 'priority', type: 'string' },
  { name: 'status', type: 'string' },
  { name: 'created_at', type: 'timestamp' },
];

const PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;
const PRIORITY_WEIGHTS = [25, 55, 15, 5] as const;

export function supportTicketsTable(ctx: GenContext): DemoTable {
  const personRng = new Rng();
  const rng = new Rng();
  return {
    name: 'support_tickets',
    columns: ticketColumns,
    rows: () =>
      streamEntities(ctx.people, ctx.batchRows, (index, out) => {
        const p = personAt(ctx, index, personRng);
        if (!p.contactsSupport) return;
        rng.forEntity(ctx.seed, Salt.tickets, index);
        const countRoll = rng.float();
        const count = countRoll < 0.7 ? 1 : countRoll < 0.9 ? 2 : 3;
        for (let k = 0; k < count; k++) {
          const createdMs = toSecond(p.firstSeenMs + rng.float() * (ctx.asOfMs - p.firstSeenMs));
          const recent = ctx.asOfMs - createdMs < 7 * DAY_MS;
          const statusRoll = rng.float();
          // Recent tickets are still open; old ones are mostly closed.
          const status = recent
            ? statusRoll < 0.5 ? 'open' : statusRoll < 0.8 ? 'pending' : 'solved'
            : statusRoll < 0.03 ? 'open' : statusRoll < 0.06 ? 'pending' : statusRoll < 0.4 ? 'solved' : 'closed';
          out.push({
            ticket_id: `T-${fmix32(idKey(ctx, Salt.ticketId, index * 4 + k)).toString().padStart(10, '0')}`,
            email: rng.chance(0.3) ? emailVariant(p.email, rng) : p.email,
            subject: rng.pick(TICKET_SUBJECTS),
            priority: rng.weighted(PRIORITIES, PRIORITY_WEIGHTS),
            status,
            created_at: new Date(createdMs),
          });
        }
      }),
  };
}
