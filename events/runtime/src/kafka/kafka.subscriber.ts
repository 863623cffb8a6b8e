import { setTimeout as sleep } from 'node:timers/promises';
import type { LoggerService } from '@nestjs/common';
import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { type ServiceName, type Subscription, subscriptionsOf } from '@soundgood/event-catalog';
import type { CloudEvent } from 'cloudevents';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { EventDispatcher } from '../dispatcher.js';
import { InvalidEventError, PermanentEventError } from '../events.js';
import type { EventingMetrics } from '../metrics.js';
import { contextFrom, inProcessSpan } from '../telemetry/tracing.js';
import { removeGroupMember } from './kafka.group.js';
import type { KafkaPublisher } from './kafka.publisher.js';
import { fromKafkaRecord, headerText } from './kafka.records.js';

/** The subscriptions one consumer group serves, and the name it goes by. */
export interface ConsumerGroup {
  name: string;
  subscriptions: Subscription[];
}

/** A fetched record, and the subscription of this group it is for (none: not its type). */
interface FetchedRecord {
  message: KafkaMessage;
  subscription?: Subscription;
}

/** How a service's subscriptions are split into consumer groups (KAFKA_CONSUMER_GROUPS). */
export const consumerGroupModes = ['per-service', 'per-subscription'] as const;
export type ConsumerGroupMode = (typeof consumerGroupModes)[number];
export const defaultConsumerGroupMode: ConsumerGroupMode = 'per-service';

/**
 * A service's consumer groups: one for all its subscriptions (`per-service`), or one per subscription
 * as Knative makes one per Trigger (`per-subscription`). Each group's id is `<topic>.<name>`.
 */
export function consumerGroupsOf(service: ServiceName, mode: ConsumerGroupMode): ConsumerGroup[] {
  const subscriptions = subscriptionsOf(service);
  return mode === 'per-service'
    ? [{ name: service, subscriptions }]
    : subscriptions.map((subscription) => ({ name: subscription.name, subscriptions: [subscription] }));
}

export interface SubscriberOptions {
  topic: string;
  deadLetterTopic: string;
  maxAttempts: number;
  backoffMs: number;
  /**
   * Whether the service's own dependencies answer (its database). A handler that fails while they do
   * not is retried without counting the attempt: an outage is not the event's fault, and must not
   * send it to the dead-letter topic.
   */
  dependenciesUp?: () => Promise<boolean>;
}

/**
 * Group timings (https://kafka.apache.org/documentation/#consumerconfigs_session.timeout.ms). A
 * member that crashed (kill -9) never leaves its group: the coordinator waits out its session before
 * the group rebalances and its restarted successor, a new member, gets the partitions. kafkajs has no
 * static membership (group.instance.id), so the session is what bounds that wait: 6 s is the broker's
 * smallest (group.min.session.timeout.ms). Heartbeats go out at most every second, and a fetch waits
 * at most 1 s, so that heartbeats are never held up behind an idle fetch.
 */
export const groupTimings = {
  sessionTimeout: 6_000,
  heartbeatInterval: 1_000,
  rebalanceTimeout: 20_000,
  maxWaitTimeInMs: 1_000,
} as const;

/**
 * At most this many relevant events of a partition's fetched batch are handled in one transaction:
 * enough to spread a transaction's fixed cost (BEGIN/COMMIT round trips, Prisma's interactive
 * transaction, the commit's fsync) thin, few enough that the transaction, and the locks it holds,
 * stay short, and that the consumer heartbeats (between chunks) well within its session.
 */
export const maxEventsPerTransaction = 50;

/**
 * A consumer group reading the whole events topic and keeping the records whose `ce_type` one of its
 * subscriptions names, as a Knative Trigger filters a broker. By default a service has one group for
 * all its subscriptions; KAFKA_CONSUMER_GROUPS=per-subscription gives each subscription a group of
 * its own, as each Trigger has (consumerGroupsOf). A failing event is retried
 * with exponential backoff, then sent to the dead-letter topic, so a poison record holds its
 * partition for a bounded time only; an invalid one goes there at once.
 */
export class KafkaSubscriber {
  private readonly consumer: Consumer;
  private readonly byType: Map<string, Subscription>;
  private joined = false;
  /** When the consumer last heard from the broker (a fetch, a heartbeat, a join). */
  private lastContact = 0;
  private stopping = false;
  private restarting?: NodeJS.Timeout;
  /** This consumer's id in its group, while it is a member. */
  private memberId?: string;
  readonly groupId: string;

