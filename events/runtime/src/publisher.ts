import type { CloudEvent } from 'cloudevents';

/** Sends events to the event transport, in the given order. Resolves only once all are accepted. */
export interface EventPublisher {
  connect(): Promise<void>;
  publish(events: readonly CloudEvent<unknown>[]): Promise<void>;
  disconnect(): Promise<void>;
}
