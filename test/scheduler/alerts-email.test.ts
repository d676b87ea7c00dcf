/**
 * Email alerts against a real SMTP server (smtp-server, on loopback, with AUTH): a sync that
 * starts failing sends one email, keeps failing sends none, recovers sends one more — and the
 * SMTP password (from alerts.yml through ${ENV}) never appears in a log line, also when the
 * server refuses it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { openControlDb, type ControlDb } from '../../src/control';
import type { CdpError } from '../../src/errors';
import { applyAlerts, evaluateSyncRun, loadAlertsConfig } from '../../src/scheduler';
import { channelsSender } from '../../src/scheduler/alerts';
import { createLogger } from '../../src/scheduler/logger';
import { emptyCounts } from '../../src/sync';

const PASSWORD = 'smtp-pass-NEVER-LOGGED-7f3a9c';

interface Received {
  from: string;
  to: string[];
  raw: string;
}

/** Bytes of a quoted-printable text (`=XX`), read as UTF-8. */
const fromQp = (text: string) => Buffer.from(text.replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1').toString('utf8');

/** Headers unfolded with RFC 2047 words decoded, and the quoted-printable body: enough to read our own messages back. */
function decodeMail(raw: string): { headers: Record<string, string>; body: string } {
  const [head = '', ...rest] = raw.split('\r\n\r\n');
  const unfolded = head.replace(/\r\n[ \t]+/g, ' ').replace(/(\?=)\s+(=\?)/g, '$1$2');
  const decoded = unfolded.replace(/=\?UTF-8\?([QB])\?([^?]*)\?=/gi, (_m, enc: string, text: string) =>
    enc.toUpperCase() === 'B' ? Buffer.from(text, 'base64').toString('utf8') : fromQp(text.replace(/_/g, ' ')),
  );
  const headers = Object.fromEntries(decoded.split('\r\n').map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
  return { headers, body: fromQp(rest.join('\r\n\r\n').replace(/=\r\n/g, '')).replace(/\r\n/g, '\n') };
}

describe('email alerts over SMTP', () => {
  let server: SMTPServer;
  let port: number;
  const received: Received[] = [];
  let dir: string;
  let db: ControlDb;
  const counts = { ...emptyCounts(), unchanged: 10, succeeded: 10 };

  beforeAll(async () => {
    server = new SMTPServer({
      // Plain SMTP on loopback: no certificate to fake; AUTH is still required and checked.
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      onAuth(auth, _session, callback) {
        if (auth.username === 'alerts' && auth.password === PASSWORD) callback(null, { user: auth.username });
        else callback(new Error('Invalid username or password'));
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          received.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') });
          callback();
        });
      },
      logger: false,
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.server.address() as AddressInfo).port;
    dir = mkdtempSync(join(tmpdir(), 'cdp-alerts-'));
    db = await openControlDb('sqlite://control.db', dir);
  });
  afterAll(async () => {
    await db?.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  // The password itself is never in the file: ${SMTP_PASSWORD} is resolved from the env given to the loader.
  const alertsYml = () =>
    `channels:\n  - type: email\n    smtp: { host: 127.0.0.1, port: ${port}, secure: false, user: alerts, password: "\${SMTP_PASSWORD}" }\n    from: cdp@example.com\n    to: [ops@example.com, oncall@example.com]\n` +
    'sync_failed: true\n';

  test('one email when a sync starts failing, none while it keeps failing, one on recovery; the password is never logged', async () => {
    writeFileSync(join(dir, 'alerts.yml'), alertsYml());
    const config = loadAlertsConfig(dir, { SMTP_PASSWORD: PASSWORD });
    const lines: string[] = [];
    const send = channelsSender(config, createLogger((l) => lines.push(l)));
    const failed = evaluateSyncRun(config, { status: 'failed', counts, message: 'destination answered 401' });
    const ok = evaluateSyncRun(config, { status: 'success', counts });

    await applyAlerts(db, 'p', 'sync:nightly', ok, send); // first sight, ok: nothing to say
    expect(received).toHaveLength(0);
    expect(await applyAlerts(db, 'p', 'sync:nightly', failed, send)).toHaveLength(1);
    expect(await applyAlerts(db, 'p', 'sync:nightly', failed, send)).toHaveLength(0);
    expect(received).toHaveLength(1);
    expect(await applyAlerts(db, 'p', 'sync:nightly', ok, send)).toHaveLength(1);
    expect(received).toHaveLength(2);

    const [fire, recovery] = received.map((m) => ({ ...m, ...decodeMail(m.raw) }));
    expect(fire!.from).toBe('cdp@example.com');
    expect(fire!.to).toEqual(['ops@example.com', 'oncall@example.com']);
    expect(fire!.headers.subject).toBe('cdp p: sync:nightly — sync failed: failed: destination answered 401');
    expect(fire!.body).toMatch(/^cdp p: sync:nightly — sync failed: failed: destination answered 401\n/);
    expect(fire!.raw).not.toMatch(/:rotating_light:/);
    expect(recovery!.headers.subject).toBe('cdp p: sync:nightly — sync failed recovered: status success');
    expect([...lines, ...received.map((m) => m.raw)].join('\n')).not.toContain(PASSWORD);
  });

  test('a refused login is a warning naming the channel, never the password, and does not throw', async () => {
    const wrong = `${PASSWORD}-but-wrong`;
    writeFileSync(join(dir, 'alerts.yml'), alertsYml());
    const config = loadAlertsConfig(dir, { SMTP_PASSWORD: wrong });
    const lines: string[] = [];
    const before = received.length;
    await channelsSender(config, createLogger((l) => lines.push(l)))('cdp p: sync:x — sync failed: boom');
    expect(received).toHaveLength(before);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'warn', msg: 'alert channel failed', channel: 0, type: 'email', error: 'EAUTH' });
    expect(lines.join('\n')).not.toContain(PASSWORD);
  });

  test('alerts.yml: an email channel without recipients is a one-line error at its field', () => {
    writeFileSync(join(dir, 'alerts.yml'), `channels:\n  - type: email\n    smtp: { host: 127.0.0.1 }\n    from: cdp@example.com\n    to: []\n`);
    let line = '';
    try {
      loadAlertsConfig(dir, {});
    } catch (error) {
      line = (error as CdpError).toLine();
    }
    expect(line).toMatch(/^alerts\.yml:5: channels\.0\.to: too small/);
  });
});
