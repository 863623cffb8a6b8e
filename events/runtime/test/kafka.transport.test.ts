import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { events, subscriptionsOf } from '@soundgood/event-catalog';
import { CloudEvent, Kafka as KafkaBinding } from 'cloudevents';
import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listDeadLetters, originalRecord } from '../src/dead-letters/dead-letters.js';
import { createEvent, KafkaPublisher, OutboxRelay } from '../src/index.js';
import { createTopics, startCollector, testKafka, waitFor } from '../src/testing.js';
import {
  commitToOutbox,
  count,
  fixture,
  fixtureDatabase,
  kafkaFixtureEnv,
  startFixture,
} from './fixture/fixture.js';

const topic = `test.events.${randomUUID()}`;
const deadLetterTopic = `${topic}.dead-letters`;
let kafka: Kafka;
let publisher: KafkaPublisher;
let collector: Consumer;
const seen: KafkaMessage[] = [];
const databases: Awaited<ReturnType<typeof fixtureDatabase>>[] = [];
let app: INestApplication;
let port: number;
let metricsPort: number;
let url: string;

const kafkaEnv = (databaseUrl: string) => kafkaFixtureEnv({ topic, deadLetterTopic }, databaseUrl);

beforeAll(async () => {
  kafka = testKafka();
  await createTopics(kafka, [topic, deadLetterTopic]);
  publisher = new KafkaPublisher(kafka, topic);
  await publisher.connect();
  collector = await startCollector(kafka, topic, ({ message }) => seen.push(message));
  const database = await fixtureDatabase();
  databases.push(database);
  url = database.url;
  ({ app, port, metricsPort } = await startFixture(kafkaEnv(url)));
});

afterAll(async () => {
  await app?.close();
  await collector?.disconnect();
  await publisher?.disconnect();
  for (const database of databases) await database.drop();
});

const header = (message: KafkaMessage, name: string) => message.headers?.[name]?.toString();
const replies = (rentalId: string, type: string = events.slotReserved.type) =>
  seen.filter((m) => header(m, 'ce_type') === type && m.key?.toString() === rentalId);
const reserve = (rentalId: string, studentId = randomUUID()) =>
  createEvent(events.reserveSlot, { rentalId, studentId }, { partitionKey: rentalId });
const effects = (rentalId: string) =>
  count(url, 'SELECT "times" AS n FROM "effects" WHERE "rental_id" = $1', rentalId);

