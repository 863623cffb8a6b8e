/**
 * Retention of the outbox and inbox tables against the real PostgreSQL: the sweep keeps both tables
 * bounded under a steady stream, never touches an unpublished outbox row, and a redelivery is
 * recognised for as long as its inbox row is kept (docs/retention.md).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { INestApplication } from '@nestjs/common';
import { events } from '@soundgood/event-catalog';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  baseConfigSchema,
  createEvent,
  Inbox,
  loadConfig,
  Outbox,
  Retention,
  type RetentionTable,
} from '../src/index.js';
import { inboxRetentionProblem } from '../src/retention/retention.topics.js';
import {
  type FakeBroker,
  postEvent,
  requireEnv,
  startFakeBroker,
  testKafka,
  waitFor,
} from '../src/testing.js';
import { count, Database, fixtureDatabase, startFixture } from './fixture/fixture.js';

const databases: Awaited<ReturnType<typeof fixtureDatabase>>[] = [];
afterAll(async () => {
  for (const database of databases) await database.drop();
});

const reserve = (rentalId = randomUUID()) =>
  createEvent(events.reserveSlot, { rentalId, studentId: randomUUID() }, { partitionKey: rentalId });
const release = (rentalId = randomUUID()) =>
  createEvent(events.releaseSlot, { rentalId, studentId: randomUUID() }, { partitionKey: rentalId });
const silentLogger = { log() {}, error() {}, warn() {} };

describe('retention sweep', () => {
  let url: string;
  let database: Database;

  beforeAll(async () => {
    const created = await fixtureDatabase();
    databases.push(created);
    url = created.url;
    database = new Database({ DATABASE_URL: url } as never);
  });
  afterAll(async () => {
    await database?.$disconnect();
  });

  it('keeps both tables bounded under a steady stream, in small batches, and never deletes an unpublished outbox row', async () => {
    const outbox = new Outbox();
    const inbox = new Inbox();
    const unpublished = Array.from({ length: 30 }, () => release());
    await database.$transaction((tx) => outbox.add(tx, ...unpublished));

    const windowMs = 400;
    const intervalMs = 100;
    const batchSize = 7;
    const batches: Record<RetentionTable, number[]> = { outbox: [], inbox: [] };
    const retention = new Retention({
      databaseUrl: url,
      logger: silentLogger,
      outboxRetentionMs: windowMs,
      inboxRetentionMs: windowMs,
      intervalMs,
      batchSize,
      onDeleted: (table, rows) => batches[table].push(rows),
    });
    retention.start();

    // A steady stream of 250 processed events (inbox rows) and published events, one every ~15 ms or
    // more: at most ~60 a second, so a row lives about as long as 1/10 of the stream or less.
    const published = () => count(url, 'SELECT count(*) AS n FROM "outbox" WHERE "published_at" IS NOT NULL');
    const inboxRows = () => count(url, 'SELECT count(*) AS n FROM "inbox"');
    let written = 0;
    const peaks = { outbox: 0, inbox: 0 };
    const started = Date.now();
    while (written < 250) {
      await database.$transaction(async (tx) => {
        await inbox.record(tx, reserve());
        await outbox.add(tx, release());
      });
      await database.$executeRawUnsafe(
        `UPDATE "outbox" SET "published_at" = now() WHERE "published_at" IS NULL AND "type" = $1 AND "seq" > $2`,
        events.releaseSlot.type,
        unpublished.length,
      );
      written++;
      if (written % 10 === 0) {
        peaks.outbox = Math.max(peaks.outbox, await published());
        peaks.inbox = Math.max(peaks.inbox, await inboxRows());
      }
      await sleep(15);
    }
    await retention.stop();

    // A row lives at most window + interval + a sweep's own time (generous on a loaded machine).
    const perSecond = written / ((Date.now() - started) / 1000);
    const bound = Math.ceil(perSecond * ((windowMs + intervalMs) / 1000 + 0.5)) + 2 * batchSize;
    expect(peaks.outbox).toBeGreaterThan(0);
    expect(peaks.outbox).toBeLessThanOrEqual(bound);
    expect(peaks.inbox).toBeLessThanOrEqual(bound);
    expect(bound).toBeLessThan(written / 2);
    // Everything the sweep deleted went in batches of at most batchSize, and it did delete.
    for (const table of ['outbox', 'inbox'] as const) {
      expect(Math.max(...batches[table])).toBeLessThanOrEqual(batchSize);
      expect(batches[table].reduce((a, b) => a + b, 0)).toBeGreaterThan(written / 2);
    }
    const deletedOutbox = batches.outbox.reduce((a, b) => a + b, 0);
    expect(deletedOutbox + (await published())).toBe(written);
    // The 30 unpublished rows, older than the window by far, are all still there.
    expect(await count(url, 'SELECT count(*) AS n FROM "outbox" WHERE "published_at" IS NULL')).toBe(
      unpublished.length,
    );
  });

  it('deletes a backlog larger than one batch in one sweep, oldest first', async () => {
    const inbox = new Inbox();
    await database.$executeRawUnsafe('DELETE FROM "inbox"');
    const old = Array.from({ length: 25 }, () => reserve());
    const recent = Array.from({ length: 5 }, () => reserve());
    await database.$transaction(async (tx) => {
      for (const event of [...old, ...recent]) await inbox.record(tx, event);
    });
    await database.$executeRawUnsafe(
      `UPDATE "inbox" SET "processed_at" = now() - interval '2 hours' WHERE "event_id" = ANY($1::text[])`,
      old.map((e) => e.id),
    );
    const batches: number[] = [];
    const retention = new Retention({
      databaseUrl: url,
      logger: silentLogger,
      outboxRetentionMs: 3_600_000,
      inboxRetentionMs: 3_600_000,
      intervalMs: 3_600_000,
      batchSize: 10,
      onDeleted: (table, rows) => table === 'inbox' && batches.push(rows),
    });
    retention.start();
    await retention.wake();
    await retention.stop();
    expect(batches).toEqual([10, 10, 5]);
    expect(await count(url, 'SELECT count(*) AS n FROM "inbox"')).toBe(recent.length);
  });
});

describe('retention in a running service (knative transport, a stand-in broker ingress)', () => {
  let app: INestApplication;
  let metricsPort: number;
  let url: string;
  let databaseUrl: string;
  let broker: FakeBroker;
  const inboxWindowMs = 3_000;

  beforeAll(async () => {
    const created = await fixtureDatabase();
    databases.push(created);
    databaseUrl = created.url;
    broker = await startFakeBroker();
    const started = await startFixture({
      EVENT_TRANSPORT: 'knative',
      K_SINK: broker.url,
      DATABASE_URL: databaseUrl,
      OUTBOX_RETENTION: '1s',
      INBOX_RETENTION: `${inboxWindowMs}ms`,
      RETENTION_INTERVAL: '100ms',
      RETENTION_BATCH_SIZE: '5',
    });
    ({ app, metricsPort } = started);
    url = `http://127.0.0.1:${started.port}/events`;
  });
  afterAll(async () => {
    await app?.close();
    await broker?.close();
  });

  const effects = (rentalId: string) =>
    count(databaseUrl, 'SELECT "times" AS n FROM "effects" WHERE "rental_id" = $1', rentalId);
  const inboxRow = (id: string) =>
    count(databaseUrl, 'SELECT count(*) AS n FROM "inbox" WHERE "event_id" = $1', id);

  it('recognises a redelivery inside the inbox window, while sweeps run, and handles one after it as new', async () => {
    const event = reserve();
    const rentalId = (event.data as { rentalId: string }).rentalId;
    const sentAt = Date.now();
    const first = await postEvent(url, event);
    expect(first.status).toBe(200);
    const handledAt = Date.now();

    // Inside the window, after several sweeps: a duplicate, the same reply, no second effect.
    await sleep(inboxWindowMs / 2);
    const inside = await postEvent(url, event);
    expect(Date.now() - handledAt).toBeLessThan(inboxWindowMs);
    expect(inside.status).toBe(200);
    expect(inside.reply?.id).toBe(first.reply?.id);
    expect(await effects(rentalId)).toBe(1);

    // The documented limit: once its inbox row is swept, the event is new again (docs/retention.md).
    await waitFor(async () => (await inboxRow(event.id)) === 0 || undefined, 'the inbox row to be swept');
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(inboxWindowMs);
    const outside = await postEvent(url, event);
    expect(outside.status).toBe(200);
    expect(outside.reply?.id).not.toBe(first.reply?.id);
    expect(await effects(rentalId)).toBe(2);
  });

  it('deletes published outbox rows after their window and counts deletions on /metrics', async () => {
    const released = [release(), release(), release(), release(), release(), release(), release()];
    for (const event of released) expect((await postEvent(url, event)).status).toBe(204);
    await waitFor(
      () =>
        released.length <= broker.events.filter((e) => e.type === events.slotReleased.type).length ||
        undefined,
      'the outbox to publish',
    );
    await waitFor(
      async () => (await count(databaseUrl, 'SELECT count(*) AS n FROM "outbox"')) === 0 || undefined,
      'published outbox rows to be swept',
    );
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const deleted = (table: string) =>
      Number(
        new RegExp(
          `soundgood_retention_deleted_rows_total\\{table="${table}",service="students"\\} (\\d+)`,
        ).exec(text)?.[1],
      );
    expect(deleted('outbox')).toBe(released.length);
    expect(deleted('inbox')).toBeGreaterThanOrEqual(1);
  });
});

describe('INBOX_RETENTION against the topics it must outlast (kafka)', () => {
  const kafka = testKafka(requireEnv('KAFKA_BROKERS'));
  const run = randomUUID().slice(0, 8);
  const day = 86_400_000;

  async function topicsWith(events: number | undefined, deadLetters: number | undefined) {
    const names = { events: `test.retention.${run}.${randomUUID().slice(0, 4)}`, deadLetters: '' };
    names.deadLetters = `${names.events}.dead-letters`;
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        waitForLeaders: false,
        topics: [
          [names.events, events],
          [names.deadLetters, deadLetters],
        ].map(([topic, ms]) => ({
          topic: topic as string,
          numPartitions: 1,
          configEntries: ms === undefined ? [] : [{ name: 'retention.ms', value: String(ms) }],
        })),
      });
      // As createTopics in testing.ts: KRaft may not host a topic it has just created for a moment.
      const created = [names.events, names.deadLetters];
      await waitFor(
        async () => {
          const metadata = await admin.fetchTopicMetadata({ topics: created }).catch(() => undefined);
          return metadata?.topics.every((t) => t.partitions.every((p) => p.leader >= 0)) || undefined;
        },
        `leaders for ${created.join(', ')}`,
      );
    } finally {
      await admin.disconnect();
    }
    return names;
  }

  it('finds the default INBOX_RETENTION enough for topics kept as long as the broker keeps them by default (7 days each)', async () => {
    const topics = await topicsWith(undefined, undefined);
    const { INBOX_RETENTION } = loadConfig(baseConfigSchema, {
      DATABASE_URL: 'postgresql://postgres@127.0.0.1/x',
      EVENT_TRANSPORT: 'knative',
      K_SINK: 'http://127.0.0.1/',
    });
    expect(await inboxRetentionProblem(kafka, topics, INBOX_RETENTION)).toBeUndefined();
    expect(await inboxRetentionProblem(kafka, topics, INBOX_RETENTION - 1)).toMatch(
      /^INBOX_RETENTION \(336 h\) is shorter than the retention of .* \(168 h\) plus .* \(168 h\).* at least 336 h\.$/,
    );
  });

  it("asks for the sum of both topics' retention and names a topic that keeps records forever", async () => {
    const longer = await topicsWith(10 * day, 3 * day);
    expect(await inboxRetentionProblem(kafka, longer, 13 * day)).toBeUndefined();
    expect(await inboxRetentionProblem(kafka, longer, 12 * day)).toContain('at least 312 h');
    const forever = await topicsWith(7 * day, -1);
    expect(await inboxRetentionProblem(kafka, forever, 365 * day)).toBe(
      `${forever.deadLetters} keeps records forever: no INBOX_RETENTION recognises every redelivery from it`,
    );
  });
});
