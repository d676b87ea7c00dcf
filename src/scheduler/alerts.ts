/**
 * Alerts: a sync failed, its rejected share rose above a threshold, or its audience size
 * changed by more than a threshold between runs. Each (subject, rule) has a state in
 * `cdp_alert_states` (ok | firing); a message goes out only when the state changes — one
 * when it starts firing, one when it recovers — so a sync failing every minute sends one
 * alert, not sixty. The state row is changed with a compare-and-set, so with many workers
 * exactly one of them sends.
 *
 * Channels (alerts.yml `channels:`, each alert goes to all of them):
 *  - `webhook`: Slack-compatible (`{ "text": … }`, which Slack, Mattermost, Rocket.Chat and
 *    Teams' Slack connector accept). The URL is a secret (it is the credential).
 *  - `email`: SMTP through nodemailer (email-alerts.ts): `smtp: { host, port, secure, user,
 *    password: "${SMTP_PASSWORD}" }`, `from`, `to: [..]`.
 * Credentials (webhook URLs, the SMTP password) are never logged or returned: a failing
 * channel is named by its position and an error code. A channel's failure never fails the
 * run that raised the alert, nor stops the other channels.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { ControlDb } from '../control';
import { readYamlFile, type Env } from '../project';
import type { SyncRunResult } from '../sync';
import { emailChannelSchema, emailSender } from './email-alerts';
import type { Logger } from './logger';

export const ALERTS_FILE = 'alerts.yml';

export const alertsFileSchema = z.strictObject({
  channels: z.array(z.discriminatedUnion('type', [z.strictObject({ type: z.literal('webhook'), url: z.url() }), emailChannelSchema])).default([]),
  /** Alert when a sync run fails or is stopped by the circuit breaker. */
  sync_failed: z.boolean().default(true),
  /** Alert when rejected / (succeeded + rejected) of a run is above this share. */
  rejected_share: z.number().min(0).max(1).default(0.1),
  /** Alert when the audience size changes by more than this share between two runs. */
  audience_change: z.number().min(0).default(0.5),
});
export type AlertsConfig = z.infer<typeof alertsFileSchema>;

export function loadAlertsConfig(projectDir: string, env: Env): AlertsConfig {
  const path = join(projectDir, ALERTS_FILE);
  return existsSync(path) ? readYamlFile(path, ALERTS_FILE, alertsFileSchema, env) : alertsFileSchema.parse({});
}

export type AlertRule = 'sync_failed' | 'rejected_share' | 'audience_change';

export interface AlertEvaluation {
  rule: AlertRule;
  firing: boolean;
  detail: string;
}

/** Pure: what a finished sync run says about each rule. */
export function evaluateSyncRun(config: AlertsConfig, result: Pick<SyncRunResult, 'status' | 'counts' | 'message'>): AlertEvaluation[] {
  const out: AlertEvaluation[] = [];
  const c = result.counts;
  if (config.sync_failed) {
    const failed = result.status === 'failed' || result.status === 'stopped';
    out.push({ rule: 'sync_failed', firing: failed, detail: failed ? `${result.status}: ${result.message ?? 'no message'}` : `status ${result.status}` });
  }
  const attempted = c.succeeded + c.rejected;
  if (attempted > 0) {
    const share = c.rejected / attempted;
    out.push({ rule: 'rejected_share', firing: share > config.rejected_share, detail: `${(share * 100).toFixed(1)}% rejected (${c.rejected} of ${attempted}; threshold ${(config.rejected_share * 100).toFixed(1)}%)` });
  }
  // The audience before this run = what was unchanged, changed or removed; after = unchanged, changed, added.
  const before = c.unchanged + c.changed + c.removed;
  const after = c.unchanged + c.changed + c.added;
  if (before > 0 && result.status !== 'failed') {
    const change = Math.abs(after - before) / before;
    out.push({ rule: 'audience_change', firing: change > config.audience_change, detail: `audience ${before} → ${after} (${(change * 100).toFixed(1)}%; threshold ${(config.audience_change * 100).toFixed(1)}%)` });
  }
  return out;
}

export interface AlertSender {
  (text: string): Promise<void>;
}

/** Sends each alert to every channel of alerts.yml (webhooks and email). */
export function channelsSender(config: AlertsConfig, log: Logger, fetchImpl: typeof fetch = fetch): AlertSender {
  // Built once: a mail transport holds its settings (and the password) for the process's life.
  const mailers = new Map(config.channels.flatMap((channel, index) => (channel.type === 'email' ? [[index, emailSender(channel, index, log)] as const] : [])));
  return async (text) => {
    for (const [index, channel] of config.channels.entries()) {
      if (channel.type === 'email') {
        await mailers.get(index)!(text);
        continue;
      }
      try {
        const response = await fetchImpl(channel.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text }), signal: AbortSignal.timeout(5000) });
        if (!response.ok) log.warn('alert channel answered an error', { channel: index, status: response.status });
      } catch (error) {
        // The URL is the credential: name the channel by position only.
        log.warn('alert channel unreachable', { channel: index, error: error instanceof Error ? error.name : 'error' });
      }
    }
  };
}

/** The name service.ts composes with; it sends to every channel, email included. */
export const webhookSender = channelsSender;

/** Applies evaluations to the stored states; sends one message per change of state. */
export async function applyAlerts(db: ControlDb, project: string, subject: string, evaluations: AlertEvaluation[], send: AlertSender): Promise<string[]> {
  const sent: string[] = [];
  for (const evaluation of evaluations) {
    const status = evaluation.firing ? 'firing' : 'ok';
    const key = { project, subject, rule: evaluation.rule };
    const row = await db.knex('cdp_alert_states').where(key).first();
    const previous = row ? z.object({ status: z.string() }).parse(row).status : 'ok';
    if (!row) {
      try {
        await db.knex('cdp_alert_states').insert({ ...key, status, detail: evaluation.detail, changed_at: new Date() });
      } catch {
        continue; // another worker inserted it first and owns this change
      }
    } else if (previous !== status) {
      const changed = await db.knex('cdp_alert_states').where({ ...key, status: previous }).update({ status, detail: evaluation.detail, changed_at: new Date() });
      if (changed === 0) continue;
    } else {
      continue;
    }
    if (previous === status) continue; // first sight of an ok state: nothing to say
    const text = evaluation.firing
      ? `:rotating_light: cdp ${project}: ${subject} — ${evaluation.rule.replace(/_/g, ' ')}: ${evaluation.detail}`
      : `:white_check_mark: cdp ${project}: ${subject} — ${evaluation.rule.replace(/_/g, ' ')} recovered: ${evaluation.detail}`;
    await send(text);
    sent.push(text);
  }
  return sent;
}
