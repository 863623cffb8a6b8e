/**
 * Traces of events handled together in one transaction (issue 13) look as when each is handled
 * alone: one `<type> process` span per event in the event's own trace, the handler's database spans
 * under it, no span left without its parent, and no trace of the batch's own. Spans go to the Jaeger
 * that scripts/infra.ts runs, under a service name of this run's own, and are read back from it.
 */
import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { events } from '@soundgood/event-catalog';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jaegerFromEnv, traceSpans } from '../../../scripts/trace/jaeger.ts';
import { ancestors, type JaegerResponse, type Span } from '../../../scripts/trace/model.ts';
import { createEvent, KafkaPublisher, startTelemetry, stopTelemetry } from '../src/index.js';
import { createTopics, testKafka, waitFor } from '../src/testing.js';
import { count, fixtureDatabase, kafkaFixtureEnv, startFixture } from './fixture/fixture.js';

const jaeger = jaegerFromEnv();
const serviceName = `batch-tracing-${randomUUID().slice(0, 8)}`;
const topic = `test.batch-tracing.${randomUUID()}`;
const deadLetterTopic = `${topic}.dead-letters`;
let kafka: Kafka;
let publisher: KafkaPublisher;
let database: Awaited<ReturnType<typeof fixtureDatabase>>;
let app: INestApplication;

beforeAll(async () => {
  // The SDK reads its exporter's settings from process.env (this file's worker only).
  Object.assign(process.env, {
    OTEL_SERVICE_NAME: serviceName,
    OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpEndpoint,
    OTEL_BSP_SCHEDULE_DELAY: '200',
  });
  startTelemetry();
  kafka = testKafka();
  await createTopics(kafka, [topic, deadLetterTopic]);
  publisher = new KafkaPublisher(kafka, topic);
  await publisher.connect();
  database = await fixtureDatabase();
  let port: number;
  ({ app, port } = await startFixture(kafkaFixtureEnv({ topic, deadLetterTopic }, database.url)));
  await waitFor(
    async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200 || undefined,
    'the service in its group',
  );
});

afterAll(async () => {
  await app?.close();
  await publisher?.disconnect();
  await database?.drop();
  await stopTelemetry();
});

/** Every trace Jaeger has with spans of this run's service. */
async function traces(): Promise<Span[][]> {
  const response = await fetch(`${jaeger.queryUrl}/api/traces?service=${serviceName}&limit=1000&lookback=1h`);
  const json = (await response.json()) as { data: JaegerResponse['data'] };
  return await Promise.all((json.data ?? []).map((trace) => traceSpans(jaeger.queryUrl, trace.traceID))).then(
    (all) => all.filter((spans) => spans.length > 0),
  );
}

describe('tracing events handled in one transaction', () => {
  it('gives each event its process span in its own trace, with its handler’s database spans under it', async () => {
    const key = randomUUID();
    const list = Array.from({ length: 3 }, () =>
      createEvent(
        events.reserveSlot,
        { rentalId: randomUUID(), studentId: randomUUID() },
        { partitionKey: key },
      ),
    );
    await publisher.publish(list);
    await waitFor(
      async () =>
        (await count(
          database.url,
          'SELECT count(DISTINCT xmin::text) AS n FROM "inbox" WHERE "event_id" = ANY($1) HAVING count(*) = 3',
          list.map((e) => e.id),
        )) === 1 || undefined,
      'the three events applied in one transaction',
    );

    const processType = `${events.reserveSlot.type} process`;
    const all = await waitFor(async () => {
      const found = await traces();
      const processed = found.filter((spans) =>
        spans.some(
          (s) => s.name === processType && list.some((e) => e.id === s.attributes['cloudevents.event_id']),
        ),
      );
      return processed.length === list.length ? found : undefined;
    }, 'the traces of the three events');

    for (const event of list) {
      const spans = all.find((t) =>
        t.some((s) => s.name === processType && s.attributes['cloudevents.event_id'] === event.id),
      ) as Span[];
      const process = spans.filter((s) => s.name === processType);
      expect(process, 'one process span').toHaveLength(1);
      expect(process[0]?.attributes['soundgood.transaction.events']).toBe(3);
      const ids = new Set(spans.map((s) => s.spanId));
      expect(spans.filter((s) => s.parentSpanId && !ids.has(s.parentSpanId)).map((s) => s.name)).toEqual([]);
      expect(spans.filter((s) => !s.parentSpanId).map((s) => s.name)).toEqual([
        `${events.reserveSlot.type} publish`,
      ]);
      const database = spans.filter((s) => s.name.startsWith('prisma'));
      expect(database.length, 'the handler’s database spans').toBeGreaterThan(0);
      for (const span of database)
        expect(
          ancestors(spans, span).map((s) => s.name),
          span.name,
        ).toContain(processType);
    }
    const roots = all.flatMap((spans) => spans.filter((s) => !s.parentSpanId)).map((s) => s.name);
    console.log(`roots of the traces of ${serviceName}: ${[...new Set(roots)].join(', ')}`);
    expect(roots.filter((name) => name.startsWith('prisma:client:transaction'))).toEqual([]);
  });
});
