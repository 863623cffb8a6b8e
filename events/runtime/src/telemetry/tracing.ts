/**
 * Trace context across every hop of an event, as the CloudEvents distributed-tracing extension and
 * the OpenTelemetry messaging conventions describe:
 * - the event's `traceparent`/`tracestate` extension attributes carry the context of its ORIGIN
 *   (the span that created it: an HTTP request, a handler), stored with it in the outbox;
 * - the transport's own `traceparent` header carries the context of the HOP (the publish span).
 * The relay's `<type> publish` span is a child of the origin, and the consumer's `<type> process`
 * span a child of the hop, so one saga is one trace however many outboxes and brokers it crosses.
 * https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/extensions/distributed-tracing.md
 * https://opentelemetry.io/docs/specs/semconv/messaging/messaging-spans/
 */
import {
  type Context,
  context,
  type Link,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import type { CloudEvent } from 'cloudevents';

export const tracer = trace.getTracer('@soundgood/eventing');

export type Carrier = Record<string, string | undefined>;

/** The active context as W3C trace-context fields: `traceparent` and, when set, `tracestate`. */
export function currentTraceContext(active: Context = context.active()): Carrier {
  const carrier: Carrier = {};
  propagation.inject(active, carrier);
  return carrier;
}

export function contextFrom(carrier: Carrier | undefined): Context {
  return carrier?.traceparent ? propagation.extract(ROOT_CONTEXT, carrier) : ROOT_CONTEXT;
}

/** The context of the event's origin, from its distributed-tracing extension. */
export function originOf(event: CloudEvent<unknown>): Context {
  return contextFrom({
    traceparent: event.traceparent as string | undefined,
    tracestate: event.tracestate as string | undefined,
  });
}

function eventAttributes(event: CloudEvent<unknown>) {
  return {
    'messaging.message.id': event.id,
    'cloudevents.event_id': event.id,
    'cloudevents.event_type': event.type,
    'cloudevents.event_source': event.source,
    ...(event.subject ? { 'cloudevents.event_subject': event.subject } : {}),
    ...(event.partitionkey ? { 'messaging.kafka.message.key': String(event.partitionkey) } : {}),
  };
}

/** A `<type> publish` span, child of the event's origin. */
export function startPublishSpan(
  event: CloudEvent<unknown>,
  system: 'kafka' | 'knative',
  destination: string,
): Span {
  return tracer.startSpan(
    `${event.type} publish`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': system,
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'publish',
        'messaging.destination.name': destination,
        ...eventAttributes(event),
      },
    },
    originOf(event),
  );
}

/**
 * Runs `send` with one `<type> publish` span per event; `send` gets, per event, the transport
 * headers that carry its publish span as the hop's context.
 */
export async function publishing(
  events: readonly CloudEvent<unknown>[],
  system: 'kafka' | 'knative',
  destination: string,
  send: (hops: Record<string, string>[]) => Promise<void>,
): Promise<void> {
  const spans = events.map((event) => startPublishSpan(event, system, destination));
  const hops = spans.map((span) => {
    const carrier: Record<string, string> = {};
    propagation.inject(trace.setSpan(ROOT_CONTEXT, span), carrier);
    return carrier;
  });
  try {
    await send(hops);
  } catch (error) {
    for (const span of spans) fail(span, error);
    throw error;
  } finally {
    for (const span of spans) span.end();
  }
}

/**
 * Runs `work` in a `<type> process` span. Its parent is the hop's context (`hop`: the transport
 * header on Kafka; over HTTP the server span already active); it links to the event's origin.
 */
export async function inProcessSpan<T>(
  event: CloudEvent<unknown>,
  attributes: { system: 'kafka' | 'knative'; destination: string; subscription?: string },
  hop: Context,
  work: () => Promise<T>,
): Promise<T> {
  const origin = trace.getSpanContext(originOf(event));
  const links: Link[] = origin ? [{ context: origin }] : [];
  const span = tracer.startSpan(
    `${event.type} process`,
    {
      kind: SpanKind.CONSUMER,
      links,
      attributes: {
        'messaging.system': attributes.system,
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'process',
        'messaging.destination.name': attributes.destination,
        ...(attributes.subscription ? { 'messaging.consumer.group.name': attributes.subscription } : {}),
        ...eventAttributes(event),
      },
    },
    hop,
  );
  return context.with(trace.setSpan(hop, span), async () => {
    try {
      return await work();
    } catch (error) {
      fail(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

export function fail(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : new Error(String(error)));
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
}

/** Runs `work` in a span of its own, child of the active context (or of `parent`). */
export async function inSpan<T>(
  name: string,
  attributes: Record<string, string | number | boolean>,
  work: (span: Span) => Promise<T>,
  parent: Context = context.active(),
): Promise<T> {
  const span = tracer.startSpan(name, { attributes }, parent);
  return context.with(trace.setSpan(parent, span), async () => {
    try {
      return await work(span);
    } catch (error) {
      fail(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}
