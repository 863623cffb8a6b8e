/**
 * Graceful shutdown (issue 12; docs/failure-model.md, "Graceful stop (SIGTERM)"), against the real
 * Kafka and PostgreSQL: an event whose handler is still running when the stop begins is finished and
 * committed, the outbox row it wrote is published before the stop returns, the consumers have left
 * their groups, and the whole stop takes far less than Kubernetes' 30 s grace period.
 *
 * The stop is `app.close('SIGTERM')`: what the handler that runService installs with
 * `app.enableShutdownHooks(['SIGTERM', 'SIGINT'])` runs on SIGTERM, before it ends the process. A
 * real signal would end the test's worker, and the fixture module (decorators, Nest DI metadata)
 * runs only under vitest's transform, not in a child `node` process.
 *
 * Nest's order on close: not ready (HealthController), the HTTP server closes (it waits for the
 * requests in hand: API calls, and /events deliveries on Knative), then EventingServer.close: the
 * consumers finish their events, commit and leave, then the relay publishes what the outbox holds.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { INestApplication } from '@nestjs/common';
import type { NestApplicationContext } from '@nestjs/core';
import { events } from '@soundgood/event-catalog';
import type { CloudEvent } from 'cloudevents';
import type { Admin, Consumer, Kafka, KafkaMessage } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { consumerGroupsOf, createEvent, defaultConsumerGroupMode, KafkaPublisher } from '../src/index.js';
import {
  createTopics,
  postEvent,
  startCollector,
  startFakeBroker,
  testKafka,
  waitFor,
} from '../src/testing.js';
import { count, fixture, fixtureDatabase, kafkaFixtureEnv, startFixture } from './fixture/fixture.js';

/** Kubernetes' default terminationGracePeriodSeconds, which the Deployments keep (k8s/). */
const GRACE_PERIOD_MS = 30_000;
/** The bound the stop must keep: a third of the grace period, for a loaded machine. */
const STOP_BOUND_MS = 10_000;
/** How long the test holds the handler in flight once the stop has begun. */
const HOLD_MS = 1_500;

const topic = `test.shutdown.${randomUUID()}`;
const deadLetterTopic = `${topic}.dead-letters`;
const groups = consumerGroupsOf('students', defaultConsumerGroupMode);
const groupIds = groups.map((g) => `${topic}.${g.name}`);
const releaseGroup = `${topic}.${groups.find((g) => g.subscriptions.some((s) => s.event.type === events.releaseSlot.type))?.name}`;
let kafka: Kafka;
let admin: Admin;
let publisher: KafkaPublisher;
let collector: Consumer;
const seen: { partition: number; message: KafkaMessage }[] = [];
const databases: Awaited<ReturnType<typeof fixtureDatabase>>[] = [];
const apps: INestApplication[] = [];

const kafkaEnv = (databaseUrl: string) => kafkaFixtureEnv({ topic, deadLetterTopic }, databaseUrl);

beforeAll(async () => {
  kafka = testKafka();
  await createTopics(kafka, [topic, deadLetterTopic]);
  admin = kafka.admin();
  await admin.connect();
  publisher = new KafkaPublisher(kafka, topic);
  await publisher.connect();
  collector = await startCollector(kafka, topic, ({ partition, message }) =>
    seen.push({ partition, message }),
  );
});

afterEach(() => {
  fixture.onRelease = undefined;
});

afterAll(async () => {
  for (const app of apps) await app.close().catch(() => undefined);
  await collector?.disconnect();
  await publisher?.disconnect();
  await admin?.disconnect();
  for (const database of databases) await database.drop();
});

const header = (message: KafkaMessage, name: string) => message.headers?.[name]?.toString();
const records = (type: string, rentalId: string) =>
  seen.filter(({ message }) => header(message, 'ce_type') === type && message.key?.toString() === rentalId);
const release = (rentalId: string) =>
  createEvent(events.releaseSlot, { rentalId, studentId: randomUUID() }, { partitionKey: rentalId });

