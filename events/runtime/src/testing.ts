/**
 * Helpers for tests of Soundgood services against the real infrastructure: free ports, a stand-in
 * for the Knative broker ingress (`K_SINK`), posting CloudEvents like a Trigger does, Kafka topics.
 * Imported as `@soundgood/eventing/testing`; not used at run time.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { type CloudEvent, HTTP } from 'cloudevents';
import { type Consumer, type EachMessagePayload, Kafka, logLevel } from 'kafkajs';

export function requireEnv(name: 'DATABASE_URL' | 'KAFKA_BROKERS'): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: run the tests with \`npm test\` at the repository root, which starts Kafka and PostgreSQL`,
    );
  }
  return value;
}

// Below Linux's ephemeral range (32768-60999): a port the OS handed out (listen(0)) and the test then
// freed could be taken by any outgoing connection before the service listened on it (EADDRINUSE seen in
// CI). The range also stays clear of the fixed ports of the local platform (Kafka, PostgreSQL, Jaeger,
// the kube tests), all below 20000.
const TEST_PORTS = { from: 20_000, to: 32_000 };

/**
 * Ports this process has handed out: a stack takes a dozen before its services listen on any, and a
 * port still free at the second ask is no less taken (EADDRINUSE in a fresh-clone CI run).
 */
const handedOut = new Set<number>();

/**
 * A port nothing listens on now, from TEST_PORTS, checked the way the services listen (all
 * interfaces), and never one this process handed out before.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = TEST_PORTS.from + Math.floor(Math.random() * (TEST_PORTS.to - TEST_PORTS.from));
    if (handedOut.has(port) || !(await canListen(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port found in ${TEST_PORTS.from}-${TEST_PORTS.to} after 100 tries`);
}

function canListen(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, () => server.close(() => resolve(true)));
  });
}

export async function waitFor<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

export interface FakeBroker {
  url: string;
  /** Every event accepted, in arrival order. */
  readonly events: CloudEvent<unknown>[];
  /** The status to answer with (202 = accepted, as the real broker ingress). */
  status: number;
  close(): Promise<void>;
}

/** A stand-in for the Knative broker ingress: accepts CloudEvents by POST, answers `status`. */
export async function startFakeBroker(): Promise<FakeBroker> {
  const broker: FakeBroker = {
    url: '',
    events: [],
    status: 202,
    close: async () => {
      await new Promise((resolve) => server.close(resolve));
    },
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (broker.status === 202) {
        const body = Buffer.concat(chunks).toString('utf8');
        broker.events.push(HTTP.toEvent({ headers: req.headers, body }) as CloudEvent<unknown>);
      }
      res.writeHead(broker.status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  broker.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return broker;
}

export interface PostResult {
  status: number;
  /** The reply event, when the answer carries one. */
  reply?: CloudEvent<unknown>;
  /** The error message of a 4xx/5xx answer. */
  error?: string;
}

/** POSTs an event as a Knative Trigger would, in binary (default) or structured content mode. */
export async function postEvent(
  url: string,
  event: CloudEvent<unknown>,
  mode: 'binary' | 'structured' = 'binary',
): Promise<PostResult> {
  const message = mode === 'binary' ? HTTP.binary(event) : HTTP.structured(event);
  return postRaw(url, message.headers as Record<string, string>, message.body as string);
}

export async function postRaw(
  url: string,
  headers: Record<string, string>,
  body: string,
): Promise<PostResult> {
  const response = await fetch(url, { method: 'POST', headers, body });
  const text = await response.text();
  const received = Object.fromEntries(response.headers.entries());
  if (response.status === 200 && received['ce-id']) {
    return { status: 200, reply: HTTP.toEvent({ headers: received, body: text }) as CloudEvent<unknown> };
  }
  const error = text ? (JSON.parse(text) as { error?: string }).error : undefined;
  return { status: response.status, ...(error ? { error } : {}) };
}

export function testKafka(brokers = requireEnv('KAFKA_BROKERS')): Kafka {
  return new Kafka({ clientId: 'soundgood-test', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
}

/**
 * A consumer group of the test's own reading the whole topic from its beginning, handing each record
 * to `onMessage`: what the services published, as any subscriber sees it.
 */
export async function startCollector(
  kafka: Kafka,
  topic: string,
  onMessage: (payload: EachMessagePayload) => void,
): Promise<Consumer> {
  const collector = kafka.consumer({ groupId: `${topic}.collector` });
  await collector.connect();
  await collector.subscribe({ topic, fromBeginning: true });
  await collector.run({ eachMessage: async (payload) => onMessage(payload) });
  return collector;
}

/** Creates fresh topics (Kafka's auto-create is off, as in production) and waits for their leaders. */
export async function createTopics(kafka: Kafka, topics: string[], partitions = 3): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    // waitForLeaders off: kafkajs's own wait throws on that answer instead of retrying (below).
    await admin.createTopics({
      topics: topics.map((topic) => ({ topic, numPartitions: partitions })),
      waitForLeaders: false,
    });
    // kafkajs's own waitForLeaders gives up when KRaft briefly answers "does not host this
    // topic-partition" for a topic it has just created: ask until every partition has a leader.
    await waitFor(
      async () => {
        const metadata = await admin.fetchTopicMetadata({ topics }).catch(() => undefined);
        const ready = metadata?.topics.every(
          (t) => t.partitions.length === partitions && t.partitions.every((p) => p.leader >= 0),
        );
        return ready || undefined;
      },
      `leaders for ${topics.join(', ')}`,
    );
  } finally {
    await admin.disconnect();
  }
}

export {
  authProblems,
  DEV_AUDIENCE,
  type DevIssuer,
  type DevIssuerOptions,
  type MintOptions,
  type RejectedToken,
  rejectedTokens,
  STAFF_SUBJECT,
  startDevIssuer,
} from './auth/dev-issuer.js';
export { startTestService, type TestService } from './test-service.js';
