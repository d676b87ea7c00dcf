/**
 * The B2B arm: companies (firmographics) and people's memberships in them over time. A
 * career is derived from (seed, person index) alone, so the CRM table can ask which company
 * a person worked at on a given day without generating the memberships table.
 */
import type { Column } from '../../../src/warehouse';
import { hex8, Rng } from './prng';
import { idKey, personAt } from './person';
import { emailVariant } from './messy';
import { DAY_MS, Salt, streamEntities, type DemoTable, type GenContext } from './table';
import { COMPANY_NOUNS, COMPANY_PREFIXES, COMPANY_SUFFIXES, COUNTRY_SPELLINGS, INDUSTRIES, JOB_TITLES } from './vocab';

const COMBINATIONS = COMPANY_PREFIXES.length * COMPANY_NOUNS.length * COMPANY_SUFFIXES.length;

export interface CompanyIdentity {
  id: string;
  name: string;
  domain: string;
  country: string;
}

/**
 * Company `index`'s name and domain, with no randomness: an affine bijection over
 * prefix × noun × suffix (32,000 combinations) keeps names unique and shuffled per seed.
 */
export function companyAt(ctx: GenContext, index: number): CompanyIdentity {
  const round = Math.floor(index / COMBINATIONS);
  const combo = (((index % COMBINATIONS) * 7_919 + (ctx.seed % COMBINATIONS)) % COMBINATIONS);
  const prefix = COMPANY_PREFIXES[combo % COMPANY_PREFIXES.length];
  const noun = COMPANY_NOUNS[Math.floor(combo / COMPANY_PREFIXES.length) % COMPANY_NOUNS.length];
  const s = COMPANY_SUFFIXES[Math.floor(combo / (COMPANY_PREFIXES.length * COMPANY_NOUNS.length))];
  // Past 32,000 companies a number keeps names and domains unique.
  const tag = round > 0 ? ` ${round + 1}` : '';
  const slug = `${prefix}${noun}${round > 0 ? round + 1 : ''}`.toLowerCase();
  return {
    id: `co_${(index + 1).toString().padStart(6, '0')}`,
    name: `${prefix} ${noun}${tag} ${s.suffix}`,
    domain: `${slug}.${s.zone}`,
    country: s.country,
  };
}

export const companyColumns: Column[] = [
  { name: 'company_id', type: 'string' },
  { name: 'name', type: 'string' },
  { name: 'domain', type: 'string' },
  { name: 'industry', type: 'string' },
  { name: 'employees', type: 'integer' },
  { name: 'country', type: 'string' },
];

export function companiesTable(ctx: GenContext): DemoTable {
  const rng = new Rng();
  return {
    name: 'companies',
    columns: companyColumns,
    rows: () =>
      streamEntities(ctx.companies, ctx.batchRows, (index, out) => {
        const c = companyAt(ctx, index);
        rng.forEntity(ctx.seed, Salt.company, index);
        const industry = rng.pick(INDUSTRIES);
        const size = Math.max(1, Math.round(Math.exp(3.2 + 1.7 * rng.normal())));
        const employeesKnown = rng.chance(0.94);
        const countryRoll = rng.float();
        const spelled = COUNTRY_SPELLINGS[c.country];
        const country = countryRoll < 0.04 ? null : countryRoll < 0.14 && spelled ? spelled : c.country;
        out.push({
          company_id: c.id,
          name: c.name,
          domain: rng.chance(0.03) ? null : c.domain,
          industry: rng.chance(0.05) ? null : industry,
          employees: employeesKnown ? size : null,
          country,
        });
      }),
  };
}

export interface Membership {
  company: number;
  title: string;
  startMs: number;
  /** null while the person still works there. */
  endMs: number | null;
}

/**
 * A B2B person's career: 1 company (85%), 2 (12%) or 3 (3%), consecutive and never
 * overlapping (an end may equal the next start). All days are whole UTC days before asOf.
 */
export function careerOf(ctx: GenContext, index: number, rng: Rng): Membership[] {
  rng.forEntity(ctx.seed, Salt.career, index);
  const roll = rng.float();
  const k = roll < 0.85 ? 1 : roll < 0.97 ? 2 : 3;
  const span = rng.between(60 + 400 * (k - 1), 2920);
  const asOfDay = Math.floor(ctx.asOfMs / DAY_MS);
  // Day x of the career is asOfDay - span + x; the latest day used is span - 1, before asOf.
  const at = (x: number): number => (asOfDay - span + x) * DAY_MS;
  const cuts = [0];
  for (let j = 1; j < k; j++) cuts.push(Math.floor((span * (j - 0.3 + 0.6 * rng.float())) / k));
  cuts.push(span);
  const result: Membership[] = [];
  let company = rng.int(ctx.companies);
  for (let j = 0; j < k; j++) {
    if (j > 0) company = (company + 1 + rng.int(ctx.companies - 1)) % ctx.companies;
    const gap = j === 0 ? 0 : Math.min(rng.int(31), Math.floor((cuts[j + 1] - cuts[j] - 1) / 2));
    const start = cuts[j] + gap;
    let end: number | null;
    if (j < k - 1) end = cuts[j + 1];
    else end = rng.chance(0.88) ? null : start + 1 + rng.int(span - 1 - start);
    result.push({ company, title: rng.pick(JOB_TITLES), startMs: at(start), endMs: end === null ? null : at(end) });
  }
  return result;
}

/** The company a career was at on `ms`, or null between jobs. */
export function companyOn(career: Membership[], ms: number): number | null {
  for (const m of career) if (m.startMs <= ms && (m.endMs === null || ms < m.endMs)) return m.company;
  return null;
}

export const membershipColumns: Column[] = [
  { name: 'membership_id', type: 'string' },
  { name: 'email', type: 'string' },
  { name: 'company_id', type: 'string' },
  { name: 'title', type: 'string' },
  { name: 'started_at', type: 'timestamp' },
  { name: 'ended_at', type: 'timestamp' },
];

export function membershipsTable(ctx: GenContext): DemoTable {
  const personRng = new Rng();
  const careerRng = new Rng();
  return {
    name: 'memberships',
    columns: membershipColumns,
    rows: () =>
      streamEntities(ctx.people, ctx.batchRows, (index, out) => {
        const p = personAt(ctx, index, personRng);
        if (!p.b2b) return;
        const career = careerOf(ctx, index, careerRng);
        career.forEach((m, j) => {
          out.push({
            membership_id: `mbr_${hex8(idKey(ctx, Salt.membershipId, index * 4 + j))}`,
            // Sales ops key memberships by the address they know, typed as it was given.
            email: careerRng.chance(0.1) ? emailVariant(p.email, careerRng) : p.email,
            company_id: companyAt(ctx, m.company).id,
            title: m.title,
            started_at: new Date(m.startMs),
            ended_at: m.endMs === null ? null : new Date(m.endMs),
          });
        });
      }),
  };
}
