import { type CloudEvent, HTTP } from 'cloudevents';
import type { EventPublisher } from '../publisher.js';
import { publishing } from '../telemetry/tracing.js';

/**
 * Publishes to the Knative broker ingress (`K_SINK`) by HTTP POST in binary content mode, one event
 * at a time to keep their order. Only 202 Accepted counts: anything else is an error, retried by the
 * outbox relay.
 * https://knative.dev/docs/eventing/reference/data-plane/ (event ingress)
 */
export class KnativePublisher implements EventPublisher {
  constructor(
    private readonly sink: string,
    private readonly timeoutMs = 5000,
  ) {}

  async connect(): Promise<void> {}

  async publish(events: readonly CloudEvent<unknown>[]): Promise<void> {
    for (const event of events) {
      await publishing([event], 'knative', this.sink, ([hop]) => this.post(event, hop ?? {}));
    }
  }

  private async post(event: CloudEvent<unknown>, hop: Record<string, string>): Promise<void> {
    const message = HTTP.binary(event);
    const response = await fetch(this.sink, {
      method: 'POST',
      headers: { ...(message.headers as Record<string, string>), ...hop },
      body: typeof message.body === 'string' ? message.body : JSON.stringify(message.body),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (response.status !== 202) {
      const text = await response.text().catch(() => '');
      throw new Error(
        `broker ingress ${this.sink} answered ${response.status} for ${event.type} ${event.id}: ${text}`,
      );
    }
  }

  async disconnect(): Promise<void> {}
}
