/**
 * The kafka transport handles the relevant events of a fetched batch in one transaction (issue 13;
 * KafkaSubscriber.handleBatch, EventDispatcher.dispatchBatch), against the real Kafka and
 * PostgreSQL: events published at once for one key are applied once each, together, in order; a
 * batch in which one handler throws is rolled back whole and handled again one event at a time.
 * Which transaction applied a row is its `xmin`.
 */
import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { events } from '@soundgood/event-catalog';
import type { CloudEvent } from 'cloudevents';
import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listDeadLetters } from '../src/dead-letters/dead-letters.js';
import { createEvent, KafkaPublisher, maxEventsPerTransaction } from '../src/index.js';
import { createTopics, startCollector, testKafka, waitFor } from '../src/testing.js';
import { count, fixture, fixtureDatabase, kafkaFixtureEnv, startFixture } from './fixture/fixture.js';

const topic = `test.batch.${randomUUID()}`;
const deadLetterTopic = `${topic}.dead-letters`;
let kafka: Kafka;
let publisher: KafkaPublisher;
let collector: Consumer;
const seen: KafkaMessage[] = [];
let database: Awaited<ReturnType<typeof fixtureDatabase>>;
let app: INestApplication;
let metricsPort: number;

beforeAll(async () => {
  kafka = testKafka();
  await createTopics(kafka, [topic, deadLetterTopic]);
  publisher = new KafkaPublisher(kafka, topic);
  await publisher.connect();
  collector = await startCollector(kafka, topic, ({ message }) => seen.push(message));
  database = await fixtureDatabase();
  let port: number;
  ({ app, port, metricsPort } = await startFixture(
    kafkaFixtureEnv({ topic, deadLetterTopic }, database.url),
  ));
  await waitFor(
    async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200 || undefined,
    'the service in its group',
  );
});

afterEach(() => {
  fixture.failing = false;
  fixture.failOnce.clear();
});

afterAll(async () => {
  await app?.close();
  await collector?.disconnect();
  await publisher?.disconnect();
  await database?.drop();
});

/** `n` reserve events for rentals of their own, all with one partition key (one partition). */
function reserves(n: number, studentId: (index: number) => string = () => randomUUID()) {
  const key = randomUUID();
  return Array.from({ length: n }, (_, index) =>
    createEvent(
      events.reserveSlot,
      { rentalId: randomUUID(), studentId: studentId(index) },
      { partitionKey: key },
    ),
  );
}
const rentalOf = (event: CloudEvent<unknown>) => (event.data as { rentalId: string }).rentalId;
const ids = (list: readonly CloudEvent<unknown>[]) => list.map((e) => e.id);

/** The inbox rows of `list`, in the order their transactions committed, with that transaction. */
async function applied(list: readonly CloudEvent<unknown>[]): Promise<{ id: string; tx: string }[]> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string; tx: string }>(
      `SELECT "event_id" AS id, xmin::text AS tx FROM "inbox" WHERE "event_id" = ANY($1)
       ORDER BY xmin::text::bigint, "processed_at"`,
      [ids(list)],
    );
    return rows;
  } finally {
    await client.end();
  }
}

const effects = (event: CloudEvent<unknown>) =>
  count(database.url, 'SELECT "times" AS n FROM "effects" WHERE "rental_id" = $1', rentalOf(event));

/**
 * The slot.reserved replies seen on the topic for `list`, by rental, sorted: each reply is keyed by
 * its own rental, so the replies are on several partitions, in no order among them.
 */
const repliesTo = (list: readonly CloudEvent<unknown>[]) => {
  const rentals = new Set(list.map(rentalOf));
  return seen
    .filter(
      (m) =>
        m.headers?.ce_type?.toString() === events.slotReserved.type && rentals.has(m.key?.toString() ?? ''),
    )
    .map((m) => m.key?.toString())
    .sort();
};
const rentalsOf = (list: readonly CloudEvent<unknown>[]) => list.map(rentalOf).sort();

async function allApplied(list: readonly CloudEvent<unknown>[]) {
  return waitFor(async () => {
    const rows = await applied(list);
    return rows.length === list.length ? rows : undefined;
  }, `${list.length} events applied`);
}

/** A counter or gauge of the fixture's /metrics, 0 when absent. */
async function metric(name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : 0;
}

async function batchSizes(): Promise<{ count: number; upToTwo: number }> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const value = (pattern: RegExp) => Number(text.match(pattern)?.[1] ?? Number.NaN);
  return {
    count: value(/^soundgood_events_batch_size_count\{service="students"\} (\d+)$/m),
    upToTwo: value(/^soundgood_events_batch_size_bucket\{le="2",service="students"\} (\d+)$/m),
  };
}

