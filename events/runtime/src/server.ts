import { hostname } from 'node:os';
import type { LoggerService } from '@nestjs/common';
import { type CustomTransportStrategy, Server } from '@nestjs/microservices';
import type { ServiceName } from '@soundgood/event-catalog';
import { Kafka, logLevel } from 'kafkajs';
import type { BaseConfig } from './config.js';
import type { EventingDatabase } from './database.js';
import { EventDispatcher } from './dispatcher.js';
import { Inbox } from './inbox/inbox.js';
import { removeFormerMembers } from './kafka/kafka.group.js';
import { KafkaPublisher } from './kafka/kafka.publisher.js';
import { consumerGroupsOf, KafkaSubscriber } from './kafka/kafka.subscriber.js';
import { KnativePublisher } from './knative/knative.publisher.js';
import type { EventingMetrics } from './metrics.js';
import { Outbox } from './outbox/outbox.js';
import { OutboxRelay } from './outbox/outbox.relay.js';
import type { EventPublisher } from './publisher.js';
import { Retention } from './retention/retention.js';
import { inboxRetentionProblem } from './retention/retention.topics.js';

export interface EventingServerOptions {
  service: ServiceName;
  config: BaseConfig;
  database: EventingDatabase;
  outbox: Outbox;
  metrics: EventingMetrics;
  logger: LoggerService;
}

/**
 * The NestJS transport for Soundgood's CloudEvents: handlers are plain `@EventPattern(<type>)`
 * methods, whichever transport `EVENT_TRANSPORT` selects.
 * - kafka: a consumer group per catalog subscription on the events topic; publishes to that topic.
 * - knative: Triggers POST to `/events` (mounted by runService); publishes to the broker (`K_SINK`).
 * It also runs the outbox relay, which is how every service publishes, and the retention sweep that
 * keeps the outbox and inbox tables bounded.
 */
export class EventingServer extends Server implements CustomTransportStrategy {
  readonly dispatcher: EventDispatcher;
  private readonly kafka?: Kafka;
  private readonly kafkaClientId: string;
  private readonly publisher: EventPublisher;
  private readonly relay: OutboxRelay;
  private readonly retention: Retention;
  private retentionCheck?: Promise<void>;
  private subscribers: KafkaSubscriber[] = [];
  private listening = false;

  constructor(private readonly options: EventingServerOptions) {
    super();
    const { config, service, metrics, logger } = options;
    const kafkaMode = config.EVENT_TRANSPORT === 'kafka';
    // The instance: only one live process holds a host and port, so a group member with this client
    // id that is not ours is a crashed predecessor (removeFormerMembers, in listen).
    this.kafkaClientId = `soundgood-${service}@${hostname()}:${config.PORT}`;
    if (kafkaMode) {
      this.kafka = new Kafka({
        clientId: this.kafkaClientId,
        brokers: (config.KAFKA_BROKERS as string).split(','),
        logLevel: logLevel.WARN,
        // While the broker is away, try again at least every second (kafkajs's default backs off to
        // 30 s), so that consuming resumes within about a second of its return; and for about 30 s
        // before a consumer gives up and restarts: a restarted consumer is a new group member, which
        // waits for its former self's session to expire. (The producer gives up sooner: kafka.publisher.ts.)
        retry: { initialRetryTime: 100, maxRetryTime: 1_000, retries: 30 },
        logCreator:
          () =>
          ({ level, log }) => {
            const text = `${log.message}${log.error ? `: ${log.error}` : ''}`;
            if (level <= logLevel.ERROR) logger.error(text, 'kafkajs');
            else logger.warn?.(text, 'kafkajs');
          },
      });
      this.publisher = new KafkaPublisher(
        this.kafka,
        config.KAFKA_TOPIC,
        config.EVENT_DELIVERY === 'reliable',
      );
    } else {
      this.publisher = new KnativePublisher(config.K_SINK as string, {
        ...(config.K_SINK_TOKEN_FILE ? { tokenFile: config.K_SINK_TOKEN_FILE } : {}),
      });
    }
    if (config.EVENT_DELIVERY === 'naive') options.outbox.publishDirectlyWith(this.publisher);
    this.dispatcher = new EventDispatcher(
      service,
      options.database,
      config.EVENT_DELIVERY === 'naive' ? undefined : new Inbox(),
      options.outbox,
      kafkaMode ? 'outbox' : 'response',
      metrics,
      logger,
      (type) => this.getHandlerByPattern(type),
    );
    this.relay = new OutboxRelay({
      databaseUrl: config.DATABASE_URL,
      publisher: this.publisher,
      logger,
      pollIntervalMs: config.OUTBOX_POLL_INTERVAL_MS,
      onPublished: (events) => {
        for (const { type, lagMs } of events) {
          metrics.published.inc({ event_type: type });
          metrics.outboxLag.observe(lagMs / 1000);
        }
      },
    });
    this.retention = new Retention({
      databaseUrl: config.DATABASE_URL,
      logger,
      outboxRetentionMs: config.OUTBOX_RETENTION,
      inboxRetentionMs: config.INBOX_RETENTION,
      intervalMs: config.RETENTION_INTERVAL,
      batchSize: config.RETENTION_BATCH_SIZE,
      onDeleted: (table, rows) => metrics.retentionDeleted.inc({ table }, rows),
    });
  }

