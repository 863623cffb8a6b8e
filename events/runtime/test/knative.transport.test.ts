/**
 * The knative transport against Knative's real Kafka-broker data plane (scripts/infra/knative.ts):
 * the fixture service publishes to the broker ingress and receives the dispatcher's deliveries, and
 * a recorder stands in for the other subscribers, answering what each test tells it to. What the
 * dispatcher does is its own code at knative-v1.23.0, e.g.
 * data-plane/dispatcher/.../impl/http/WebClientCloudEventSender.java (retries, dead letters).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { INestApplication } from '@nestjs/common';
import { events } from '@soundgood/event-catalog';
import { type CloudEvent, HTTP } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Running } from '../../../scripts/infra/component.ts';
import { knative, startBroker, writeContract } from '../../../scripts/infra/knative.ts';
import { listDeadLetters } from '../src/dead-letters/dead-letters.js';
import { createEvent } from '../src/index.js';
import { freePort, postEvent, postRaw, requireEnv, testKafka, waitFor } from '../src/testing.js';
import { count, fixture, fixtureDatabase, startFixture } from './fixture/fixture.js';

interface Delivery {
  path: string;
  headers: IncomingHttpHeaders;
  event: CloudEvent<unknown>;
  at: number;
}
interface Answer {
  status: number;
  body?: string;
  headers?: Record<string, string>;
}

const run = randomUUID().slice(0, 8);
const namespace = `rt-${run}`;
const deadLetterTopic = `rt.${run}.dead-letters`;
const brokers = requireEnv('KAFKA_BROKERS');
const kafka = testKafka(brokers);

/** Every delivery to a subscriber other than the fixture (students), and what to answer, by event id. */
const deliveries: Delivery[] = [];
const answers = new Map<string, Answer[]>();
let recorder: Server;
let recorderUrl: string;

let broker: Awaited<ReturnType<typeof startBroker>>;
let database: Awaited<ReturnType<typeof fixtureDatabase>>;
let app: INestApplication;
let url: string;
let metricsUrl: string;

beforeAll(async () => {
  recorder = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const event = HTTP.toEvent({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      deliveries.push({
        path: req.url ?? '',
        headers: req.headers,
        event: event as CloudEvent<unknown>,
        at: Date.now(),
      });
      const answer = answers.get((event as CloudEvent<unknown>).id)?.shift() ?? { status: 204 };
      res.writeHead(answer.status, answer.headers).end(answer.body);
    });
  });
  const recorderPort = await freePort();
  await new Promise<void>((done) => recorder.listen(recorderPort, '127.0.0.1', done));
  recorderUrl = `http://127.0.0.1:${recorderPort}`;

  const port = await freePort();
  database = await fixtureDatabase();
  const started = await startFixture({
    EVENT_TRANSPORT: 'knative',
    K_SINK: `http://127.0.0.1:${port}/${namespace}/default`,
    DATABASE_URL: database.url,
  });
  app = started.app;
  url = `http://127.0.0.1:${started.port}/events`;
  metricsUrl = `http://127.0.0.1:${started.metricsPort}/metrics`;
  broker = await startBroker({
    kafkaBrokers: brokers,
    namespace,
    port,
    deadLetterTopic,
    // The catalog's Triggers are UNORDERED; ORDERED here covers the ordered executor too (a held partition).
    deliveryOrder: 'ORDERED',
    subscriberUrl: (service) =>
      service === 'students' ? `http://127.0.0.1:${started.port}` : `${recorderUrl}/${service}`,
  });
}, 240_000);

afterAll(async () => {
  if (broker) await knative.stop(broker.running);
  await app?.close();
  await database?.drop();
  await new Promise((done) => recorder?.close(done));
});

const reserve = (rentalId = randomUUID(), studentId = randomUUID()) =>
  createEvent(events.reserveSlot, { rentalId, studentId }, { partitionKey: rentalId });
/** An event only the recorder subscribes to (rentals consumes slot.rejected). */
const rejected = (rentalId = randomUUID()) =>
  createEvent(
    events.slotRejected,
    { rentalId, studentId: randomUUID(), reason: 'TEST', message: 'test' },
    { partitionKey: rentalId },
  );

async function toIngress(event: CloudEvent<unknown>): Promise<void> {
  const message = HTTP.binary(event);
  const response = await fetch(broker.ingress, {
    method: 'POST',
    headers: message.headers as Record<string, string>,
    body: message.body as string,
  });
  expect(response.status).toBe(202);
}

