// `npm run dead-letters` is a staff operation (docs/security.md): the built CLI against a real
// Kafka, with tokens of a development issuer.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { events } from '@soundgood/event-catalog';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevIssuer, startDevIssuer } from '../src/auth/dev-issuer.js';
import { createEvent, toKafkaRecord } from '../src/index.js';
import { createTopics, requireEnv, testKafka } from '../src/testing.js';

const cli = join(import.meta.dirname, '..', 'dist', 'dead-letters', 'dead-letters.cli.js');
const topic = `test.replay.${randomUUID()}`;
const deadLetterTopic = `${topic}.dead-letters`;
const auditFile = join(tmpdir(), `dead-letters-audit-${randomUUID()}.jsonl`);
const kafka = testKafka();
let issuer: DevIssuer;
const poison = createEvent(
  events.reserveSlot,
  { rentalId: randomUUID(), studentId: randomUUID() },
  { partitionKey: randomUUID() },
);

async function run(args: string[], token?: string, extra: Record<string, string> = {}) {
  const env = {
    ...extra,
    PATH: process.env.PATH,
    KAFKA_BROKERS: requireEnv('KAFKA_BROKERS'),
    KAFKA_TOPIC: topic,
    KAFKA_DEAD_LETTER_TOPIC: deadLetterTopic,
    DEAD_LETTERS_AUDIT_FILE: auditFile,
    ...issuer.env,
    ...(token ? { SOUNDGOOD_OPERATOR_TOKEN: token } : {}),
  };
  return promisify(execFile)(process.execPath, [cli, ...args], { env }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
}

beforeAll(async () => {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: build the runtime first (npm run build)`);
  issuer = await startDevIssuer();
  await createTopics(kafka, [topic, deadLetterTopic], 1);
  const producer = kafka.producer();
  await producer.connect();
  const record = toKafkaRecord(poison);
  await producer.send({
    topic: deadLetterTopic,
    messages: [{ ...record, headers: { ...record.headers, ce_knativeerrorcode: '500' } }],
  });
  await producer.disconnect();
});

afterAll(async () => {
  await issuer?.close();
});

describe('dead-letters CLI', () => {
  it('refuses without a token, with a student token and with an expired staff token, naming why', async () => {
    const none = await run(['list']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/staff bearer token is required in SOUNDGOOD_OPERATOR_TOKEN/);

    const student = await run(['replay', '--all'], await issuer.student(randomUUID()));
    expect(student.code).toBe(1);
    expect(student.stderr).toMatch(/staff operation/);

    const expired = await run(['list'], await issuer.staff({ expiresIn: -3600 }));
    expect(expired.code).toBe(1);
    expect(expired.stderr).toMatch(/expired/);
    expect(existsSync(auditFile)).toBe(false);
  });

  it('lets staff list and replay, and leaves an audit line: who, what, when', async () => {
    const token = await issuer.mint('grace@soundgood.example', ['staff']);
    const list = await run(['list'], token);
    expect(list.stdout).toContain(poison.id);

    const before = Date.now();
    const replay = await run(['replay', poison.id], token);
    expect(replay.code, replay.stderr).toBe(0);
    const line = JSON.parse(readFileSync(auditFile, 'utf8').trim());
    expect(line).toMatchObject({
      audit: 'dead-letters.replay',
      operator: 'grace@soundgood.example',
      issuer: issuer.issuer,
      target: `kafka://${topic}`,
      events: [{ id: poison.id, type: poison.type, partition: 0, offset: '0' }],
    });
    expect(Date.parse(line.at)).toBeGreaterThanOrEqual(before - 1000);
    expect(replay.stdout).toContain(JSON.stringify(line));

    const admin = kafka.admin();
    await admin.connect();
    const [offsets] = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();
    expect(offsets?.high).toBe('1');
  });

  it('replays to a broker ingress with the projected token of K_SINK_TOKEN_FILE as Bearer, and fails naming a missing file', async () => {
    // A real HTTP endpoint in the broker's place: answers 202 to the token, 401 to anything else.
    const brokerToken = `eyJ.projected-token.${randomUUID()}`;
    const tokenFile = join(tmpdir(), `broker-token-${randomUUID()}`);
    writeFileSync(tokenFile, `${brokerToken}\n`); // the kubelet's file; the newline is not part of it
    const received: IncomingHttpHeaders[] = [];
    const server: Server = createServer((req, res) => {
      received.push(req.headers);
      req.resume();
      res.statusCode = req.headers.authorization === `Bearer ${brokerToken}` ? 202 : 401;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const sink = `http://127.0.0.1:${(server.address() as AddressInfo).port}/soundgood/default`;
    try {
      const token = await issuer.staff();
      const replay = await run(['replay', poison.id], token, { K_SINK: sink, K_SINK_TOKEN_FILE: tokenFile });
      expect(replay.code, replay.stderr).toBe(0);
      expect(replay.stdout).toContain(`replayed 1 event(s) to ${sink}`);
      expect(received).toHaveLength(1);
      expect(received[0]).toMatchObject({
        authorization: `Bearer ${brokerToken}`,
        'ce-id': poison.id,
        'ce-type': poison.type,
        'ce-source': poison.source,
      });

      // Without the token file the ingress refuses, as the cluster's would (401), and nothing is audited as sent.
      const anonymous = await run(['replay', poison.id, '--sink', sink], token);
      expect(anonymous.code).toBe(1);
      expect(anonymous.stderr).toMatch(/answered 401/);
      expect(received[1]?.authorization).toBeUndefined();

      const missing = await run(['replay', poison.id, '--sink', sink], token, {
        K_SINK_TOKEN_FILE: `${tokenFile}.absent`,
      });
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain(`${tokenFile}.absent`);
      expect(received).toHaveLength(2);
    } finally {
      server.close();
    }
  });
});