  /**
   * Ready when the relay runs and publishes (its last attempt did not fail) and, on Kafka, every
   * subscription's consumer is in its group and in touch with the broker.
   */
  get ready(): boolean {
    return this.listening && !this.relay.failing && this.subscribers.every((s) => s.ready);
  }

  async listen(callback: (error?: unknown) => void): Promise<void> {
    try {
      this.dispatcher.checkHandlers(this.messageHandlers.keys());
      await this.publisher.connect();
      await this.relay.start();
      this.retention.start();
      if (this.kafka) {
        const { config } = this.options;
        // In the background: it must not hold up consuming, e.g. while the broker is slow to answer.
        if (config.EVENT_DELIVERY === 'reliable') this.retentionCheck = this.checkInboxRetention();
        this.subscribers = consumerGroupsOf(this.options.service, config.KAFKA_CONSUMER_GROUPS).map(
          (group) =>
            new KafkaSubscriber(
              this.kafka as Kafka,
              group,
              {
                topic: config.KAFKA_TOPIC,
                deadLetterTopic: config.KAFKA_DEAD_LETTER_TOPIC,
                maxAttempts: config.EVENT_MAX_ATTEMPTS,
                backoffMs: config.EVENT_RETRY_BACKOFF_MS,
                dependenciesUp: async () => {
                  await this.options.database.$queryRawUnsafe('SELECT 1');
                  return true;
                },
              },
              this.dispatcher,
              this.publisher as KafkaPublisher,
              this.options.metrics,
              this.options.logger,
            ),
        );
        const removed = await removeFormerMembers(
          this.kafka as Kafka,
          this.subscribers.map((s) => s.groupId),
          this.kafkaClientId,
        );
        if (removed.length > 0)
          this.options.logger.log(`removed a crashed predecessor from ${removed.join(', ')}`, 'Kafka');
        await Promise.all(this.subscribers.map((s) => s.start()));
      }
      this.listening = true;
      callback();
    } catch (error) {
      callback(error);
    }
  }

  /**
   * Stops taking events, lets those in hand finish and leaves the consumer groups (their partitions
   * move to the other replicas at once), publishes what the outbox still holds, then disconnects.
   */
  async close(): Promise<void> {
    this.listening = false;
    await Promise.all(this.subscribers.map((s) => s.stop()));
    await this.retention.stop();
    await this.retentionCheck;
    await this.relay.stop();
    await this.publisher.disconnect();
  }

  /** A warning, not a refusal: an operator may accept the risk, or not be allowed to read topic configs. */
  private async checkInboxRetention(): Promise<void> {
    const { config, logger } = this.options;
    const problem = await inboxRetentionProblem(
      this.kafka as Kafka,
      { events: config.KAFKA_TOPIC, deadLetters: config.KAFKA_DEAD_LETTER_TOPIC },
      config.INBOX_RETENTION,
    ).catch((error: Error) => `could not check INBOX_RETENTION against the topics: ${error.message}`);
    if (problem) logger.warn?.(problem);
  }

  on(): never {
    throw new Error('EventingServer has no transport events to listen to');
  }

  unwrap<T>(): T {
    return (this.kafka ?? this.publisher) as T;
  }
}
