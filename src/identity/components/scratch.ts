/**
 * Scratch tables of one components run: unique names in the scratch schema, remembered so
 * that all of them are dropped at the end — also when the run fails half-way.
 */
import type { TableRef, Warehouse } from '../../warehouse';

export class ScratchTables {
  private readonly created = new Set<string>();
  private readonly prefix: string;

  constructor(
    private readonly warehouse: Warehouse,
    private readonly schema: string,
  ) {
    // Unique per run, so concurrent runs (or a crashed earlier one) never collide.
    this.prefix = `cc_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  }

  /** A table name for `label`; dropped by `dropAll` once it has been created through `create`. */
  ref(label: string): TableRef {
    return { schema: this.schema, name: `${this.prefix}_${label}` };
  }

  /** CREATE TABLE ref AS select (replacing a leftover of the same name). */
  async create(label: string, selectSql: string): Promise<TableRef> {
    const ref = this.ref(label);
    const { dialect } = this.warehouse;
    this.created.add(ref.name);
    await this.warehouse.execute(dialect.dropTableIfExists(ref));
    await this.warehouse.execute(dialect.createTableAs(ref, selectSql));
    return ref;
  }

  /** Registers a table created some other way (e.g. CREATE TABLE + load) for cleanup. */
  track(ref: TableRef): void {
    this.created.add(ref.name);
  }

  async drop(ref: TableRef): Promise<void> {
    await this.warehouse.execute(this.warehouse.dialect.dropTableIfExists(ref));
    this.created.delete(ref.name);
  }

  /** Drops every table still registered; never throws (cleanup must not mask the real error). */
  async dropAll(): Promise<void> {
    for (const name of [...this.created]) {
      await this.warehouse.execute(this.warehouse.dialect.dropTableIfExists({ schema: this.schema, name })).catch(() => undefined);
      this.created.delete(name);
    }
  }
}

/**
 * Builds `target` from `selectSql`, replacing it if it exists: atomically where the
 * warehouse replaces in one statement or runs DDL in a transaction, so a failed build never
 * leaves the previous output dropped.
 */
export async function replaceTableAs(warehouse: Warehouse, target: TableRef, selectSql: string): Promise<void> {
  const { dialect } = warehouse;
  if (dialect.capabilities.createOrReplaceTable) {
    await warehouse.execute(dialect.createOrReplaceTableAs(target, selectSql));
  } else {
    await warehouse.executeAll([dialect.dropTableIfExists(target), dialect.createTableAs(target, selectSql)]);
  }
}
