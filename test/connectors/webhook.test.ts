/** The webhook connector against the local receiver: conformance plus signing, templates and results. */
import { createHmac } from 'node:crypto';
import webhook from '../../connectors/webhook';
import { signatureOf } from '../../connectors/webhook/client';
import { createConnectorContext, type OutboundRow } from '../../connectors/kit';
import { startWebhookReceiver } from '../fakes/webhook-receiver';
import { describeConnectorConformance } from './conformance';

const rows = (count: number, variant = 0): OutboundRow[] =>
  Array.from({ length: count }, (_, i) => ({ key: `p${i}@example.com`, fields: { email: `p${i}@example.com`, tier: `tier${variant}`, score: i + variant } }));

describeConnectorConformance(webhook, async () => {
  const receiver = await startWebhookReceiver({ secret: 's3cret', rejectRow: (key) => (key.startsWith('bad') ? 'invalid email' : undefined) });
  return {
    config: { url: receiver.url, signing_secret: 's3cret' },
    badCredentialsConfig: { url: receiver.url, signing_secret: 'wrong' },
    object: 'records',
    rows,
    invalidRow: () => ({ key: 'bad@', fields: { email: 'bad@' } }),
    records: async () => receiver.records,
    failNext: (count, status) => receiver.failNext(count, status),
    close: () => receiver.close(),
  };
}, { storedValue: (v) => v });

describe('webhook specifics', () => {
  test('signs the exact body with HMAC-SHA256 over "<timestamp>.<body>"', () => {
    const expected = createHmac('sha256', 'key').update('1700000000.{"a":1}').digest('hex');
    expect(signatureOf('key', '1700000000', '{"a":1}')).toBe(`sha256=${expected}`);
    expect(signatureOf('key', '1', 'x')).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(signatureOf('key', '1', 'x')).not.toBe(signatureOf('key', '2', 'x'));
  });

  test('a body template shapes what the receiver gets', async () => {
    const received: string[] = [];
    const { createServer } = await import('node:http');
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push(body);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const config = webhook.config.parse({ url: `http://127.0.0.1:${port}/x`, body_template: '{"type":"{{op}}","people":[{{#each rows}}{{#if @index}},{{/if}}{{json fields.email}}{{/each}}]}' });
      const outcomes = await webhook.write(createConnectorContext('webhook', config), { object: 'records', op: 'upsert', rows: rows(2), options: {} });
      expect(outcomes).toEqual([{ status: 'ok' }, { status: 'ok' }]);
      expect(JSON.parse(received[0]!)).toEqual({ type: 'upsert', people: ['p0@example.com', 'p1@example.com'] });
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  test('a receiver answering 400 for the whole batch is a permanent failure', async () => {
    const receiver = await startWebhookReceiver({ rejectWholeBatch: true, rejectRow: (key) => (key === 'p1@example.com' ? 'nope' : undefined) });
    try {
      const config = webhook.config.parse({ url: receiver.url });
      await expect(webhook.write(createConnectorContext('webhook', config), { object: 'records', op: 'upsert', rows: rows(3), options: {} })).rejects.toMatchObject({ failure: 'permanent', httpStatus: 400 });
      expect(receiver.records.size).toBe(0);
    } finally {
      await receiver.close();
    }
  });
});
