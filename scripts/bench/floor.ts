/**
 * The floor: what one saga's critical path costs on this Kafka and PostgreSQL with nothing of
 * Soundgood in between. A chain of `hops` sequential hops, each a PostgreSQL transaction inserting
 * an event-sized JSON row and committing, then a kafkajs produce (idempotent, acks=all, as the
 * services publish) of an event-sized record that a consumer in the same process receives.
 * One saga has 7 such hops: the POST's transaction, then 3 replies and 3 commands handled.
 */
import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import pg from 'pg';
import { createTopics } from '../../events/runtime/dist/testing.js';
import { type Summary, summarize } from './stats.ts';

export interface FloorOptions {
  kafka: Kafka;
  serverUrl: string;
  run: string;
  iterations: number;
  hops: number;
  /** Bytes of a record (value plus headers), as measured on the saga's events topic. */
  recordBytes: number;
}

export interface FloorResult {
  iterations: number;
  hops: number;
  recordBytes: number;
  /** One chain of `hops` commits and round trips, in ms. */
  chain: Summary;
  commit: Summary;
  roundTrip: Summary;
  /**
   * How long after a `pg_notify` statement's answer a LISTENing connection gets the notification,
   * in ms: what waking the outbox relay through NOTIFY adds to a hop.
   */
  notify: Summary;
}

export async function measureFloor(options: FloorOptions): Promise<FloorResult> {
  const { kafka, serverUrl, run, iterations, hops, recordBytes } = options;
  const topic = `bench.${run}.floor`;
  const database = `bench_${run}_floor`;
  await createTopics(kafka, [topic]);
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${database}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  const db = new pg.Client({ connectionString: url.toString() });
  await db.connect();
  await db.query('CREATE TABLE floor_rows (id BIGSERIAL PRIMARY KEY, payload JSONB NOT NULL)');

  // A CloudEvent in binary mode: ~10 ce_ headers of ~40 bytes, the rest is the JSON data.
  const headers: Record<string, string> = {
    ce_specversion: '1.0',
    ce_type: 'dev.soundgood.bench.floor.v1',
    ce_source: '/bench/floor',
    ce_time: new Date().toISOString(),
    ce_datacontenttype: 'application/json',
    traceparent: `00-${'0'.repeat(32)}-${'0'.repeat(16)}-01`,
  };
  const headerBytes = Object.entries(headers).reduce((n, [k, v]) => n + k.length + v.length, 0) + 50;
  const data = JSON.stringify({ padding: 'x'.repeat(Math.max(0, recordBytes - headerBytes - 60)) });

  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const consumer: Consumer = kafka.consumer({ groupId: `${topic}.floor`, allowAutoTopicCreation: false });
  const waiting = new Map<string, () => void>();
  const commits: number[] = [];
  const roundTrips: number[] = [];
  const chains: number[] = [];
  const notifies: number[] = [];
  const listener = new pg.Client({ connectionString: url.toString() });
  try {
    await producer.connect();
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const key = message.key?.toString() ?? '';
        waiting.get(key)?.();
        waiting.delete(key);
      },
    });
    await joined;

    const hop = async (record: boolean) => {
      const started = performance.now();
      await db.query('BEGIN');
      await db.query('INSERT INTO floor_rows (payload) VALUES ($1::jsonb)', [data]);
      await db.query('COMMIT');
      const committed = performance.now();
      const key = randomUUID();
      const received = new Promise<void>((resolve) => waiting.set(key, resolve));
      await producer.send({
        topic,
        acks: -1,
        messages: [{ key, value: data, headers: { ...headers, ce_id: key } }],
      });
      await received;
      if (record) {
        commits.push(committed - started);
        roundTrips.push(performance.now() - committed);
      }
    };
    for (let i = 0; i < 3; i++) await hop(false); // connections, metadata, JIT
    for (let i = 0; i < iterations; i++) {
      const started = performance.now();
      for (let h = 0; h < hops; h++) await hop(true);
      chains.push(performance.now() - started);
    }

    await listener.connect();
    await listener.query('LISTEN floor');
    for (let i = 0; i < iterations; i++) {
      const heard = new Promise<number>((resolve) =>
        listener.once('notification', () => resolve(performance.now())),
      );
      await db.query(`SELECT pg_notify('floor', '')`);
      const answered = performance.now();
      notifies.push((await heard) - answered);
    }
  } finally {
    await listener.end().catch(() => undefined);
    await consumer.disconnect();
    await producer.disconnect();
    await db.end();
    await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    await admin.end();
    const kafkaAdmin = kafka.admin();
    await kafkaAdmin.connect();
    await kafkaAdmin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await kafkaAdmin.disconnect();
  }
  return {
    iterations,
    hops,
    recordBytes,
    chain: summarize(chains),
    commit: summarize(commits),
    roundTrip: summarize(roundTrips),
    notify: summarize(notifies),
  };
}