describe('kafka transport, a batch of events in one transaction', () => {
  it('applies events published at once for one key each once, in one transaction, in partition order', async () => {
    const before = await batchSizes();
    const list = reserves(5);
    await publisher.publish(list);
    const rows = await allApplied(list);

    expect(new Set(rows.map((r) => r.tx)).size, 'one transaction').toBe(1);
    for (const event of list) expect(await effects(event)).toBe(1);
    const handled = fixture.received.filter((e) => ids(list).includes(e.id));
    expect(ids(handled), 'each handled once, in partition order').toEqual(ids(list));
    await waitFor(() => repliesTo(list).length === list.length || undefined, 'the replies');
    expect(repliesTo(list), 'one reply each').toEqual(rentalsOf(list));

    const after = await batchSizes();
    expect(after.count - after.upToTwo, 'a batch of more than two events counted').toBeGreaterThan(
      before.count - before.upToTwo,
    );
  });

  it('applies an event once when a batch holds it twice, and not again when it was applied before', async () => {
    const duplicates = `soundgood_events_consumed_total{event_type="${events.reserveSlot.type}",outcome="duplicate",service="students"}`;
    const duplicatesBefore = await metric(duplicates);
    const [earlier, a, b, c] = reserves(4) as [
      CloudEvent<unknown>,
      CloudEvent<unknown>,
      CloudEvent<unknown>,
      CloudEvent<unknown>,
    ];
    await publisher.publish([earlier]);
    await allApplied([earlier]);
    await publisher.publish([a, earlier, b, a, c]);
    const rows = await allApplied([a, b, c]);

    expect(new Set(rows.map((r) => r.tx)).size, 'one transaction').toBe(1);
    expect(rows.map((r) => r.id)).toEqual(ids([a, b, c]));
    for (const event of [earlier, a, b, c]) expect(await effects(event)).toBe(1);
    const handled = fixture.received.filter((e) => ids([earlier, a, b, c]).includes(e.id));
    expect(ids(handled), 'each handled once').toEqual(ids([earlier, a, b, c]));
    await waitFor(
      async () => (await metric(duplicates)) === duplicatesBefore + 2 || undefined,
      'two duplicates counted',
    );
  });

  it(`splits a larger batch into transactions of at most ${maxEventsPerTransaction} events, in order`, async () => {
    const n = 2 * maxEventsPerTransaction + 20;
    const list = reserves(n);
    await publisher.publish(list);
    const rows = await allApplied(list);

    const transactions = new Map<string, number>();
    for (const row of rows) transactions.set(row.tx, (transactions.get(row.tx) ?? 0) + 1);
    expect([...transactions.values()]).toEqual([maxEventsPerTransaction, maxEventsPerTransaction, 20]);
    expect(rows.map((r) => r.id)).toEqual(ids(list));
    expect(
      await count(
        database.url,
        'SELECT sum("times") AS n FROM "effects" WHERE "rental_id" = ANY($1::uuid[])',
        list.map(rentalOf),
      ),
    ).toBe(n);
  });

  it('rolls back a batch in which one handler throws, then handles its events one by one, in order', async () => {
    const list = reserves(3);
    const [first, failing, last] = list as [CloudEvent<unknown>, CloudEvent<unknown>, CloudEvent<unknown>];
    fixture.failOnce.add(rentalOf(failing));
    await publisher.publish(list);
    const rows = await allApplied(list);

    // Tried together (the first, then the failing one threw: rolled back), then each on its own.
    const handled = fixture.received.filter((e) => ids(list).includes(e.id));
    expect(ids(handled)).toEqual(ids([first, failing, first, failing, last]));
    expect(
      rows.map((r) => r.id),
      'applied in partition order',
    ).toEqual(ids(list));
    expect(new Set(rows.map((r) => r.tx)).size, 'one transaction each').toBe(3);
    for (const event of list) expect(await effects(event)).toBe(1);
    await waitFor(() => repliesTo(list).length === list.length || undefined, 'the replies');
    expect(repliesTo(list)).toEqual(rentalsOf(list));
  });

  it('dead-letters the event of a batch that always fails, and applies the others once, in order', async () => {
    fixture.failing = true;
    const list = reserves(3, (index) => (index === 1 ? fixture.poisonStudentId : randomUUID()));
    const poison = list[1] as CloudEvent<unknown>;
    const others = [list[0], list[2]] as CloudEvent<unknown>[];
    await publisher.publish(list);

    const rows = await allApplied(others);
    const letter = await waitFor(
      async () => (await listDeadLetters(kafka, deadLetterTopic)).find((l) => l.id === poison.id),
      'the dead letter',
    );
    expect(letter.code).toBe('500');
    expect(letter.reason).toContain('simulated handler failure');
    expect(rows.map((r) => r.id)).toEqual(ids(others));
    for (const event of others) expect(await effects(event)).toBe(1);
    expect(await effects(poison)).toBe(0);
    expect(
      await count(database.url, 'SELECT count(*) AS n FROM "inbox" WHERE "event_id" = $1', poison.id),
    ).toBe(0);
    await waitFor(() => repliesTo(others).length === others.length || undefined, 'the replies');
    expect(repliesTo(list)).toEqual(rentalsOf(others));
  });

  it('refuses a forged event of a batch once (dead-lettered, counted once), and applies the others once', async () => {
    const type = `event_type="${events.reserveSlot.type}"`;
    const refused = `soundgood_events_refused_total{${type},service="students"}`;
    const invalid = `soundgood_events_consumed_total{${type},outcome="invalid",service="students"}`;
    const [refusedBefore, invalidBefore] = [await metric(refused), await metric(invalid)];
    const [first, middle, last] = reserves(3) as CloudEvent<unknown>[];
    const forged = (middle as CloudEvent<unknown>).cloneWith({ source: '/evil' }, false);
    const list = [first, forged, last] as CloudEvent<unknown>[];
    const others = [first, last] as CloudEvent<unknown>[];
    await publisher.publish(list);

    const rows = await allApplied(others);
    const letter = await waitFor(
      async () => (await listDeadLetters(kafka, deadLetterTopic)).find((l) => l.id === forged.id),
      'the dead letter',
    );
    expect(letter.code).toBe('403');
    expect(rows.map((r) => r.id)).toEqual(ids(others));
    for (const event of others) expect(await effects(event)).toBe(1);
    expect(await effects(forged)).toBe(0);
    expect(await metric(refused)).toBe(refusedBefore + 1);
    expect(await metric(invalid)).toBe(invalidBefore + 1);
  });
});
