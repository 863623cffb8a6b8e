import type { CloudEvent } from 'cloudevents';
import type { Kafka, Message, Producer } from 'kafkajs';
import type { EventPublisher } from '../publisher.js';
import { publishing } from '../telemetry/tracing.js';
import { toKafkaRecord } from './kafka.records.js';

/**
 * Publishes to the events topic with acks from all in-sync replicas. `ordered` (the default, used by
 * the outbox relay) makes the producer idempotent with one request in flight, so that a retry can
 * neither duplicate nor reorder; the benchmark's naive baseline sends without that.
 *
 * While the broker is away a send fails after a few seconds of retries (the outbox keeps the events
 * and the relay tries again); the producer that failed is replaced by a new one on the next send, so
 * that no state it kept about the lost connection (its idempotence sequence numbers, a half-open
 * socket) can keep it failing once the broker is back. A batch sent again by a new producer may be
 * a duplicate: the consumers' inbox absorbs it.
 */
export class KafkaPublisher implements EventPublisher {
  private producer: Producer;
  private broken = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly topic: string,
    private readonly ordered = true,
  ) {
    this.producer = this.create();
  }

  private create(): Producer {
    return this.kafka.producer({
      ...(this.ordered ? { idempotent: true, maxInFlightRequests: 1 } : {}),
      allowAutoTopicCreation: false,
      // About 3 s of retries, then the send fails and the outbox relay takes over.
      retry: { retries: 4, initialRetryTime: 200, maxRetryTime: 1_000 },
    });
  }

  async connect(): Promise<void> {
    await this.producer.connect();
  }

  private async send(record: Parameters<Producer['send']>[0]): Promise<void> {
    if (this.broken) {
      const old = this.producer;
      this.producer = this.create();
      this.broken = false;
      await old.disconnect().catch(() => undefined);
      await this.producer.connect().catch((error: Error) => {
        this.broken = true;
        throw error;
      });
    }
    try {
      await this.producer.send(record);
    } catch (error) {
      this.broken = true;
      throw error;
    }
  }

  async publish(events: readonly CloudEvent<unknown>[]): Promise<void> {
    if (events.length === 0) return;
    await publishing(events, 'kafka', this.topic, async (hops) => {
      const messages = events.map((event, i) => {
        const record = toKafkaRecord(event);
        return { ...record, headers: { ...record.headers, ...hops[i] } };
      });
      await this.send({ topic: this.topic, acks: -1, messages });
    });
  }

  /** Raw records to another topic (the dead-letter topic, replays). */
  async sendRecords(topic: string, messages: Message[]): Promise<void> {
    await this.send({ topic, acks: -1, messages });
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect();
  }
}