/** Holds the release handler of `event` until `finish()`; `inHand` resolves once it runs. */
function holdRelease(event: CloudEvent<unknown>) {
  let started!: () => void;
  let finish!: () => void;
  const inHand = new Promise<void>((resolve) => {
    started = resolve;
  });
  const gate = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const held = { inHand, finish, calls: 0 };
  fixture.onRelease = async (handled) => {
    if (handled.id !== event.id) return;
    held.calls++;
    started();
    await gate;
  };
  return held;
}

/** What the SIGTERM handler runs (INestApplication's type omits the signal argument). */
const stopAsOnSigterm = (app: INestApplication) =>
  (app as unknown as NestApplicationContext).close('SIGTERM');

/**
 * Starts the stop while `held` is in hand, checks that it waits for the handler, lets the handler
 * finish, and returns how long the stop took.
 */
async function stopWhileInHand(app: INestApplication, held: ReturnType<typeof holdRelease>): Promise<number> {
  const started = performance.now();
  let stopped = false;
  const stopping = stopAsOnSigterm(app).then(() => {
    stopped = true;
  });
  try {
    await new Promise((resolve) => setTimeout(resolve, HOLD_MS));
    expect(stopped, 'the stop waits for the handler in hand').toBe(false);
  } finally {
    held.finish();
  }
  await stopping;
  return performance.now() - started;
}

describe('graceful shutdown on the kafka transport', () => {
  it('finishes the event in hand, publishes its outbox row, leaves the groups, well within the grace period', async () => {
    const database = await fixtureDatabase();
    databases.push(database);
    const { app, port } = await startFixture(kafkaEnv(database.url));
    apps.push(app);
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200 || undefined,
      'the service in its groups',
    );
    const clientId = `soundgood-students@${hostname()}:${port}`;
    const members = async () =>
      (await admin.describeGroups(groupIds)).groups.flatMap((g) =>
        g.members.map((m) => ({ group: g.groupId, clientId: m.clientId })),
      );
    expect((await members()).filter((m) => m.clientId === clientId)).toHaveLength(groupIds.length);

    const rentalId = randomUUID();
    const event = release(rentalId);
    const held = holdRelease(event);
    await publisher.publish([event]);
    await held.inHand;

    const tookMs = await stopWhileInHand(app, held);
    console.log(
      `graceful shutdown (kafka) took ${Math.round(tookMs)} ms, ${HOLD_MS} ms of it the handler held in flight`,
    );

    // 1. The handler finished: its inbox row (and, with it, its effect: the outbox row) committed.
    expect(
      await count(database.url, 'SELECT count(*) AS n FROM "inbox" WHERE "event_id" = $1', event.id),
    ).toBe(1);
    // ... and its offset committed before the consumer left: the next member does not get it again.
    const [record] = records(events.releaseSlot.type, rentalId);
    expect(record, 'the collector saw the held event').toBeDefined();
    const committed = (
      await admin.fetchOffsets({ groupId: releaseGroup, topics: [topic] })
    )[0]?.partitions.find((p) => p.partition === record?.partition);
    expect(Number(committed?.offset)).toBeGreaterThan(Number(record?.message.offset));

    // 2. The relay was flushed: the outbox row the handler wrote is published, before close returned.
    expect(await count(database.url, 'SELECT count(*) AS n FROM "outbox"')).toBe(1);
    expect(await count(database.url, 'SELECT count(*) AS n FROM "outbox" WHERE "published_at" IS NULL')).toBe(
      0,
    );
    await waitFor(() => records(events.slotReleased.type, rentalId).length > 0 || undefined, 'slot.released');

    // 3. No member of this instance is left in its groups: a successor gets the partitions at once.
    expect(await members()).toEqual([]);

    // 4. Well within the grace period.
    expect(tookMs).toBeLessThan(STOP_BOUND_MS);
    expect(STOP_BOUND_MS).toBeLessThan(GRACE_PERIOD_MS);

    // A successor on the same database consumes what comes next, and handles the held event no more.
    const successorStart = performance.now();
    const successor = await startFixture(kafkaEnv(database.url));
    apps.push(successor.app);
    const next = release(randomUUID());
    await publisher.publish([next]);
    await waitFor(
      async () =>
        (await count(database.url, 'SELECT count(*) AS n FROM "inbox" WHERE "event_id" = $1', next.id)) ===
          1 || undefined,
      'the successor handling the next event',
    );
    console.log(
      `the successor handled the next event ${Math.round(performance.now() - successorStart)} ms after its start`,
    );
    expect(held.calls).toBe(1);
    expect(await count(database.url, 'SELECT count(*) AS n FROM "inbox"')).toBe(2);
    await successor.app.close();
  });
});

