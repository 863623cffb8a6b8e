import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { events } from '@soundgood/event-catalog';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEvent } from '../events.js';
import { KnativePublisher } from './knative.publisher.js';

/** A stand-in broker ingress: records the headers and answers 202, or 401 to a token it was told to refuse. */
const seen: IncomingHttpHeaders[] = [];
let refuse: string | undefined;
const ingress = createServer((req, res) => {
  seen.push(req.headers);
  req.resume();
  req.on('end', () => res.writeHead(req.headers.authorization === `Bearer ${refuse}` ? 401 : 202).end());
});
let sink: string;
beforeAll(async () => {
  await new Promise<void>((done) => ingress.listen(0, '127.0.0.1', done));
  sink = `http://127.0.0.1:${(ingress.address() as AddressInfo).port}/soundgood/default`;
});
afterAll(() => new Promise((done) => ingress.close(done)));

const event = () =>
  createEvent(
    events.reserveSlot,
    { rentalId: '8f5b1c2e-1d3a-4e5f-9a7b-0c1d2e3f4a01', studentId: '8f5b1c2e-1d3a-4e5f-9a7b-0c1d2e3f4a02' },
    { partitionKey: 'r' },
  );
/** As the kubelet writes a projected token: a new file swapped in atomically. */
const rotate = (path: string, token: string) => {
  writeFileSync(`${path}.new`, `${token}\n`);
  renameSync(`${path}.new`, path);
};

describe('KnativePublisher and the projected ServiceAccount token', () => {
  it('sends no Authorization header without a token file (the local data plane runs without OIDC)', async () => {
    seen.length = 0;
    await new KnativePublisher(sink).publish([event()]);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.authorization).toBeUndefined();
  });

  it('sends the token file’s content as a bearer token, and the rotated one once the file changed', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sg-token-')), 'token');
    rotate(path, 'first');
    const publisher = new KnativePublisher(sink, { tokenFile: path, tokenMaxAgeMs: 0 });
    await publisher.connect();
    seen.length = 0;
    await publisher.publish([event()]);
    rotate(path, 'second');
    await publisher.publish([event()]);
    expect(seen.map((h) => h.authorization)).toEqual(['Bearer first', 'Bearer second']);
  });

  it('re-reads a cached token at once after a 401, so the outbox relay’s retry sends the new one', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sg-token-')), 'token');
    rotate(path, 'expired');
    const publisher = new KnativePublisher(sink, { tokenFile: path, tokenMaxAgeMs: 3_600_000 });
    seen.length = 0;
    await publisher.publish([event()]);
    rotate(path, 'fresh');
    await publisher.publish([event()]); // within tokenMaxAgeMs: the cached token
    refuse = 'expired';
    try {
      await expect(publisher.publish([event()])).rejects.toThrow(/answered 401/);
      await publisher.publish([event()]);
    } finally {
      refuse = undefined;
    }
    expect(seen.map((h) => h.authorization)).toEqual([
      'Bearer expired',
      'Bearer expired',
      'Bearer expired',
      'Bearer fresh',
    ]);
  });

  it('fails to connect, naming the file, when the token file is missing', async () => {
    const publisher = new KnativePublisher(sink, { tokenFile: '/nonexistent/broker-token' });
    await expect(publisher.connect()).rejects.toThrow(/\/nonexistent\/broker-token/);
  });
});
