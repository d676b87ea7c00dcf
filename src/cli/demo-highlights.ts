/**
 * The few numbers the demo prints after building: what the messy raw data became. Reads
 * only the demo's own marts, through the dialect, so it works on any warehouse.
 */
import type { CompiledProject } from '../compiler';
import type { Warehouse } from '../warehouse';
import { formatCount, type Output } from './output';

export async function printDemoHighlights(warehouse: Warehouse, compiled: CompiledProject, out: Output): Promise<void> {
  const customer360 = compiled.models.find((m) => m.name === 'customer_360');
  if (!customer360) return;
  const d = warehouse.dialect;
  const q = (name: string) => d.quoteIdent(name);
  const table = d.qualify(customer360.ref);
  const [totals] = await warehouse.query(
    `SELECT COUNT(*) AS ${q('people')}, SUM(${q('is_b2b')}) AS ${q('b2b')}, ` +
      `SUM(CASE WHEN ${q('email_consent')} = 'granted' THEN 1 ELSE 0 END) AS ${q('email_ok')}, ` +
      `SUM(${q('crm_duplicates')}) AS ${q('crm_duplicates')} FROM ${table}`,
  );
  const stages = await warehouse.query(
    `SELECT ${q('lifecycle_stage')} AS ${q('stage')}, COUNT(*) AS ${q('n')} FROM ${table} GROUP BY ${q('lifecycle_stage')} ORDER BY ${q('n')} DESC`,
  );
  out.line('');
  out.line(`customer_360: ${formatCount(Number(totals.people))} people by normalised email, ${formatCount(Number(totals.b2b))} at a B2B account, ${formatCount(Number(totals.email_ok))} with email consent`);
  out.line(`  lifecycle: ${stages.map((s) => `${s.stage} ${formatCount(Number(s.n))}`).join(' · ')}`);
}
