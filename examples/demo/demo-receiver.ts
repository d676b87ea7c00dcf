/**
 * The demo's stand-in for a real destination: a webhook receiver on 127.0.0.1 that checks
 * each request's HMAC signature, keeps the records it was sent (upserts set, deletes
 * remove) and answers 200. Started and stopped by `cdp demo`.
 */
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DemoReceiver {
  url: string;
  records: Map<string, unknown>;
  requests: number;
  close(): Promise<void>;
}

export async function startDemoReceiver(secret: string): Promise<DemoReceiver> {
  const receiver: DemoReceiver = { url: '', records: new Map(), requests: 0, close: async () => undefined };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const expected = `sha256=${createHmac('sha256', secret).update(`${String(req.headers['x-cdp-timestamp'])}.${body}`).digest('hex')}`;
      if (req.headers['x-cdp-signature'] !== expected) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"message":"bad signature"}');
        return;
      }
      receiver.requests++;
      const batch = JSON.parse(body) as { op: string; rows: { key: string; fields: unknown }[] };
      for (const row of batch.rows) {
        if (batch.op === 'delete' || batch.op === 'remove') receiver.records.delete(row.key);
        else receiver.records.set(row.key, row.fields);
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return receiver;
}
