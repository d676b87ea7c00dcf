/**
 * The connector conformance suite (DESIGN §8.5): every destination connector runs it in one
 * line against its stateful fake — `describeConnectorConformance(definition, () => startFake())`
 * — and adds tests only for what is special to it.
 *
 * It checks the contract of DESIGN §4: the config schema accepts the fake's config and
 * `check` passes (and fails with failure 'auth' on bad credentials); a full-size batch of
 * each operation the object's modes send is accepted with one outcome per row, in order;
 * upsert is idempotent (sending the same rows twice leaves one record each) and a change
 * reaches the record; delete/remove takes records away; a batch with a bad row returns a
 * 'rejected' outcome with a reason for that row only (partial failure) or throws a
 * ConnectorError with failure 'permanent'; 429 and 5xx become retryable outcomes or
 * retryable ConnectorErrors (429 carrying Retry-After). Every test gets a fresh fake.
 */
import type { z } from 'zod';
import { ConnectorError, createConnectorContext, modeOperations, type BatchOp, type DestinationDefinition, type FieldValue, type OutboundRow, type RowOutcome } from '../../connectors/kit';

export interface ConnectorFake<ConfigSchema extends z.ZodType> {
  /** Config (before defaults) pointing the connector at the fake: `baseUrl` and credentials the fake accepts. */
  config: z.input<ConfigSchema>;
  /** The same with credentials the fake refuses (the auth test is skipped without it). */
  badCredentialsConfig?: z.input<ConfigSchema>;
  /** The object under test, e.g. 'contacts'. */
  object: string;
  /** Object options the sync would give (e.g. `{ listId }`). */
  options?: Record<string, string>;
  /** `count` valid rows for the object, keys distinct; `variant` changes the non-key fields. */
  rows(count: number, variant?: number): OutboundRow[];
  /** A row the fake refuses per record (e.g. an invalid email). Partial-failure test skipped without it. */
  invalidRow?(): OutboundRow;
  /** What the fake holds for the object now, by the row key (as the connector was sent it). */
  records(): Promise<Map<string, Record<string, unknown>>>;
  /** The next `count` requests are answered with this status (429 carries Retry-After: 1). Destinations without HTTP omit it. */
  failNext?(count: number, status: 429 | 500 | 503): void;
  close(): Promise<void>;
}

export interface ConnectorConformanceOptions {
  /** Field values as the fake stores them (HubSpot keeps strings); default String(value). */
  storedValue?: (value: FieldValue) => unknown;
  /** Ops that are not idempotent for this object are skipped in the idempotency test (default: insert, add). */
  nonIdempotentOps?: BatchOp[];
}