const deliveriesOf = (id: string) => deliveries.filter((d) => d.event.id === id);
const effects = (rentalId: string) =>
  count(database.url, 'SELECT "times" AS n FROM "effects" WHERE "rental_id" = $1', rentalId);
const inboxSize = () => count(database.url, 'SELECT count(*) AS n FROM "inbox"');

async function deadLetter(id: string) {
  return waitFor(
    async () => (await listDeadLetters(kafka, deadLetterTopic)).find((l) => l.id === id),
    `dead letter ${id}`,
    20_000,
  );
}

describe('knative transport through the real broker', () => {
  it("delivers an event from the ingress to its Trigger's subscriber, binary, with prefer: reply and the knativekafka extensions", async () => {
    const event = rejected();
    await toIngress(event);
    const [delivery] = [await waitFor(() => deliveriesOf(event.id)[0], 'the delivery')];
    expect(delivery.path).toBe('/rentals/events');
    expect(delivery.headers.prefer).toBe('reply');
    expect(delivery.headers['ce-type']).toBe(events.slotRejected.type);
    expect(delivery.headers['ce-partitionkey']).toBe(event.partitionkey);
    expect(delivery.headers['ce-knativekafkapartition']).toMatch(/^[0-2]$/);
    expect(delivery.headers['ce-knativekafkaoffset']).toMatch(/^\d+$/);
    expect(delivery.event.data).toEqual(event.data);
  });

  it('sends the subscriber’s reply back into the broker, on to the next Trigger', async () => {
    const event = reserve();
    const rentalId = (event.data as { rentalId: string }).rentalId;
    await toIngress(event);
    const reply = await waitFor(
      () =>
        deliveries.find(
          (d) => d.event.type === events.slotReserved.type && d.event.partitionkey === rentalId,
        ),
      'slot.reserved, the fixture’s reply, at the rentals subscriber',
    );
    expect(reply.path).toBe('/rentals/events');
    expect(reply.event.source).toBe(events.slotReserved.source);
    expect(await effects(rentalId)).toBe(1);
  });

  it('publishes what a handler writes to the outbox through the ingress', async () => {
    const rentalId = randomUUID();
    await toIngress(
      createEvent(events.releaseSlot, { rentalId, studentId: randomUUID() }, { partitionKey: rentalId }),
    );
    const released = await waitFor(
      () =>
        deliveries.find(
          (d) => d.event.type === events.slotReleased.type && d.event.partitionkey === rentalId,
        ),
      'slot.released through the broker',
    );
    expect(released.event.data).toMatchObject({ rentalId });
  });

  it('retries 404, 409 and 429 with exponential backoff, then delivers, and dead-letters nothing', async () => {
    const event = rejected();
    answers.set(event.id, [{ status: 404 }, { status: 409 }, { status: 429 }, { status: 204 }]);
    await toIngress(event);
    const all = await waitFor(
      () => (deliveriesOf(event.id).length === 4 ? deliveriesOf(event.id) : undefined),
      'four attempts',
    );
    const gaps = all.slice(1).map((d, i) => d.at - (all[i] as Delivery).at);
    // The Triggers' backoffDelay PT0.5S, exponential: 0.5 s x 2^n from n = 1.
    expect(gaps[0]).toBeGreaterThanOrEqual(900);
    expect(gaps[1]).toBeGreaterThanOrEqual(1800);
    expect(gaps[2]).toBeGreaterThanOrEqual(3600);
    await new Promise((r) => setTimeout(r, 500));
    expect(deliveriesOf(event.id)).toHaveLength(4);
    expect((await listDeadLetters(kafka, deadLetterTopic)).find((l) => l.id === event.id)).toBeUndefined();
  });

  it('dead-letters any other 4xx at once, with knativeerrordest, knativeerrorcode and knativeerrordata', async () => {
    const event = rejected();
    answers.set(event.id, [
      { status: 422, body: '{"error":"cannot ever work"}', headers: { 'content-type': 'application/json' } },
    ]);
    await toIngress(event);
    const letter = await deadLetter(event.id);
    expect(letter.code).toBe('422');
    expect(letter.destination).toBe(`${recorderUrl}/rentals/events`);
    expect(letter.reason).toBe('{"error":"cannot ever work"}');
    expect(letter.type).toBe(events.slotRejected.type);
    expect(deliveriesOf(event.id)).toHaveLength(1);
  });

  it('dead-letters an event the service rejects as invalid (400), naming the problem', async () => {
    const event = reserve();
    const broken = event.cloneWith({ data: { rentalId: 'not-a-uuid' } }, false);
    await toIngress(broken);
    const letter = await deadLetter(broken.id);
    expect(letter.code).toBe('400');
    expect(letter.destination).toBe(url);
    expect(letter.reason).toMatch(/rentalId/);
  });

  it('refuses an event whose source is not its type’s producer with 403: not retried, dead-lettered, nothing applied, counted', async () => {
    // Locally the ingress runs without OIDC and accepts any sender (in a cluster the broker's
    // EventPolicies refuse it first): the service's own check is what stops it here.
    const event = reserve();
    const rentalId = (event.data as { rentalId: string }).rentalId;
    const forged = event.cloneWith({ source: '/evil' }, false);
    const refused = async () => {
      const text = await (await fetch(metricsUrl)).text();
      const line = text
        .split('\n')
        .find((l) => l.startsWith(`soundgood_events_refused_total{event_type="${events.reserveSlot.type}"`));
      return Number(line?.split(' ').pop() ?? 0);
    };
    const before = await refused();
    await toIngress(forged);
    const letter = await deadLetter(forged.id);
    expect(letter.code).toBe('403');
    expect(letter.destination).toBe(url);
    expect(letter.reason).toContain(
      'comes only from its producer rentals (source /soundgood/rentals), not from source \\"/evil\\"',
    );
    // 403 is not one of the codes the dispatcher retries (404, 408, 409, 429, 5xx): one attempt only.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await refused()).toBe(before + 1);
    expect(await effects(rentalId)).toBe(0);
    expect(
      await count(database.url, 'SELECT count(*) AS n FROM "inbox" WHERE "event_id" = $1', forged.id),
    ).toBe(0);
    expect(deliveries.filter((d) => d.event.partitionkey === rentalId)).toHaveLength(0);
  });

  it('counts a 200 answer whose body is not a CloudEvent as a failure: dead-lettered, not retried', async () => {
    // The HTTP exchange succeeded, so nothing is retried; decoding the reply fails, and a failed
    // reply goes to the dead-letter sink (dispatcher BaseResponseHandler.handle at knative-v1.23.0),
    // marked with the destination only: the failure is not an HTTP error, so no code and no data.
    const event = rejected();
    answers.set(event.id, [{ status: 200, body: 'fine, thanks', headers: { 'content-type': 'text/plain' } }]);
    await toIngress(event);
    const letter = await deadLetter(event.id);
    expect(letter.destination).toBe(`${recorderUrl}/rentals/events`);
    expect(letter.code).toBeUndefined();
    expect(deliveriesOf(event.id)).toHaveLength(1);
  });

  it('holds the partition on an ordered Trigger while one of its events is retried', async () => {
    const rentalId = randomUUID();
    const first = rejected(rentalId);
    const second = rejected(rentalId);
    answers.set(first.id, [{ status: 503 }, { status: 503 }, { status: 204 }]);
    await toIngress(first);
    await toIngress(second);
    const done = await waitFor(() => deliveriesOf(second.id)[0], 'the second event', 20_000);
    const attempts = deliveriesOf(first.id);
    expect(attempts).toHaveLength(3);
    expect(done.at).toBeGreaterThanOrEqual((attempts[2] as Delivery).at);
    expect(done.headers['ce-knativekafkapartition']).toBe(attempts[0]?.headers['ce-knativekafkapartition']);
  });
});

