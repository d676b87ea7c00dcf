/**
 * The email alert channel: one message per alert over SMTP, sent with nodemailer (the
 * well-kept standard Node mail client: SMTP with STARTTLS/implicit TLS, AUTH, header and
 * body encoding — none of which we want to write ourselves).
 *
 * The SMTP password comes from alerts.yml through `${ENV}` and is a secret: it goes to the
 * transport and nowhere else. A failure is logged by channel position and error code only
 * (an SMTP reply can echo what the client sent), and never thrown: an unreachable mail server
 * must not fail the run that raised the alert.
 */
import { createTransport } from 'nodemailer';
import { z } from 'zod';
import { secret } from '../warehouse';
import type { Logger } from './logger';

export const emailChannelSchema = z.strictObject({
  type: z.literal('email'),
  smtp: z.strictObject({
    host: z.string().min(1),
    /** 587 (submission, STARTTLS) by default; 465 with `secure: true`. */
    port: z.number().int().min(1).max(65535).default(587),
    /** Implicit TLS from the first byte (port 465). Otherwise STARTTLS is used when the server offers it. */
    secure: z.boolean().default(false),
    user: z.string().min(1).optional(),
    /** Write `${SMTP_PASSWORD}`: never put the password itself in alerts.yml. */
    password: secret().optional(),
  }),
  from: z.string().min(3),
  to: z.array(z.email()).min(1),
});
export type EmailChannel = z.infer<typeof emailChannelSchema>;

/** Sends `text` to one email channel; resolves whether it was accepted. */
export function emailSender(channel: EmailChannel, index: number, log: Logger): (text: string) => Promise<boolean> {
  const transport = createTransport({
    host: channel.smtp.host,
    port: channel.smtp.port,
    secure: channel.smtp.secure,
    auth: channel.smtp.user ? { user: channel.smtp.user, pass: channel.smtp.password } : undefined,
    // An alert is not worth a hung worker: every step has a bound.
    connectionTimeout: 5_000,
    greetingTimeout: 5_000,
    socketTimeout: 10_000,
  });
  return async (text) => {
    // Slack-style `:emoji:` shortcodes mean nothing in a mail client.
    const plain = text.replace(/^:[a-z_]+:\s*/, '');
    try {
      await transport.sendMail({ from: channel.from, to: channel.to, subject: plain.split('\n')[0]!.slice(0, 200), text: `${plain}\n\n— sent by cdp (alerts.yml)\n` });
      return true;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      log.warn('alert channel failed', { channel: index, type: 'email', error: typeof code === 'string' ? code : error instanceof Error ? error.name : 'error' });
      return false;
    }
  };
}
