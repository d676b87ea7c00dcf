/**
 * Control DB schema, one migration an entry, never edited after release: add a new one.
 */
import type { Knex } from 'knex';

export const migrations = [
  {
    name: '001_runs',
    async up(knex: Knex) {
      await knex.schema.createTable('cdp_runs', (t) => {
        t.string('id', 36).primary();
        t.string('project').notNullable();
        t.string('kind').notNullable(); // models | identity | sync …
        t.string('status').notNullable(); // running | success | error
        t.string('selector');
        t.string('warehouse_type');
        t.timestamp('started_at', { useTz: true }).notNullable();
        t.timestamp('finished_at', { useTz: true });
        t.text('counts'); // JSON: { success, error, skipped }
        t.text('message');
        t.index(['project', 'started_at']);
      });
      await knex.schema.createTable('cdp_model_runs', (t) => {
        t.increments('id');
        t.string('run_id', 36).notNullable().references('id').inTable('cdp_runs').onDelete('CASCADE');
        t.string('model').notNullable();
        t.string('status').notNullable();
        t.string('build_kind');
        t.bigInteger('rows');
        t.timestamp('started_at', { useTz: true }).notNullable();
        t.integer('duration_ms').notNullable();
        t.text('message');
        t.index(['run_id']);
        t.index(['model', 'started_at']);
      });
    },
    async down(knex: Knex) {
      await knex.schema.dropTable('cdp_model_runs');
      await knex.schema.dropTable('cdp_runs');
    },
  },
];