describe('kafka transport', () => {
  it('delivers an event to its subscriber and publishes the reply through the outbox', async () => {
    const rentalId = randomUUID();
    await publisher.publish([reserve(rentalId)]);
    const [reply] = await waitFor(
      () => (replies(rentalId).length > 0 ? replies(rentalId) : undefined),
      'the reply',
    );
    expect(await effects(rentalId)).toBe(1);
    expect(header(reply as KafkaMessage, 'ce_source')).toBe(events.slotReserved.source);
  });

  it('writes records that the cloudevents SDK reads as binary-mode CloudEvents keyed by partitionkey', async () => {
    const rentalId = randomUUID();
    await publisher.publish([reserve(rentalId)]);
    const [record] = await waitFor(
      () => (replies(rentalId).length > 0 ? replies(rentalId) : undefined),
      'the reply',
    );
    const message = record as KafkaMessage;
    const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
    expect(headers.ce_specversion).toBe('1.0');
    expect(headers['content-type']).toBe('application/json');
    const event = KafkaBinding.toEvent({
      headers,
      key: message.key?.toString() ?? '',
      value: message.value?.toString() ?? '',
      body: message.value?.toString() ?? '',
      timestamp: message.timestamp,
    } as Parameters<typeof KafkaBinding.toEvent>[0]) as CloudEvent<{ rentalId: string }>;
    expect(event).toBeInstanceOf(CloudEvent);
    expect(event.validate()).toBe(true);
    expect(event.type).toBe(events.slotReserved.type);
    expect(event.partitionkey).toBe(rentalId);
    expect(event.data?.rentalId).toBe(rentalId);
  });

  it('applies an event delivered twice once, and replies once', async () => {
    const rentalId = randomUUID();
    const event = reserve(rentalId);
    await publisher.publish([event, event]);
    await publisher.publish([event]);
    await waitFor(() => replies(rentalId).length > 0 || undefined, 'the reply');
    await waitFor(
      async () =>
        (await count(url, 'SELECT count(*) AS n FROM "inbox" WHERE "event_id" = $1', event.id)) === 1 ||
        undefined,
      'the inbox row',
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(await effects(rentalId)).toBe(1);
    expect(replies(rentalId)).toHaveLength(1);
  });

  it('publishes an event committed before a crash once the service is back', async () => {
    // The process committed its state change and its outbox row, then died before publishing.
    const database = await fixtureDatabase();
    databases.push(database);
    const rentalId = randomUUID();
    await commitToOutbox(
      database.url,
      createEvent(events.slotReleased, { rentalId, studentId: randomUUID() }, { partitionKey: rentalId }),
    );
    expect(await count(database.url, 'SELECT count(*) AS n FROM "outbox" WHERE "published_at" IS NULL')).toBe(
      1,
    );

    // Restarted: a service instance on that database (it joins the same consumer groups meanwhile).
    const restarted = await startFixture(kafkaEnv(database.url));
    try {
      await waitFor(
        () => replies(rentalId, events.slotReleased.type).length > 0 || undefined,
        'the event after restart',
      );
      await waitFor(
        async () =>
          (await count(database.url, 'SELECT count(*) AS n FROM "outbox" WHERE "published_at" IS NULL')) ===
            0 || undefined,
        'published_at',
      );
    } finally {
      await restarted.app.close();
    }
  });

  it('keeps an event whose publication failed and publishes it when the transport recovers', async () => {
    const database = await fixtureDatabase();
    databases.push(database);
    const rentalId = randomUUID();
    let failures = 2;
    const flaky = {
      connect: () => publisher.connect(),
      disconnect: async () => undefined,
      publish: async (batch: readonly CloudEvent<unknown>[]) => {
        if (failures-- > 0) throw new Error('simulated broker outage');
        await publisher.publish(batch);
      },
    };
    const logger = { log: () => undefined, error: () => undefined, warn: () => undefined };
    const relay = new OutboxRelay({
      databaseUrl: database.url,
      publisher: flaky,
      logger,
      pollIntervalMs: 100,
    });
    await commitToOutbox(
      database.url,
      createEvent(events.slotReleased, { rentalId, studentId: randomUUID() }, { partitionKey: rentalId }),
    );
    await relay.start();
    try {
      await waitFor(
        () => replies(rentalId, events.slotReleased.type).length > 0 || undefined,
        'the event after the outage',
      );
      expect(failures).toBeLessThan(0);
    } finally {
      await relay.stop();
    }
    expect(replies(rentalId, events.slotReleased.type)).toHaveLength(1);
  });

  it('publishes every event once and in the order written when two relays share a database', async () => {
    const database = await fixtureDatabase();
    databases.push(database);
    const published: string[] = [];
    const batches: number[] = [0, 0];
    // Slow publishers, so that the two relays' drains overlap: one holds the lock while the other tries.
    const recording = (relay: number) => ({
      connect: async () => undefined,
      disconnect: async () => undefined,
      publish: async (batch: readonly CloudEvent<unknown>[]) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        published.push(...batch.map((event) => event.id));
        batches[relay] = (batches[relay] as number) + 1;
      },
    });
    const logger = { log: () => undefined, error: () => undefined, warn: () => undefined };
    const relays = [0, 1].map(
      (relay) =>
        new OutboxRelay({
          databaseUrl: database.url,
          publisher: recording(relay),
          logger,
          pollIntervalMs: 50,
          batchSize: 7,
        }),
    );
    const written: string[] = [];
    await Promise.all(relays.map((relay) => relay.start()));
    try {
      for (let i = 0; i < 120; i++) {
        const rentalId = randomUUID();
        const event = createEvent(
          events.slotReleased,
          { rentalId, studentId: randomUUID() },
          { partitionKey: rentalId },
        );
        written.push(event.id);
        await commitToOutbox(database.url, event);
      }
      await waitFor(() => published.length >= written.length || undefined, 'all 120 events published');
      await new Promise((resolve) => setTimeout(resolve, 300)); // a duplicate would show by now
    } finally {
      await Promise.all(relays.map((relay) => relay.stop()));
    }
    expect(published).toEqual(written);
    expect(batches.every((n) => n > 0)).toBe(true); // both relays took turns, neither published alone
    expect(
      await count(database.url, 'SELECT count(*)::int AS n FROM "outbox" WHERE "published_at" IS NULL'),
    ).toBe(0);
  });

  it('dead-letters a poison event after the configured retries, keeps the partition flowing, and replays it', async () => {
    const key = randomUUID();
    const poison = createEvent(
      events.reserveSlot,
      { rentalId: key, studentId: fixture.poisonStudentId },
      { partitionKey: key },
    );
    const next = createEvent(
      events.reserveSlot,
      { rentalId: key, studentId: randomUUID() },
      { partitionKey: key },
    );
    fixture.failing = true;
    await publisher.publish([poison, next]);
    // The event behind the poison on the same partition is handled: the partition was not blocked.
    await waitFor(() => replies(key).length > 0 || undefined, 'the event behind the poison');
    const letters = await waitFor(async () => {
      const all = await listDeadLetters(kafka, deadLetterTopic);
      return all.some((l) => l.id === poison.id) ? all : undefined;
    }, 'the dead letter');
    const letter = letters.find((l) => l.id === poison.id);
    expect(letter?.code).toBe('500');
    expect(letter?.destination).toBe(`kafka://${topic}/students-slot-reserve`);
    expect(letter?.reason).toContain('simulated handler failure');

    fixture.failing = false;
    await publisher.sendRecords(topic, letters.filter((l) => l.id === poison.id).map(originalRecord));
    await waitFor(
      async () =>
        (await count(url, 'SELECT count(*) AS n FROM "inbox" WHERE "event_id" = $1', poison.id)) === 1 ||
        undefined,
      'the replayed event',
    );
    expect(await effects(key)).toBe(2);
  });

  it('dead-letters an event with invalid data at once, with a 400 and the reason', async () => {
    const rentalId = randomUUID();
    const invalid = new CloudEvent({
      type: events.reserveSlot.type,
      source: events.reserveSlot.source,
      datacontenttype: 'application/json',
      partitionkey: rentalId,
      data: { rentalId, studentId: 42 },
    });
    await publisher.publish([invalid]);
    const letter = await waitFor(
      async () => (await listDeadLetters(kafka, deadLetterTopic)).find((l) => l.id === invalid.id),
      'the dead letter',
    );
    expect(letter.code).toBe('400');
    expect(letter.reason).toMatch(/studentId/);
  });

  it('refuses an event whose source is not its type’s producer: dead-lettered at once with a 403, nothing applied', async () => {
    const rentalId = randomUUID();
    const forged = reserve(rentalId).cloneWith({ source: '/evil' }, false);
    await publisher.publish([forged]);
    const letter = await waitFor(
      async () => (await listDeadLetters(kafka, deadLetterTopic)).find((l) => l.id === forged.id),
      'the dead letter',
    );
    expect(letter.code).toBe('403');
    expect(letter.reason).toBe(
      `${events.reserveSlot.type} comes only from its producer rentals (source /soundgood/rentals), not from source "/evil"`,
    );
    expect(await effects(rentalId)).toBe(0);
    expect(replies(rentalId)).toHaveLength(0);
    expect(replies(rentalId, events.slotRejected.type)).toHaveLength(0);
    expect(await count(url, 'SELECT count(*) AS n FROM "inbox" WHERE "event_id" = $1', forged.id)).toBe(0);
  });

  it('is ready once every subscription has joined its consumer group', async () => {
    const ready = await waitFor(async () => {
      const response = await fetch(`http://127.0.0.1:${port}/readyz`);
      return response.status === 200 ? ((await response.json()) as unknown) : undefined;
    }, '/readyz');
    expect(ready).toEqual({ status: 'ready', database: 'up', transport: 'up' });
  });

  it('counts handled events by type and outcome on /metrics', async () => {
    const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    const text = await response.text();
    const type = 'event_type="dev.soundgood.students.slot.reserve.v1"';
    expect(text).toContain(`soundgood_events_consumed_total{${type},outcome="success",service="students"}`);
    expect(text).toContain(`soundgood_events_consumed_total{${type},outcome="duplicate",service="students"}`);
    expect(text).toContain(`soundgood_events_consumed_total{${type},outcome="invalid",service="students"}`);
    expect(text).toContain(
      `soundgood_dead_letters_total{${type},subscription="students-slot-reserve",service="students"} 3`,
    );
    expect(text).toContain(`soundgood_events_refused_total{${type},service="students"} 1`);
    expect(text).toMatch(/soundgood_outbox_lag_seconds_count\{service="students"\} [1-9]/);
  });
});

