/**
 * One trace per rental saga across all five services and every hop (HTTP, outbox, Kafka, inbox),
 * metrics that move, and logs that carry the trace id: the services export to an OTLP receiver
 * that this test runs.
 */
import { events } from '@soundgood/event-catalog';
import { waitFor } from '@soundgood/eventing/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Span } from '../../../../scripts/trace/model.ts';
import { startOtlpReceiver } from '../../../../scripts/trace/otlp-receiver.ts';
import { type Stack, startSoundgood } from './soundgood.js';

let soundgood: Stack;
let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  soundgood = await startSoundgood(
    {},
    {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      // The test's receiver reads OTLP/JSON; services default to http/protobuf.
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '200',
      LOG_LEVEL: 'debug',
    },
  );
});

afterAll(async () => {
  await soundgood?.close();
  await receiver?.close();
});

const sagaTypes = [
  events.reserveSlot,
  events.slotReserved,
  events.reserveInstrument,
  events.instrumentReserved,
  events.chargePayment,
].map((e) => e.type);

async function traceOf(
  rentalId: string,
  complete: (spans: Span[]) => boolean,
): Promise<{ traceId: string; spans: Span[] }> {
  const { traceId } = (await soundgood.call('rentals', 'GET', `/rentals/${rentalId}`)).body as {
    traceId: string;
  };
  expect(traceId).toMatch(/^[0-9a-f]{32}$/);
  const spans = await waitFor(
    () => {
      const all = receiver.spans().filter((s) => s.traceId === traceId);
      return complete(all) ? all : undefined;
    },
    `the spans of trace ${traceId}`,
    30_000,
  );
  return { traceId, spans };
}

function expectOneConnectedTrace(spans: Span[]): void {
  const ids = new Set(spans.map((s) => s.spanId));
  const roots = spans.filter((s) => !s.parentSpanId);
  expect(roots.map((s) => `${s.service} ${s.name}`)).toEqual([expect.stringMatching(/^rentals POST/)]);
  const orphans = spans.filter((s) => s.parentSpanId && !ids.has(s.parentSpanId));
  expect(
    orphans.map((s) => `${s.service} ${s.name}`),
    'spans whose parent is not in the trace',
  ).toEqual([]);
}