  constructor(
    private readonly kafka: Kafka,
    group: ConsumerGroup,
    private readonly options: SubscriberOptions,
    private readonly dispatcher: EventDispatcher,
    private readonly publisher: KafkaPublisher,
    private readonly metrics: EventingMetrics,
    private readonly logger: LoggerService,
  ) {
    this.byType = new Map(group.subscriptions.map((s) => [s.event.type, s]));
    this.groupId = `${options.topic}.${group.name}`;
    this.consumer = kafka.consumer({
      groupId: this.groupId,
      allowAutoTopicCreation: false,
      ...groupTimings,
    });
    const contact = () => {
      this.lastContact = Date.now();
    };
    const { events } = this.consumer;
    for (const event of [events.FETCH, events.HEARTBEAT, events.START_BATCH_PROCESS, events.COMMIT_OFFSETS])
      this.consumer.on(event, contact);
    this.consumer.on(events.GROUP_JOIN, ({ payload }) => {
      contact();
      this.joined = true;
      this.memberId = payload.memberId;
    });
    this.consumer.on(this.consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      metrics.consumerLag.set(
        { subscription: group.name, partition: payload.partition },
        Number(payload.offsetLag),
      );
    });
    // kafkajs restarts a consumer itself after a retriable error (the broker gone, retries exhausted);
    // after any other it stays stopped, so this restarts it: nothing but a shutdown stops consuming.
    this.consumer.on(events.CRASH, ({ payload }) => {
      this.joined = false;
      this.logger.error(
        `${group.name}: consumer crashed (${payload.restart ? 'kafkajs restarts it' : 'restarting it'}): ${payload.error.message}`,
        'Kafka',
      );
      // Whichever restarts it, the restarted consumer is a new member: remove the old one, so that
      // the group need not wait out its session (kafka.group.ts).
      const stale = this.memberId;
      this.memberId = undefined;
      if (stale) void this.removeStaleMember(stale);
      if (!payload.restart) this.restartSoon();
    });
  }

  /** In its group, and in touch with the broker within a session timeout. */
  get ready(): boolean {
    return this.joined && Date.now() - this.lastContact < groupTimings.sessionTimeout;
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    // A new group starts at the beginning: events published before its first start are not lost.
    await this.consumer.subscribe({ topic: this.options.topic, fromBeginning: true });
    await this.run();
  }

  private async removeStaleMember(memberId: string): Promise<void> {
    // The broker may be away for a while: keep asking, about once a second, for a few minutes.
    for (let attempt = 0; attempt < 180 && !this.stopping; attempt++) {
      try {
        if (!(await removeGroupMember(this.kafka, this.groupId, memberId))) return;
        this.logger.log(`${this.groupId}: removed the crashed consumer's member ${memberId}`, 'Kafka');
        return;
      } catch {
        await sleep(1_000);
      }
    }
  }

  private restartSoon(delayMs = 1_000): void {
    if (this.stopping || this.restarting) return;
    this.restarting = setTimeout(async () => {
      this.restarting = undefined;
      if (this.stopping) return;
      try {
        await this.consumer.connect();
        await this.run();
      } catch (error) {
        this.logger.error(`consumer restart failed, retrying: ${describe(error)}`, 'Kafka');
        this.restartSoon(Math.min(delayMs * 2, 2_000));
      }
    }, delayMs);
  }

  private async run(): Promise<void> {
    await this.consumer.run({
      partitionsConsumedConcurrently: 3,
      // Every group reads the whole topic: committing after each batch would be one request per
      // event per group. Once a second is enough, the inbox absorbs what a crash redelivers.
      autoCommitInterval: 1000,
      // Offsets are resolved once the events before them are committed (handleBatch).
      eachBatchAutoResolve: false,
      eachBatch: (payload) => this.handleBatch(payload),
    });
  }

  /** Finishes the records in hand, commits their offsets and leaves the group. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.joined = false;
    clearTimeout(this.restarting);
    await this.consumer.disconnect();
  }

  /**
   * A partition's fetched batch, in chunks of at most `maxEventsPerTransaction` relevant events; the
   * records of types this group does not subscribe to are skipped. A chunk of several events is
   * handled in one transaction (EventDispatcher.dispatchBatch). If any of them throws, that
   * transaction rolls back whole, nothing of the chunk is applied, and the chunk falls back to the
   * path of a single event: each event on its own through `deliver` (retries with backoff,
   * dead-letter, waiting for the database), in order. So order per partition and every guarantee of
   * one transaction per event stay; handlers are already safe to run again after a rollback, as
   * their retries do. (A savepoint per event would let the others commit, but costs two round trips
   * per event, as much as the BEGIN/COMMIT the batch saves; and a chunk rarely fails: a handler's
   * error is an exception, not a business outcome.) An offset is resolved only once its event, and
   * every one before it, is committed; a stop lets the chunk in hand finish, and kafkajs commits
   * the resolved offsets as it leaves.
   */
  private async handleBatch({
    batch,
    resolveOffset,
    heartbeat,
    commitOffsetsIfNecessary,
    isRunning,
    isStale,
  }: EachBatchPayload): Promise<void> {
    let chunk: FetchedRecord[] = [];
    let relevant = 0;
    const flush = async () => {
      await this.handleChunk(chunk, resolveOffset, heartbeat);
      chunk = [];
      relevant = 0;
      await heartbeat();
      await commitOffsetsIfNecessary();
    };
    for (const message of batch.messages) {
      if (!isRunning() || isStale()) break;
      // The record's type, read once: every step below goes by it.
      const subscription = this.byType.get(headerText(message.headers, 'ce_type') ?? '');
      if (!subscription) {
        // Nothing before it waits for a commit: skipped at once.
        if (relevant === 0) resolveOffset(message.offset);
        else chunk.push({ message });
        continue;
      }
      chunk.push({ message, subscription });
      if (++relevant === maxEventsPerTransaction) await flush();
    }
    if (relevant > 0 && isRunning() && !isStale()) await flush();
  }

  /** A chunk's records (relevant or not) in order: in one transaction, or else one by one. */
  private async handleChunk(
    chunk: FetchedRecord[],
    resolveOffset: (offset: string) => void,
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    const last = chunk.at(-1);
    if (!last) return;
    const relevant = chunk.filter(
      (record): record is Required<FetchedRecord> => record.subscription !== undefined,
    );
    if (relevant.length > 1 && (await this.handleTogether(relevant))) {
      this.metrics.batchSize.observe(relevant.length);
      resolveOffset(last.message.offset);
      return;
    }
    for (const { message, subscription } of chunk) {
      if (subscription) {
        await this.handle(subscription, message, heartbeat);
        this.metrics.batchSize.observe(1);
      }
      resolveOffset(message.offset);
    }
  }

  /**
   * The relevant records in one transaction, each in its own process span as `handle` makes; false
   * when that transaction rolled back (or a record is not a valid CloudEvent): nothing was applied.
   */
  private async handleTogether(relevant: Required<FetchedRecord>[]): Promise<boolean> {
    const records: (Required<FetchedRecord> & { event: CloudEvent<unknown> })[] = [];
    for (const record of relevant) {
      try {
        records.push({ ...record, event: fromKafkaRecord(record.message) });
      } catch {
        return false; // dead-lettered one by one, in its turn
      }
    }
    try {
      // Each event's work (its handler's queries among it) is traced in its own process span, in its
      // own trace, as when handled alone. The transaction's own BEGIN and COMMIT belong to no single
      // event's trace: not traced, rather than a root trace of their own per batch. Each process span
      // says how many events its transaction held.
      await context.with(suppressTracing(ROOT_CONTEXT), () =>
        this.dispatcher.dispatchBatch(
          records.map((r) => r.event),
          (index, work) => {
            const { subscription, message, event } = records[index] as (typeof records)[number];
            return inProcessSpan(event, this.whereOf(subscription), this.hopOf(message), () => {
              trace.getActiveSpan()?.setAttribute('soundgood.transaction.events', records.length);
              return work();
            });
          },
        ),
      );
      return true;
    } catch (error) {
      this.logger.warn?.(
        `${records.length} events handled together rolled back, handling them one by one: ${describe(error)}`,
        'Kafka',
      );
      return false;
    }
  }

  private whereOf(subscription: Subscription) {
    return { system: 'kafka' as const, destination: this.options.topic, subscription: subscription.name };
  }

  private hopOf(message: KafkaMessage) {
    return contextFrom({
      traceparent: headerText(message.headers, 'traceparent'),
      tracestate: headerText(message.headers, 'tracestate'),
    });
  }

  /** One event on its own, in its process span: retried, dead-lettered when it cannot succeed. */
  private async handle(
    subscription: Subscription,
    message: KafkaMessage,
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    let event: ReturnType<typeof fromKafkaRecord>;
    try {
      event = fromKafkaRecord(message);
    } catch (error) {
      await this.deadLetter(subscription, message, 400, `not a valid CloudEvent: ${describe(error)}`);
      return;
    }
    await inProcessSpan(event, this.whereOf(subscription), this.hopOf(message), () =>
      this.deliver(subscription, event, message, heartbeat),
    );
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
        if (!permanent && !this.stopping && !(await this.dependenciesUp())) {
          // Not this event's fault: wait for the database without spending an attempt. The offset is
          // not committed meanwhile, and a shutdown abandons the event to the next member (inbox).
          this.logger.warn?.(
            `${subscription.name}: ${event.type} ${event.id} waits for the database: ${describe(error)}`,
            'Kafka',
          );
          attempt--;
          await sleep(1_000);
          await heartbeat();
          continue;
        }
        if (this.stopping && !permanent) throw error;
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

  private async dependenciesUp(): Promise<boolean> {
    if (!this.options.dependenciesUp) return true;
    return this.options.dependenciesUp().catch(() => false);
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