export function describeConnectorConformance<ConfigSchema extends z.ZodType>(
  definition: DestinationDefinition<ConfigSchema>,
  startFake: () => Promise<ConnectorFake<ConfigSchema>>,
  options: ConnectorConformanceOptions = {},
): void {
  const stored = options.storedValue ?? ((value: FieldValue) => (value === null ? null : typeof value === 'object' ? JSON.stringify(value) : String(value)));
  const nonIdempotent = new Set(options.nonIdempotentOps ?? ['insert']);

  describe(`connector conformance: ${definition.type}`, () => {
    let fake: ConnectorFake<ConfigSchema>;
    const context = (config: z.input<ConfigSchema> = fake.config) =>
      createConnectorContext(definition.type, definition.config.parse(config) as z.output<ConfigSchema>, { timeoutMs: 10_000 });
    const object = () => {
      const found = definition.objects[fake.object];
      if (!found) throw new Error(`${definition.type} has no object ${fake.object}`);
      return found;
    };
    /** The op this object's modes send for added rows (upsert before insert before add). */
    const writeOp = (): BatchOp => {
      const ops = object().modes.map((m) => modeOperations[m].added).filter((op): op is BatchOp => op !== undefined);
      for (const preferred of ['upsert', 'add', 'insert', 'update'] as const) if (ops.includes(preferred)) return preferred;
      throw new Error(`${definition.type}.${fake.object} sends no rows for added records`);
    };
    const removeOp = (): BatchOp | undefined => {
      const ops = object().modes.map((m) => modeOperations[m].removed).filter((op): op is BatchOp => op !== undefined);
      return ops[0];
    };
    const write = (op: BatchOp, rows: OutboundRow[]) => definition.write(context(), { object: fake.object, op, rows, options: fake.options ?? {} });
    const expectAllOk = (outcomes: RowOutcome[], count: number) => {
      expect(outcomes).toHaveLength(count);
      const notOk = outcomes.filter((o) => o.status !== 'ok');
      expect(notOk).toEqual([]);
    };

    beforeEach(async () => {
      fake = await startFake();
    });
    afterEach(async () => {
      await fake.close();
    });

    test('the definition is well formed', () => {
      expect(definition.type).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(Object.keys(definition.objects).length).toBeGreaterThan(0);
      expect(definition.limits.batchRows).toBeGreaterThan(0);
      expect(definition.limits.concurrency).toBeGreaterThan(0);
      for (const obj of Object.values(definition.objects)) expect(obj.modes.length).toBeGreaterThan(0);
    });

    test('the config schema accepts the fake config and check passes', async () => {
      expect(definition.config.safeParse(fake.config).success).toBe(true);
      await expect(definition.check(context())).resolves.toBeUndefined();
    });

    test('check fails with failure auth on bad credentials', async () => {
      if (!fake.badCredentialsConfig) return;
      const error = await definition.check(context(fake.badCredentialsConfig)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ConnectorError);
      expect((error as ConnectorError).failure).toBe('auth');
    });

    test('a full-size batch is accepted with one ok outcome per row, and the records hold the fields', async () => {
      const rows = fake.rows(definition.limits.batchRows);
      expectAllOk(await write(writeOp(), rows), rows.length);
      const records = await fake.records();
      for (const row of rows) {
        const record = records.get(row.key);
        expect(record).toBeDefined();
        for (const [field, value] of Object.entries(row.fields)) expect({ field, value: record?.[field] }).toEqual({ field, value: stored(value) });
      }
    });

    test('writing the same rows twice is idempotent, and a change reaches the record', async () => {
      const op = writeOp();
      if (nonIdempotent.has(op)) return;
      const rows = fake.rows(Math.min(5, definition.limits.batchRows));
      expectAllOk(await write(op, rows), rows.length);
      const before = (await fake.records()).size;
      expectAllOk(await write(op, rows), rows.length);
      expect((await fake.records()).size).toBe(before);
      const changed = fake.rows(rows.length, 1);
      expectAllOk(await write(op, changed), changed.length);
      const records = await fake.records();
      expect(records.size).toBe(before);
      for (const row of changed) {
        for (const [field, value] of Object.entries(row.fields)) expect({ field, value: records.get(row.key)?.[field] }).toEqual({ field, value: stored(value) });
      }
    });

    test('delete/remove takes the records away', async () => {
      const op = removeOp();
      if (!op) return;
      const rows = fake.rows(Math.min(6, definition.limits.batchRows));
      expectAllOk(await write(writeOp(), rows), rows.length);
      const gone = rows.slice(0, 3);
      const outcomes = await write(op, gone);
      expect(outcomes).toHaveLength(gone.length);
      expect(outcomes.every((o) => o.status === 'ok')).toBe(true);
      const records = await fake.records();
      for (const row of gone) expect(records.has(row.key)).toBe(false);
      for (const row of rows.slice(3)) expect(records.has(row.key)).toBe(true);
    });

    test('a bad row is rejected with a reason and the others go through (or the batch fails permanently)', async () => {
      if (!fake.invalidRow) return;
      const rows = [...fake.rows(3), fake.invalidRow()];
      let outcomes: RowOutcome[];
      try {
        outcomes = await write(writeOp(), rows);
      } catch (error) {
        // Vendors that refuse a whole batch for one bad row: the engine splits the batch.
        expect(error).toBeInstanceOf(ConnectorError);
        expect((error as ConnectorError).failure).toBe('permanent');
        return;
      }
      expect(outcomes).toHaveLength(rows.length);
      expect(outcomes.slice(0, 3).map((o) => o.status)).toEqual(['ok', 'ok', 'ok']);
      const last = outcomes[3]!;
      expect(last.status).toBe('rejected');
      expect(last.status === 'rejected' && last.reason.length > 0).toBe(true);
      const records = await fake.records();
      for (const row of rows.slice(0, 3)) expect(records.has(row.key)).toBe(true);
    });

    test.each([429, 500, 503] as const)('HTTP %i is retryable (429 carries Retry-After)', async (status) => {
      if (!fake.failNext) return;
      fake.failNext(1, status);
      const rows = fake.rows(2);
      let outcomes: RowOutcome[] | undefined;
      let thrown: unknown;
      try {
        outcomes = await write(writeOp(), rows);
      } catch (error) {
        thrown = error;
      }
      if (thrown !== undefined) {
        expect(thrown).toBeInstanceOf(ConnectorError);
        const error = thrown as ConnectorError;
        expect(error.retryable).toBe(true);
        if (status === 429) {
          expect(error.failure).toBe('rate_limited');
          expect(error.retryAfterMs).toBe(1000);
        }
      } else {
        expect(outcomes).toHaveLength(rows.length);
        expect(outcomes!.every((o) => o.status === 'retry')).toBe(true);
      }
      // The fault was one request: the next write goes through.
      expectAllOk(await write(writeOp(), rows), rows.length);
    });
  });
}
