/**
 * One trace per rental saga across all five services and every hop (HTTP, outbox, Kafka or the
 * Knative broker's receiver and dispatcher, inbox), metrics that move, and logs that carry the trace
 * id: the services (and, on knative, the broker's data plane) export to the Jaeger that
 * scripts/infra.ts runs, and the test reads each trace back from Jaeger's query API, as
 * `npm run trace` does.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { events } from '@soundgood/event-catalog';
import { waitFor } from '@soundgood/eventing/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jaegerFromEnv, traceSpans } from '../../../../scripts/trace/jaeger.ts';
import { ancestors, type Span } from '../../../../scripts/trace/model.ts';
import { type Stack, startSoundgood } from './soundgood.js';

let soundgood: Stack;
const jaeger = jaegerFromEnv();
/** The broker's two processes, by the service names they export their spans under. */
const brokerServices = ['kafka-broker-receiver', 'kafka-broker-dispatcher'];

beforeAll(async () => {
  soundgood = await startSoundgood(
    {},
    {
      OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpEndpoint,
      OTEL_BSP_SCHEDULE_DELAY: '200',
      LOG_LEVEL: 'debug',
    },
  );
});

afterAll(async () => {
  await soundgood?.close();
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
    async () => {
      const all = await traceSpans(jaeger.queryUrl, traceId);
      return complete(all) ? all : undefined;
    },
    `the spans of trace ${traceId}`,
    30_000,
  );
  // A parent ends, and is exported, after its children: the broker's delivery span after the
  // subscriber has answered. Give the last parents a few seconds to arrive before judging the trace.
  const deadline = Date.now() + 5000;
  let latest = spans;
  while (orphans(latest).length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    latest = await traceSpans(jaeger.queryUrl, traceId);
  }
  return { traceId, spans: latest };
}

/** Spans whose parent is not (yet) in the trace. */
function orphans(spans: Span[]): Span[] {
  const ids = new Set(spans.map((s) => s.spanId));
  return spans.filter((s) => s.parentSpanId && !ids.has(s.parentSpanId));
}

function expectOneConnectedTrace(spans: Span[]): void {
  const roots = spans.filter((s) => !s.parentSpanId);
  expect(roots.map((s) => `${s.service} ${s.name}`)).toEqual([expect.stringMatching(/^rentals POST/)]);
  expect(
    orphans(spans).map((s) => `${s.service} ${s.name}`),
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

    // On knative every hop also crosses the broker: its receiver and dispatcher spans are in the trace.
    expect(new Set(spans.map((s) => s.service))).toEqual(
      new Set([
        'rentals',
        'students',
        'inventory',
        'billing',
        'notifications',
        ...(soundgood.transport === 'knative' ? brokerServices : []),
      ]),
    );
    expectOneConnectedTrace(spans);
    // Each event's process span descends from the hop that carried it: its publish span, and on
    // knative the broker's receiver; a participant's reply travels back in the HTTP response of the
    // delivery there, and the dispatcher produces it into the broker (no publish span of its own).
    const knative = soundgood.transport === 'knative';
    const replies = new Set<string>(
      [events.slotReserved, events.instrumentReserved, events.paymentCharged].map((e) => e.type),
    );
    for (const type of [...sagaTypes, events.paymentCharged.type, events.rentalConfirmed.type]) {
      const process = spans.find((s) => s.name === `${type} process` && s.kind === 'consumer');
      expect(process, `${type} process`).toBeDefined();
      const hop = ancestors(spans, process as Span);
      if (knative && replies.has(type)) {
        expect(
          hop.some((s) => s.service === 'kafka-broker-dispatcher' && s.name === 'kafka_send'),
          `${type} produced by the dispatcher`,
        ).toBe(true);
      } else {
        expect(
          hop.some((s) => s.name === `${type} publish` && s.kind === 'producer'),
          `${type} publish`,
        ).toBe(true);
        if (knative)
          expect(
            hop.some((s) => s.service === 'kafka-broker-receiver'),
            `${type} through the receiver`,
          ).toBe(true);
      }
    }
    const process = spans.find((s) => s.name === `${events.reserveSlot.type} process`);
    expect(process?.attributes).toMatchObject({
      'messaging.system': soundgood.transport,
      'messaging.operation.type': 'process',
      'messaging.destination.name': soundgood.transport === 'knative' ? 'broker' : soundgood.topic,
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

describe('npm run trace', () => {
  it("prints a rental's saga as one waterfall, read from Jaeger", async () => {
    const student = await soundgood.student();
    const rentalId = await soundgood.rent(student, await soundgood.instrument());
    expect((await soundgood.settled(rentalId)).status).toBe('CONFIRMED');
    const confirmed = `${events.rentalConfirmed.type} process`;
    const { traceId, spans } = await traceOf(rentalId, (all) => all.some((s) => s.name === confirmed));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(import.meta.dirname, '..', '..', '..', '..', 'scripts', 'trace.ts'), rentalId],
      {
        env: {
          ...process.env,
          RENTALS_URL: soundgood.services.rentals.url,
          JAEGER_QUERY_URL: jaeger.queryUrl,
          // The rental's own student may read it (staff could too).
          SOUNDGOOD_TOKEN: await soundgood.issuer.student(student),
        },
      },
    );
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`rental ${rentalId}`);
    expect(lines[1]).toMatch(
      new RegExp(`^trace ${traceId}: \\d+ spans, ${new Set(spans.map((s) => s.service)).size} services, `),
    );
    // A header, then the spans, each line starting with its service: every service of the trace is there.
    for (const service of new Set(spans.map((s) => s.service))) {
      expect(
        lines.some((line) => line.startsWith(`${service} `)),
        service,
      ).toBe(true);
    }
    expect(lines.some((line) => line.startsWith('notifications ') && line.includes(confirmed))).toBe(true);
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