describe('knative transport: the service side of a delivery', () => {
  it('acknowledges a redelivered event with the same reply and applies its effect once', async () => {
    const event = reserve();
    const first = await postEvent(url, event);
    const again = await Promise.all([postEvent(url, event), postEvent(url, event)]);
    for (const result of again) {
      expect(result.status).toBe(200);
      expect(result.reply?.id).toBe(first.reply?.id);
    }
    expect(await effects((event.data as { rentalId: string }).rentalId)).toBe(1);
  });

  it('handles a structured-mode event like a binary one', async () => {
    const result = await postEvent(url, reserve(), 'structured');
    expect(result.status).toBe(200);
    expect(result.reply?.type).toBe(events.slotReserved.type);
  });

  it('answers 500 when the handler fails, so that the broker retries', async () => {
    fixture.failing = true;
    try {
      const result = await postEvent(url, reserve(randomUUID(), fixture.poisonStudentId));
      expect(result.status).toBe(500);
      expect(result.error).toContain('simulated handler failure');
    } finally {
      fixture.failing = false;
    }
  });

  const bad: [string, () => Promise<Awaited<ReturnType<typeof postRaw>>>, number, RegExp][] = [
    [
      'a body that is not a CloudEvent',
      () => postRaw(url, { 'content-type': 'application/json' }, '{"hello":"world"}'),
      400,
      /not a valid CloudEvent/,
    ],
    [
      'a binary event without ce-source',
      () => {
        const { headers, body } = HTTP.binary(reserve());
        const { 'ce-source': _source, ...rest } = headers as Record<string, string>;
        return postRaw(url, rest, body as string);
      },
      400,
      /source/,
    ],
    [
      'an unknown type',
      () => postEvent(url, reserve().cloneWith({ type: 'dev.soundgood.nobody.thing.v1' }, false)),
      400,
      /unknown event type "dev\.soundgood\.nobody\.thing\.v1"/,
    ],
    [
      'a catalog type this service does not consume',
      () => postEvent(url, rejected()),
      400,
      /students does not consume events of type dev\.soundgood\.students\.slot\.rejected\.v1/,
    ],
    [
      'an event whose source is not its type’s producer (a forged slot.reserve)',
      () => postEvent(url, reserve().cloneWith({ source: '/evil' }, false)),
      403,
      /dev\.soundgood\.students\.slot\.reserve\.v1 comes only from its producer rentals \(source \/soundgood\/rentals\), not from source "\/evil"/,
    ],
    [
      'a reply-shaped fact from another producer’s source (slot.release claimed by students)',
      () =>
        postEvent(
          url,
          createEvent(
            events.releaseSlot,
            { rentalId: randomUUID(), studentId: randomUUID() },
            { partitionKey: 'x' },
          ).cloneWith({ source: events.slotReleased.source }, false),
        ),
      403,
      /comes only from its producer rentals/,
    ],
    [
      'data failing its schema',
      () => postEvent(url, reserve().cloneWith({ data: { rentalId: 'not-a-uuid' } }, false)),
      400,
      /rentalId: .*studentId: /,
    ],
    [
      'batched content mode',
      () =>
        postRaw(url, { 'content-type': 'application/cloudevents-batch+json' }, JSON.stringify([reserve()])),
      415,
      /batched content mode is not supported/,
    ],
  ];

  for (const [what, send, status, message] of bad) {
    it(`rejects ${what} with ${status} and writes nothing`, async () => {
      const before = await inboxSize();
      const result = await send();
      expect(result.status).toBe(status);
      expect(result.error).toMatch(message);
      expect(await inboxSize()).toBe(before);
    });
  }

  it('rejects other methods than POST with 405', async () => {
    const response = await fetch(url, { method: 'GET' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });
});

describe('knative transport: publishing', () => {
  it('keeps an event in the outbox until the broker ingress accepts it', async () => {
    // A second service whose broker (path /<namespace>/late) is not in the contract yet: the
    // receiver answers 404, as for a Broker that is not ready.
    const late = await fixtureDatabase();
    const other = await startFixture({
      EVENT_TRANSPORT: 'knative',
      K_SINK: broker.ingress.replace(/\/default$/, '/late'),
      DATABASE_URL: late.url,
    });
    const unpublished = () =>
      count(late.url, 'SELECT count(*) AS n FROM "outbox" WHERE "published_at" IS NULL');
    try {
      const rentalId = randomUUID();
      const release = createEvent(
        events.releaseSlot,
        { rentalId, studentId: randomUUID() },
        { partitionKey: rentalId },
      );
      expect((await postEvent(`http://127.0.0.1:${other.port}/events`, release)).status).toBe(204);
      await new Promise((r) => setTimeout(r, 800));
      expect(await unpublished()).toBe(1);

      const [brokerResource, sink] = broker.contract.resources;
      const lateResource = {
        ...sink,
        uid: randomUUID(),
        topics: brokerResource.topics,
        ingress: { ...brokerResource.ingress, path: `/${namespace}/late` },
      };
      writeContract(broker.running as Running, {
        ...broker.contract,
        generation: '2',
        resources: [brokerResource, sink, lateResource],
      });
      await waitFor(
        () =>
          deliveries.find(
            (d) => d.event.type === events.slotReleased.type && d.event.partitionkey === rentalId,
          ),
        'slot.released once the broker accepted it',
        20_000,
      );
      expect(await unpublished()).toBe(0);
    } finally {
      await other.app.close();
      await late.drop();
    }
  });
});
