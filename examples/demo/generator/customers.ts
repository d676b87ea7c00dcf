/**
 * Known-customer tables: app_users (the account database: fairly clean, the app validates
 * input) and crm_contacts (the sales CRM: duplicates, email case/whitespace variants, phones
 * in every format, placeholder junk, missing fields).
 */
import type { Column } from '../../../src/warehouse';
import { fmix32, Rng } from './prng';
import { careerOf, companyAt, companyOn } from './companies';
import { e164, idKey, personAt } from './person';
import { emailVariant, JUNK_EMAILS, JUNK_PHONES, nameVariant, phoneFormat } from './messy';
import { DAY_MS, Salt, streamEntities, toSecond, type DemoTable, type GenContext } from './table';

export const appUserColumns: Column[] = [
  { name: 'user_id', type: 'string' },
  { name: 'email', type: 'string' },
  { name: 'phone', type: 'string' },
  { name: 'first_name', type: 'string' },
  { name: 'last_name', type: 'string' },
  { name: 'created_at', type: 'timestamp' },
];

export function appUsersTable(ctx: GenContext): DemoTable {
  const personRng = new Rng();
  const rng = new Rng();
  return {
    name: 'app_users',
    columns: appUserColumns,
    rows: () =>
      streamEntities(ctx.people, ctx.batchRows, (index, out) => {
        const p = personAt(ctx, index, personRng);
        if (!p.registered) return;
        rng.forEntity(ctx.seed, Salt.appUser, index);
        const phoneDigits = p.phoneDigits;
        const mixedCase = rng.chance(0.1);
        const givesPhone = phoneDigits !== null && rng.chance(0.7);
        const firstMissing = rng.chance(0.03);
        const lastMissing = rng.chance(0.08);
        out.push({
          user_id: p.userId,
          // The app trims input but keeps the case the user typed.
          email: mixedCase ? emailVariant(p.email, rng).trim() : p.email,
          phone: givesPhone && phoneDigits !== null ? e164(phoneDigits) : null,
          first_name: firstMissing ? null : p.firstName,
          last_name: lastMissing ? null : p.lastName,
          created_at: new Date(p.registeredMs),
        });
      }),
  };
}

export const crmContactColumns: Column[] = [
  { name: 'contact_id', type: 'string' },
  { name: 'email', type: 'string' },
  { name: 'phone', type: 'string' },
  { name: 'first_name', type: 'string' },
  { name: 'last_name', type: 'string' },
  { name: 'company_name', type: 'string' },
  { name: 'updated_at', type: 'timestamp' },
];

/** Ten-digit CRM ids; `slot` < 8 per person keeps (index, slot) → id injective, so ids never collide. */
function contactId(ctx: GenContext, index: number, slot: number): string {
  return `C${fmix32(idKey(ctx, Salt.contactId, index * 8 + slot)).toString().padStart(10, '0')}`;
}

export function crmContactsTable(ctx: GenContext): DemoTable {
  const personRng = new Rng();
  const careerRng = new Rng();
  const rng = new Rng();
  return {
    name: 'crm_contacts',
    columns: crmContactColumns,
    rows: () =>
      streamEntities(ctx.people, ctx.batchRows, (index, out) => {
        const p = personAt(ctx, index, personRng);
        rng.forEntity(ctx.seed, Salt.crm, index);
        // A rep's placeholder record that belongs to nobody: test@test.com, 'N/A', '0000000000'.
        if (rng.chance(0.015)) {
          const junkNames = rng.chance(0.5);
          out.push({
            contact_id: contactId(ctx, index, 7),
            email: rng.pick(JUNK_EMAILS),
            phone: rng.chance(0.6) ? rng.pick(JUNK_PHONES) : null,
            first_name: junkNames ? 'Test' : null,
            last_name: junkNames ? 'Test' : null,
            company_name: null,
            updated_at: new Date(toSecond(ctx.asOfMs - (1 + rng.float() * 700) * DAY_MS)),
          });
        }
        if (!p.inCrm) return;
        const phoneDigits = p.phoneDigits;
        const career = p.b2b ? careerOf(ctx, index, careerRng) : null;
        const dupRoll = rng.float();
        const copies = dupRoll < 0.85 ? 1 : dupRoll < 0.97 ? 2 : 3;
        // Sales knew some people before they ever visited the shop.
        const from = p.firstSeenMs - 180 * DAY_MS;
        for (let c = 0; c < copies; c++) {
          const updatedMs = toSecond(from + rng.float() * (ctx.asOfMs - from));
          const emailRoll = rng.float();
          // Duplicates are re-keyed by hand, so they always differ from the clean form.
          const email =
            emailRoll < 0.04 ? null :
            emailRoll < 0.07 ? rng.pick(JUNK_EMAILS) :
            c === 0 && emailRoll < 0.6 ? p.email :
            emailVariant(p.email, rng);
          const phoneRoll = rng.float();
          const phone =
            phoneDigits === null ? (phoneRoll < 0.05 ? rng.pick(JUNK_PHONES) : null) :
            phoneRoll < 0.1 ? null :
            phoneRoll < 0.14 ? rng.pick(JUNK_PHONES) :
            phoneFormat(phoneDigits, rng);
          const firstName = rng.chance(0.02) ? null : nameVariant(p.firstName, rng);
          const lastName = rng.chance(0.05) ? null : nameVariant(p.lastName, rng);
          const companyIndex = career === null ? null : companyOn(career, updatedMs);
          const companyName = companyIndex === null ? null : companyVariant(companyAt(ctx, companyIndex).name, rng);
          out.push({
            contact_id: contactId(ctx, index, c),
            email,
            phone,
            first_name: firstName,
            last_name: lastName,
            company_name: companyName,
            updated_at: new Date(updatedMs),
          });
        }
      }),
  };
}

/** 'Northwind Logistics LLC' as reps type it: sometimes without the legal suffix or in capitals. */
function companyVariant(name: string, rng: Rng): string {
  const r = rng.float();
  if (r < 0.1) return name.slice(0, name.lastIndexOf(' '));
  if (r < 0.15) return name.toUpperCase();
  return name;
}