describe('tracing a rental saga', () => {
  it('makes one connected trace with spans of all five services and a publish and process span per event', async () => {
    const before = await metric(
      'rentals',
      'soundgood_saga_outcomes_total{outcome="CONFIRMED",reason="",service="rentals"}',
    );
    const student = await soundgood.student();
    const rentalId = await soundgood.rent(student, await soundgood.instrument());
    expect((await soundgood.settled(rentalId)).status).toBe('CONFIRMED');
    const confirmed = `${events.rentalConfirmed.type} process`;
    const { traceId, spans } = await traceOf(rentalId, (all) => all.some((s) => s.name === confirmed));

    expect(new Set(spans.map((s) => s.service))).toEqual(
      new Set(['rentals', 'students', 'inventory', 'billing', 'notifications']),
    );
    expectOneConnectedTrace(spans);
    for (const type of [...sagaTypes, events.paymentCharged.type, events.rentalConfirmed.type]) {
      expect(
        spans.some((s) => s.name === `${type} publish` && s.kind === 'producer'),
        `${type} publish`,
      ).toBe(true);
      expect(
        spans.some((s) => s.name === `${type} process` && s.kind === 'consumer'),
        `${type} process`,
      ).toBe(true);
    }
    const process = spans.find((s) => s.name === `${events.reserveSlot.type} process`);
    expect(process?.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.operation.type': 'process',
      'messaging.destination.name': soundgood.topic,
      'cloudevents.event_type': events.reserveSlot.type,
    });
    expect(spans.filter((s) => s.name.startsWith('rent-instrument ')).map((s) => s.name)).toEqual(
      expect.arrayContaining([
        'rent-instrument RESERVE_SLOT',
        'rent-instrument RESERVE_INSTRUMENT',
        'rent-instrument CHARGE_PAYMENT',
      ]),
    );
    // Database work of the handlers is in the trace too.
    expect(spans.some((s) => s.service === 'students' && /^(prisma|pg)/.test(s.name))).toBe(true);

    // Logs of the services carry the same trace id.
    const logged = Object.values(soundgood.services).filter((service) =>
      service.output.some((line) => line.includes(`"trace_id":"${traceId}"`)),
    );
    expect(logged.map((s) => s.name).sort()).toEqual([
      'billing',
      'inventory',
      'notifications',
      'rentals',
      'students',
    ]);

    expect(
      await metric(
        'rentals',
        'soundgood_saga_outcomes_total{outcome="CONFIRMED",reason="",service="rentals"}',
      ),
    ).toBe(before + 1);
  });

  it('shows the compensation of a rejected saga, and the failing step as an error with its reason', async () => {
    const student = await soundgood.student('pm_card_declined');
    const rentalId = await soundgood.rent(student, await soundgood.instrument());
    expect((await soundgood.settled(rentalId)).status).toBe('REJECTED');
    const { spans } = await traceOf(rentalId, (all) =>
      all.some((s) => s.name === `${events.rentalRejected.type} process`),
    );
    expectOneConnectedTrace(spans);
    const charge = spans.find((s) => s.name === 'rent-instrument CHARGE_PAYMENT');
    expect(charge?.status).toBe('ERROR');
    expect(charge?.statusMessage).toContain('CARD_DECLINED');
    for (const compensation of ['RELEASE_INSTRUMENT', 'RELEASE_SLOT']) {
      const span = spans.find((s) => s.name === `rent-instrument ${compensation}`);
      expect(span?.attributes['soundgood.saga.action'], compensation).toBe('COMPENSATE');
      expect(span?.status, compensation).not.toBe('ERROR');
    }
    for (const type of [
      events.releaseInstrument.type,
      events.releaseSlot.type,
      events.paymentDeclined.type,
    ]) {
      expect(
        spans.some((s) => s.name === `${type} process`),
        type,
      ).toBe(true);
    }
  });
});

describe('metrics', () => {
  it('exposes the saga, outbox, inbox, dead-letter, consumer-lag and HTTP metrics on every service', async () => {
    for (const service of Object.values(soundgood.services)) {
      const text = await (await fetch(service.metricsUrl)).text();
      for (const name of [
        'soundgood_events_consumed_total',
        'soundgood_events_published_total',
        'soundgood_outbox_lag_seconds',
        'soundgood_dead_letters_total',
        'soundgood_consumer_lag',
        'http_server_request_duration_seconds',
      ]) {
        expect(text, `${service.name} ${name}`).toContain(`# TYPE ${name}`);
      }
      // notifications only consumes. On knative, a participant's reply goes back in the HTTP
      // response of the delivery, not through its outbox: there only rentals' commands use one.
      const usesOutbox =
        soundgood.transport === 'kafka' ? service.name !== 'notifications' : service.name === 'rentals';
      if (usesOutbox) {
        expect(text, service.name).toMatch(/soundgood_outbox_lag_seconds_count\{service="[a-z]+"\} [1-9]/);
      }
    }
    const rentals = await (await fetch(soundgood.services.rentals.metricsUrl)).text();
    expect(
      sample(rentals, 'soundgood_saga_step_duration_seconds_count', {
        step: 'CHARGE_PAYMENT',
        action: 'EXECUTE',
        outcome: 'SUCCEEDED',
      }),
    ).toBeGreaterThan(0);
    expect(
      sample(rentals, 'http_server_request_duration_seconds_count', {
        http_request_method: 'POST',
        http_route: '/rentals',
        http_response_status_code: '202',
      }),
    ).toBeGreaterThan(0);
  });
});

/** The value of a series whose labels include `labels` (Prometheus text; label order varies). */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const line = text
    .split('\n')
    .find(
      (l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)),
    );
  return line ? Number(line.split(' ').at(-1)) : 0;
}

async function metric(service: 'rentals', series: string): Promise<number> {
  const text = await (await fetch(soundgood.services[service].metricsUrl)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.split(' ')[1]) : 0;
}
