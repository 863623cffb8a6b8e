/**
 * CloudEvents of the catalog: created with their schema checked (publish side) and checked again
 * when they arrive (receive side). The envelope is the `cloudevents` SDK's CloudEvent.
 */
import { randomUUID } from 'node:crypto';
import { type AnyEvent, type EventData, type EventDefinition, findEvent } from '@soundgood/event-catalog';
import { CloudEvent } from 'cloudevents';
import { currentTraceContext } from './telemetry/tracing.js';

/** An event that can never be handled: not retried (Knative: 4xx; Kafka: straight to dead letters). */
export class InvalidEventError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 403 | 415 = 400,
  ) {
    super(message);
  }
}

/**
 * An event whose `source` is not the catalog's producer of its type: refused before anything is
 * applied (Knative: 403, not retried, dead-lettered; Kafka: dead-lettered at once), and counted in
 * `soundgood_events_refused_total`. In a cluster the broker's EventPolicies already refuse a sender
 * that is not the type's producer (docs/security.md, Events); this check is the one both transports
 * share, and the only one on Kafka and on the broker's reply path.
 */
export class ForeignSourceError extends InvalidEventError {
  constructor(
    readonly definition: AnyEvent,
    readonly claimedSource: string,
  ) {
    super(
      `${definition.type} comes only from its producer ${definition.producer} (source ${definition.source}), ` +
        `not from source "${claimedSource}"`,
      403,
    );
  }
}

/** Thrown by a handler for an event that it can never handle; every other error is retried. */
export class PermanentEventError extends Error {}

export interface EventOptions {
  /** The aggregate the event is about (the rental id): the Kafka record key, for per-rental order. */
  partitionKey: string;
  subject?: string;
}

function schemaProblems(definition: AnyEvent | EventDefinition, data: unknown): string | undefined {
  const result = definition.schema.safeParse(data);
  if (result.success) return undefined;
  return result.error.issues
    .map((issue) => `${issue.path.join('.') || '(data)'}: ${issue.message}`)
    .join('; ');
}

/**
 * Builds an event of a catalog type; throws when the data does not match the type's schema. The
 * active trace context becomes its distributed-tracing extension (`traceparent`, `tracestate`).
 */
export function createEvent<E extends EventDefinition>(
  definition: E,
  data: EventData<E>,
  options: EventOptions,
): CloudEvent<EventData<E>> {
  const problems = schemaProblems(definition, data);
  if (problems) throw new Error(`refusing to publish ${definition.type} with invalid data: ${problems}`);
  return new CloudEvent<EventData<E>>({
    id: randomUUID(),
    type: definition.type,
    source: definition.source,
    specversion: '1.0',
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    partitionkey: options.partitionKey,
    ...(options.subject ? { subject: options.subject } : {}),
    ...currentTraceContext(),
    data,
  });
}

/**
 * Checks an incoming event against the catalog: a valid CloudEvent, a known type, sent by that type's
 * producer (its `source`), data matching the type's schema. Returns its definition or throws an
 * InvalidEventError (a ForeignSourceError for a source that is not the producer's).
 */
export function validateIncoming(event: CloudEvent<unknown>): AnyEvent {
  try {
    event.validate();
  } catch (error) {
    const details = (error as { errors?: unknown }).errors;
    throw new InvalidEventError(
      `not a valid CloudEvent: ${(error as Error).message}${details ? ` ${JSON.stringify(details)}` : ''}`,
    );
  }
  const definition = findEvent(event.type);
  if (!definition)
    throw new InvalidEventError(`unknown event type "${event.type}": not in the Soundgood event catalog`);
  if (event.source !== definition.source) throw new ForeignSourceError(definition, event.source);
  const problems = schemaProblems(definition, event.data);
  if (problems)
    throw new InvalidEventError(`data of ${event.type} (id ${event.id}) fails its schema: ${problems}`);
  return definition;
}

/** Plain object form, as stored in the outbox and the inbox (CloudEvents JSON format). */
export function toStructured(event: CloudEvent<unknown>): Record<string, unknown> {
  return event.toJSON() as Record<string, unknown>;
}

export function fromStructured(json: unknown): CloudEvent<unknown> {
  return new CloudEvent(json as Record<string, unknown> & { type: string; source: string }, false);
}