describe('kafka transport with one consumer group per subscription', () => {
  it('delivers every subscription through a group of its own, as Knative has one per Trigger', async () => {
    const groupedTopic = `test.grouped.${randomUUID()}`;
    await createTopics(kafka, [groupedTopic]);
    const database = await fixtureDatabase();
    databases.push(database);
    const grouped = await startFixture({
      ...kafkaEnv(database.url),
      KAFKA_TOPIC: groupedTopic,
      KAFKA_CONSUMER_GROUPS: 'per-subscription',
    });
    const groupedPublisher = new KafkaPublisher(kafka, groupedTopic);
    await groupedPublisher.connect();
    try {
      const rentalId = randomUUID();
      await groupedPublisher.publish([
        reserve(rentalId),
        createEvent(events.releaseSlot, { rentalId, studentId: randomUUID() }, { partitionKey: rentalId }),
      ]);
      await waitFor(
        async () => (await count(database.url, 'SELECT count(*) AS n FROM "inbox"')) === 2 || undefined,
        'both events handled',
      );
      expect(
        await count(database.url, 'SELECT "times" AS n FROM "effects" WHERE "rental_id" = $1', rentalId),
      ).toBe(1);
      const admin = kafka.admin();
      await admin.connect();
      const groups = (await admin.listGroups()).groups
        .map((g) => g.groupId)
        .filter((g) => g.startsWith(groupedTopic));
      await admin.disconnect();
      expect(groups.sort()).toEqual(
        subscriptionsOf('students')
          .map((s) => `${groupedTopic}.${s.name}`)
          .sort(),
      );
    } finally {
      await groupedPublisher.disconnect();
      await grouped.app.close();
    }
  });
});
