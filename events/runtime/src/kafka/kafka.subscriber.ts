import { setTimeout as sleep } from 'node:timers/promises';
import type { LoggerService } from '@nestjs/common';
import type { Subscription } from '@soundgood/event-catalog';
import type { Consumer, EachMessagePayload, Kafka, KafkaMessage } from 'kafkajs';
import type { EventDispatcher } from '../dispatcher.js';
import { InvalidEventError, PermanentEventError } from '../events.js';
import type { EventingMetrics } from '../metrics.js';
import { contextFrom, inProcessSpan } from '../telemetry/tracing.js';
import type { KafkaPublisher } from './kafka.publisher.js';
import { fromKafkaRecord, headerText } from './kafka.records.js';

/** The subscriptions one consumer group serves, and the name it goes by. */
export interface ConsumerGroup {
  name: string;
  subscriptions: Subscription[];
}

export interface SubscriberOptions {
  topic: string;
  deadLetterTopic: string;
  maxAttempts: number;
  backoffMs: number;
}

/**
 * A consumer group reading the whole events topic and keeping the records whose `ce_type` one of its
 * subscriptions names, as a Knative Trigger filters a broker. By default each subscription has a
 * group of its own, as each Trigger does (see KAFKA_CONSUMER_GROUPS). A failing event is retried
 * with exponential backoff, then sent to the dead-letter topic, so a poison record holds its
 * partition for a bounded time only; an invalid one goes there at once.
 */
export class KafkaSubscriber {
  private readonly consumer: Consumer;
  private readonly byType: Map<string, Subscription>;
  private joined = false;

  constructor(
    kafka: Kafka,
    group: ConsumerGroup,
    private readonly options: SubscriberOptions,
    private readonly dispatcher: EventDispatcher,
    private readonly publisher: KafkaPublisher,
    private readonly metrics: EventingMetrics,
    private readonly logger: LoggerService,
  ) {
    this.byType = new Map(group.subscriptions.map((s) => [s.event.type, s]));
    this.consumer = kafka.consumer({
      groupId: `${options.topic}.${group.name}`,
      allowAutoTopicCreation: false,
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
      this.joined = true;
    });
    this.consumer.on(this.consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      metrics.consumerLag.set(
        { subscription: group.name, partition: payload.partition },
        Number(payload.offsetLag),
      );
    });
    this.consumer.on(this.consumer.events.CRASH, (event) => {
      this.joined = false;
      this.logger.error(`${group.name}: consumer crashed: ${event.payload.error.message}`, 'Kafka');
    });
  }

  get ready(): boolean {
    return this.joined;
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    // A new group starts at the beginning: events published before its first start are not lost.
    await this.consumer.subscribe({ topic: this.options.topic, fromBeginning: true });
    await this.consumer.run({
      partitionsConsumedConcurrently: 3,
      // Every group reads the whole topic: committing after each batch would be one request per
      // event per group. Once a second is enough, the inbox absorbs what a crash redelivers.
      autoCommitInterval: 1000,
      eachMessage: (payload) => this.handle(payload),
    });
  }

  /** Finishes the records in hand, commits their offsets and leaves the group. */
  async stop(): Promise<void> {
    this.joined = false;
    await this.consumer.disconnect();
  }

  private async handle({ message, heartbeat }: EachMessagePayload): Promise<void> {
    const subscription = this.byType.get(headerText(message.headers, 'ce_type') ?? '');
    if (!subscription) return;
    let event: ReturnType<typeof fromKafkaRecord>;
    try {
      event = fromKafkaRecord(message);
    } catch (error) {
      await this.deadLetter(subscription, message, 400, `not a valid CloudEvent: ${describe(error)}`);
      return;
    }
    const hop = contextFrom({
      traceparent: headerText(message.headers, 'traceparent'),
      tracestate: headerText(message.headers, 'tracestate'),
    });
    const where = {
      system: 'kafka' as const,
      destination: this.options.topic,
      subscription: subscription.name,
    };
    await inProcessSpan(event, where, hop, () => this.deliver(subscription, event, message, heartbeat));
  }

  /** Handles the event, retrying with backoff; dead-letters it when it cannot or may not succeed. */
  private async deliver(
    subscription: Subscription,
    event: ReturnType<typeof fromKafkaRecord>,
    message: KafkaMessage,
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.dispatcher.dispatch(event);
        return;
      } catch (error) {
        const permanent = error instanceof InvalidEventError || error instanceof PermanentEventError;
        if (permanent || attempt >= this.options.maxAttempts) {
          await this.deadLetter(
            subscription,
            message,
            error instanceof InvalidEventError ? error.status : permanent ? 400 : 500,
            describe(error),
          );
          return;
        }
        this.logger.warn?.(
          `${subscription.name}: ${event.type} ${event.id} failed (attempt ${attempt}/${this.options.maxAttempts}): ${describe(error)}`,
          'Kafka',
        );
        await sleep(this.options.backoffMs * 2 ** (attempt - 1));
        await heartbeat();
      }
    }
  }

  /**
   * The record as it was, plus the extensions Knative adds when it dead-letters an event:
   * knativeerrordest, knativeerrorcode, knativeerrordata (base64).
   * https://knative.dev/docs/eventing/event-delivery/#configuring-subscription-event-delivery
   */
  private async deadLetter(
    subscription: Subscription,
    message: KafkaMessage,
    code: number,
    reason: string,
  ): Promise<void> {
    const type = headerText(message.headers, 'ce_type') ?? 'unknown';
    this.logger.error(
      `${subscription.name}: ${type} sent to ${this.options.deadLetterTopic}: ${reason}`,
      'Kafka',
    );
    await this.publisher.sendRecords(this.options.deadLetterTopic, [
      {
        key: message.key,
        value: message.value,
        headers: {
          ...message.headers,
          ce_knativeerrordest: `kafka://${this.options.topic}/${subscription.name}`,
          ce_knativeerrorcode: String(code),
          ce_knativeerrordata: Buffer.from(reason).toString('base64'),
        },
      },
    ]);
    this.metrics.deadLettered.inc({ event_type: type, subscription: subscription.name });
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const details = (error as { errors?: unknown }).errors;
    return details ? `${error.message} ${JSON.stringify(details)}` : error.message;
  }
  if (error && typeof error === 'object' && 'message' in error) return String(error.message);
  return String(error);
}
