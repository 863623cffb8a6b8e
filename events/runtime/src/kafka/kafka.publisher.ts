import type { CloudEvent } from 'cloudevents';
import type { Kafka, Message, Producer } from 'kafkajs';
import type { EventPublisher } from '../publisher.js';
import { publishing } from '../telemetry/tracing.js';
import { toKafkaRecord } from './kafka.records.js';

/**
 * Publishes to the events topic with acks from all in-sync replicas. `ordered` (the default, used by
 * the outbox relay) makes the producer idempotent with one request in flight, so that a retry can
 * neither duplicate nor reorder; the benchmark's naive baseline sends without that.
 */
export class KafkaPublisher implements EventPublisher {
  private readonly producer: Producer;

  constructor(
    kafka: Kafka,
    private readonly topic: string,
    ordered = true,
  ) {
    this.producer = kafka.producer({
      ...(ordered ? { idempotent: true, maxInFlightRequests: 1 } : {}),
      allowAutoTopicCreation: false,
    });
  }

  async connect(): Promise<void> {
    await this.producer.connect();
  }

  async publish(events: readonly CloudEvent<unknown>[]): Promise<void> {
    if (events.length === 0) return;
    await publishing(events, 'kafka', this.topic, async (hops) => {
      const messages = events.map((event, i) => {
        const record = toKafkaRecord(event);
        return { ...record, headers: { ...record.headers, ...hops[i] } };
      });
      await this.producer.send({ topic: this.topic, acks: -1, messages });
    });
  }

  /** Raw records to another topic (the dead-letter topic, replays). */
  async sendRecords(topic: string, messages: Message[]): Promise<void> {
    await this.producer.send({ topic, acks: -1, messages });
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect();
  }
}
