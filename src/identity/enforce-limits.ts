/**
 * Limits, in two parts: SQL finds the components that hold more values of a limited type
 * than allowed (few: a shared device, a family email); only their edges stream into Node,
 * where `resolveLimits` applies the exact priority rule one component at a time (memory is
 * bounded by the largest violating component, not the graph). The results go back as two
 * tables: `limited(node, cluster)` overriding the component of those nodes, and
 * `limit_rejected(src, dst, reason)`.
 */
import { CdpError } from '../errors';
import type { Row, TableRef, Warehouse } from '../warehouse';
import type { IdentifierRule } from './identifier-rules';
import { resolveLimits, type LimitEdge, type LimitRules } from './limit-resolver';
import { createScratch } from './sql-kit';
import { violatingEdgesSql, violatingSql } from './graph-sql';

export interface LimitTables {
  cc: TableRef;
  nodes: TableRef;
  pairs: TableRef;
  violating: TableRef;
  limited: TableRef;
  rejected: TableRef;
}

export interface LimitOutcome {
  violatingComponents: number;
  rejectedEdges: number;
}

export async function enforceLimits(warehouse: Warehouse, rules: IdentifierRule[], tables: LimitTables): Promise<LimitOutcome> {
  const d = warehouse.dialect;
  await createEmpty(warehouse, tables);
  const limitedRules = rules.filter((r) => r.limit !== undefined);
  if (limitedRules.length === 0) return { violatingComponents: 0, rejectedEdges: 0 };
  await createScratch(warehouse, tables.violating, violatingSql(d, d.qualify(tables.cc), d.qualify(tables.nodes), limitedRules));

  const limitRules: LimitRules = {
    rank: new Map(rules.map((r) => [r.name, r.rank])),
    limit: new Map(limitedRules.map((r) => [r.name, r.limit!])),
  };
  const assignments: Row[] = [];
  const rejections: Row[] = [];
  let violatingComponents = 0;
  const done = new Set<number>();
  let current: number | null = null;
  let buffer: LimitEdge[] = [];
  const flush = () => {
    if (current === null) return;
    const { clusterOf, rejected } = resolveLimits(buffer, limitRules);
    for (const [node, cluster] of clusterOf) assignments.push({ node, cluster });
    for (const { edge, reason } of rejected) rejections.push({ src: edge.src, dst: edge.dst, reason });
    done.add(current);
    violatingComponents++;
    buffer = [];
  };
  const sql = violatingEdgesSql(d, d.qualify(tables.pairs), d.qualify(tables.cc), d.qualify(tables.violating), d.qualify(tables.nodes));
  for await (const batch of warehouse.stream(sql, 10_000)) {
    for (const row of batch) {
      const component = Number(row.component);
      if (component !== current) {
        flush();
        if (done.has(component)) throw new CdpError('violating edges did not arrive grouped by component', { code: 'INTERNAL', kind: 'internal' });
        current = component;
      }
      buffer.push({
        src: Number(row.src),
        dst: Number(row.dst),
        aType: String(row.a_type),
        aValue: String(row.a_value),
        bType: String(row.b_type),
        bValue: String(row.b_value),
        sourcePriority: Number(row.source_priority),
        firstSeen: row.first_seen instanceof Date ? row.first_seen.getTime() : null,
      });
    }
  }
  flush();
  // Held in memory: only the violating components. nodes, a small share of the graph.
  await warehouse.load(tables.limited, limitedColumns, once(assignments));
  await warehouse.load(tables.rejected, rejectedColumns, once(rejections));
  return { violatingComponents, rejectedEdges: rejections.length };
}

const limitedColumns = [{ name: 'node', type: 'integer' as const }, { name: 'cluster', type: 'integer' as const }];
const rejectedColumns = [{ name: 'src', type: 'integer' as const }, { name: 'dst', type: 'integer' as const }, { name: 'reason', type: 'string' as const }];

async function createEmpty(warehouse: Warehouse, tables: LimitTables): Promise<void> {
  const d = warehouse.dialect;
  for (const [ref, columns] of [[tables.limited, limitedColumns], [tables.rejected, rejectedColumns]] as const) {
    await warehouse.execute(d.dropTableIfExists(ref));
    await warehouse.execute(d.createTable(ref, [...columns]));
  }
}

async function* once(rows: Row[]): AsyncIterable<Row[]> {
  for (let i = 0; i < rows.length; i += 10_000) yield rows.slice(i, i + 10_000);
}
