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
  {
    // Syncs: definitions (synced from syncs/*.yml, later also written by the API), one lock
    // per sync (one run at a time, across processes), and run records with their counts.
    name: '002_syncs',
    async up(knex: Knex) {
      await knex.schema.createTable('cdp_syncs', (t) => {
        t.string('project').notNullable();
        t.string('name').notNullable();
        t.string('origin').notNullable(); // file | api
        t.string('file');
        t.string('destination').notNullable();
        t.string('mode').notNullable();
        t.string('schedule');
        t.text('definition').notNullable(); // JSON of the validated definition (no secrets: those live in destinations)
        t.boolean('enabled').notNullable().defaultTo(true);
        t.timestamp('updated_at', { useTz: true }).notNullable();
        t.primary(['project', 'name']);
      });
      await knex.schema.createTable('cdp_sync_locks', (t) => {
        t.string('project').notNullable();
        t.string('sync').notNullable();
        t.string('run_id', 36).notNullable();
        t.string('host').notNullable();
        t.integer('pid').notNullable();
        t.timestamp('acquired_at', { useTz: true }).notNullable();
        t.timestamp('heartbeat_at', { useTz: true }).notNullable();
        t.primary(['project', 'sync']);
      });
      await knex.schema.createTable('cdp_sync_runs', (t) => {
        t.string('id', 36).primary();
        t.string('project').notNullable();
        t.string('sync').notNullable();
        t.string('status').notNullable(); // running | success | partial | failed | stopped | cancelled
        t.string('trigger'); // cli | demo | scheduler | api
        t.boolean('full').notNullable().defaultTo(false);
        t.boolean('retry_rejected').notNullable().defaultTo(false);
        t.timestamp('started_at', { useTz: true }).notNullable();
        t.timestamp('finished_at', { useTz: true });
        t.text('counts'); // JSON SyncCounts
        t.text('timings'); // JSON: plan_ms, send_ms, commit_ms …
        t.text('message');
        t.index(['project', 'sync', 'started_at']);
      });
    },
    async down(knex: Knex) {
      await knex.schema.dropTable('cdp_sync_runs');
      await knex.schema.dropTable('cdp_sync_locks');
      await knex.schema.dropTable('cdp_syncs');
    },
  },
  {
    // Server and scheduler (issue 6): API tokens (hashed), the audit log, destinations written
    // through the API (secrets encrypted), schedules with their next fire, each fire (claimed
    // once across the fleet), worker heartbeats (dead-worker takeover) and alert states.
    name: '003_server_scheduler',
    async up(knex: Knex) {
      await knex.schema.createTable('cdp_api_tokens', (t) => {
        t.string('id', 36).primary();
        t.string('name').notNullable();
        t.string('hash', 64).notNullable(); // sha256 of the token's secret part; the token itself is shown once
        t.string('scope').notNullable(); // read | write | admin
        t.timestamp('created_at', { useTz: true }).notNullable();
        t.timestamp('last_used_at', { useTz: true });
        t.timestamp('revoked_at', { useTz: true });
      });
      await knex.schema.createTable('cdp_audit', (t) => {
        t.increments('id');
        t.timestamp('at', { useTz: true }).notNullable();
        t.string('project').notNullable();
        t.string('actor').notNullable(); // token name (id) or cli
        t.string('action').notNullable(); // create | update | delete | trigger | rotate …
        t.string('target_type').notNullable();
        t.string('target').notNullable();
        t.text('before'); // JSON, secrets redacted
        t.text('after'); // JSON, secrets redacted
        t.index(['project', 'at']);
      });
      await knex.schema.createTable('cdp_destinations', (t) => {
        t.string('project').notNullable();
        t.string('name').notNullable();
        t.string('type').notNullable();
        t.text('config').notNullable(); // JSON without the secret fields
        t.text('secrets'); // AES-256-GCM envelope of the secret fields (JSON)
        t.text('limits');
        t.timestamp('created_at', { useTz: true }).notNullable();
        t.timestamp('updated_at', { useTz: true }).notNullable();
        t.primary(['project', 'name']);
      });
      await knex.schema.createTable('cdp_schedules', (t) => {
        t.string('project').notNullable();
        t.string('key').notNullable(); // sync:<name> | models | segments
        t.string('spec').notNullable(); // JSON ScheduleSpec
        t.timestamp('next_fire_at', { useTz: true });
        t.timestamp('last_fire_at', { useTz: true });
        t.timestamp('updated_at', { useTz: true }).notNullable();
        t.primary(['project', 'key']);
      });
      await knex.schema.createTable('cdp_jobs', (t) => {
        t.string('id', 36).primary();
        t.string('project').notNullable();
        t.string('kind').notNullable(); // sync | models | segments
        t.string('target').notNullable();
        t.string('trigger').notNullable(); // cron | interval | after | manual | api | missed
        t.timestamp('fire_at', { useTz: true });
        t.string('status').notNullable(); // queued | running | success | failed | cancelled | coalesced | interrupted
        t.integer('attempts').notNullable().defaultTo(0);
        t.string('worker');
        t.string('run_id', 36);
        t.timestamp('queued_at', { useTz: true }).notNullable();
        t.timestamp('started_at', { useTz: true });
        t.timestamp('finished_at', { useTz: true });
        t.text('message');
        t.index(['project', 'kind', 'target', 'queued_at']);
        t.index(['status']);
      });
      await knex.schema.createTable('cdp_workers', (t) => {
        t.string('id').primary();
        t.string('host').notNullable();
        t.integer('pid').notNullable();
        t.text('queue_worker_ids'); // JSON: the job queue's own worker ids (for forced unlock)
        t.timestamp('started_at', { useTz: true }).notNullable();
        t.timestamp('heartbeat_at', { useTz: true }).notNullable();
      });
      await knex.schema.createTable('cdp_alert_states', (t) => {
        t.string('project').notNullable();
        t.string('subject').notNullable(); // sync:<name> | segment:<name>
        t.string('rule').notNullable(); // sync_failed | rejected_share | audience_change
        t.string('status').notNullable(); // ok | firing
        t.text('detail');
        t.timestamp('changed_at', { useTz: true }).notNullable();
        t.primary(['project', 'subject', 'rule']);
      });
    },
    async down(knex: Knex) {
      for (const table of ['cdp_alert_states', 'cdp_workers', 'cdp_jobs', 'cdp_schedules', 'cdp_destinations', 'cdp_audit', 'cdp_api_tokens']) await knex.schema.dropTable(table);
    },
  },
  {
    // Match-rate report of ad-audience syncs (issue 9): the run's summed counts as JSON (never
    // an identifier), null for runs of other destinations.
    name: '004_sync_match_rate',
    async up(knex: Knex) {
      await knex.schema.alterTable('cdp_sync_runs', (t) => {
        t.text('match_rate');
      });
    },
    async down(knex: Knex) {
      await knex.schema.alterTable('cdp_sync_runs', (t) => {
        t.dropColumn('match_rate');
      });
    },
  },
  {
    // Rule segments written through the API (issue 6; the web UI's rule builder saves here).
    // Files stay the source of truth for their own names: the API refuses a name a file holds.
    // The definition is the JSON of a segments/*.yml body, validated by the same loader.
    name: '005_segments',
    async up(knex: Knex) {
      await knex.schema.createTable('cdp_segments', (t) => {
        t.string('project').notNullable();
        t.string('name').notNullable();
        t.text('definition').notNullable(); // JSON: { over, rules | sql, splits, … } — the shape of segments/*.yml
        t.timestamp('created_at', { useTz: true }).notNullable();
        t.timestamp('updated_at', { useTz: true }).notNullable();
        t.string('created_by').notNullable(); // token name (id prefix), as in cdp_audit
        t.primary(['project', 'name']);
      });
    },
    async down(knex: Knex) {
      await knex.schema.dropTable('cdp_segments');
    },
  },
];