/** The fixture service on the knative transport, publishing to a fake broker ingress, on its own database. */
async function startKnativeFixture() {
  const database = await fixtureDatabase();
  databases.push(database);
  const broker = await startFakeBroker();
  try {
    const { app, port } = await startFixture({
      EVENT_TRANSPORT: 'knative',
      K_SINK: broker.url,
      DATABASE_URL: database.url,
    });
    apps.push(app);
    return { database, broker, app, port };
  } catch (error) {
    await broker.close();
    throw error;
  }
}

describe('graceful shutdown on the knative transport', () => {
  it('answers the /events request in hand and publishes the outbox row its handler wrote', async () => {
    const { database, broker, app, port } = await startKnativeFixture();
    try {
      const rentalId = randomUUID();
      const event = release(rentalId);
      const held = holdRelease(event);
      const answer = postEvent(`http://127.0.0.1:${port}/events`, event);
      await held.inHand;

      const tookMs = await stopWhileInHand(app, held);
      console.log(`graceful shutdown (knative) took ${Math.round(tookMs)} ms`);

      expect((await answer).status).toBe(204);
      expect(
        await count(database.url, 'SELECT count(*) AS n FROM "inbox" WHERE "event_id" = $1', event.id),
      ).toBe(1);
      expect(await count(database.url, 'SELECT count(*) AS n FROM "outbox"')).toBe(1);
      expect(
        await count(database.url, 'SELECT count(*) AS n FROM "outbox" WHERE "published_at" IS NULL'),
      ).toBe(0);
      expect(
        broker.events.filter(
          (e) =>
            e.type === events.slotReleased.type && (e.data as { rentalId: string }).rentalId === rentalId,
        ),
      ).toHaveLength(1);
      expect(tookMs).toBeLessThan(STOP_BOUND_MS);
    } finally {
      await broker.close();
    }
  });

  it('closes a keep-alive connection that its client keeps using, so that it does not hold the stop', async () => {
    // As the data plane's dispatcher may: its pooled connections outlive the pod's endpoint.
    const { broker, app, port } = await startKnativeFixture();
    try {
      const url = `http://127.0.0.1:${port}/events`;
      // A delivery in hand when the stop begins: its connection stays open for its answer, and
      // fetch keeps it alive afterwards and sends the next requests on it.
      const event = release(randomUUID());
      const held = holdRelease(event);
      const answer = postEvent(url, event);
      await held.inHand;
      const started = performance.now();
      let stopped = false;
      const stopping = stopAsOnSigterm(app).then(() => {
        stopped = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      held.finish();
      expect((await answer).status).toBe(204);
      let answered = 0;
      while (!stopped && performance.now() - started < 2 * STOP_BOUND_MS) {
        // Refused once the server has stopped listening and the kept connection is closed.
        if ((await postEvent(url, release(randomUUID())).catch(() => undefined))?.status === 204) answered++;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await stopping;
      const tookMs = performance.now() - started;
      console.log(
        `graceful shutdown (knative, a client sending on a kept-alive connection) took ${Math.round(tookMs)} ms; ${answered} requests answered meanwhile`,
      );
      expect(tookMs).toBeLessThan(STOP_BOUND_MS);
    } finally {
      await broker.close();
    }
  });
});
