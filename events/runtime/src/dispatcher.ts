import type { LoggerService } from '@nestjs/common';
import type { MessageHandler } from '@nestjs/microservices';
import { BaseRpcContext } from '@nestjs/microservices';
import { type ServiceName, type Subscription, subscriptionsOf } from '@soundgood/event-catalog';
import type { CloudEvent } from 'cloudevents';
import { isObservable, lastValueFrom } from 'rxjs';
import type { EventingDatabase, SqlExecutor } from './database.js';
import { ForeignSourceError, InvalidEventError, validateIncoming } from './events.js';
import type { Inbox } from './inbox/inbox.js';
import type { EventingMetrics } from './metrics.js';
import type { Outbox } from './outbox/outbox.js';

// A handler may wait on a slow dependency (the payment provider); Prisma's default is 5 s.
const TRANSACTION_LIMITS = { maxWait: 10_000, timeout: 30_000 };

/** The second argument of every event handler (`@Ctx()`): the event and the open transaction. */
export class EventContext<Tx extends SqlExecutor = SqlExecutor> extends BaseRpcContext<
  [CloudEvent<unknown>, Tx]
> {
  get event(): CloudEvent<unknown> {
    return this.args[0];
  }

  /** The transaction in which the event is recorded in the inbox: do the handler's writes in it. */
  get tx(): Tx {
    return this.args[1];
  }
}

export interface DispatchResult {
  /** The event the handler answered with, if any (for Knative, the HTTP response). */
  reply?: CloudEvent<unknown>;
  duplicate: boolean;
}

/**
 * Runs the handler of an incoming event exactly once per event: validation against the catalog
 * (including that its source is its type's producer: the one check both transports go through),
 * then one transaction holding the inbox record, the handler's writes and its reply. A reply goes
 * through the outbox on Kafka, and back in the HTTP response on Knative (where the broker publishes
 * it), remembered in the inbox for a redelivery.
 */
export class EventDispatcher {
  private readonly subscriptions: Map<string, Subscription>;

  constructor(
    private readonly service: ServiceName,
    private readonly database: EventingDatabase,
    /** None only for the benchmark's naive baseline: every delivery is handled as new. */
    private readonly inbox: Inbox | undefined,
    private readonly outbox: Outbox,
    private readonly replyVia: 'outbox' | 'response',
    private readonly metrics: EventingMetrics,
    private readonly logger: LoggerService,
    private readonly handlerFor: (type: string) => MessageHandler | null,
  ) {
    this.subscriptions = new Map(subscriptionsOf(service).map((s) => [s.event.type, s]));
  }

  /** Fails when a subscription has no handler or a handler has no subscription. */
  checkHandlers(patterns: Iterable<string>): void {
    const handled = new Set(patterns);
    const missing = [...this.subscriptions.keys()].filter((type) => !handled.has(type));
    const extra = [...handled].filter((type) => !this.subscriptions.has(type));
    if (missing.length > 0 || extra.length > 0) {
      throw new Error(
        `${this.service}: event handlers do not match the catalog's subscriptions` +
          (missing.length ? `; no @EventPattern handler for ${missing.join(', ')}` : '') +
          (extra.length ? `; handlers without a subscription in events/catalog: ${extra.join(', ')}` : ''),
      );
    }
  }

  subscriptionFor(type: string): Subscription | undefined {
    return this.subscriptions.get(type);
  }

  async dispatch(event: CloudEvent<unknown>): Promise<DispatchResult> {
    const started = performance.now();
    try {
      const result = await this.run(event);
      this.logger.debug?.(
        `handled ${event.type} ${event.id}${result.duplicate ? ' (duplicate)' : ''} in ${Math.round(performance.now() - started)} ms`,
        'EventDispatcher',
      );
      this.metrics.consumed.inc({
        event_type: event.type,
        outcome: result.duplicate ? 'duplicate' : 'success',
      });
      return result;
    } catch (error) {
      this.failed(event, error);
      throw error;
    } finally {
      this.metrics.handleDuration.observe({ event_type: event.type }, (performance.now() - started) / 1000);
    }
  }

  /**
   * Handles several events in ONE transaction, in order (the kafka transport's batch of a
   * partition): all are validated and recorded in the inbox in one statement, then each is handled
   * and its reply put in the outbox as `dispatch` does, inside `around` (the subscriber's process
   * span with that record's trace context). One BEGIN/COMMIT and one inbox INSERT for all instead
   * of one each per event. If any event throws, the whole
   * transaction rolls back, nothing of the batch is applied, and the error is thrown: the caller
   * handles the events again one by one (`dispatch`). Metrics count each event after the commit
   * (its handle duration is its own share of the transaction); the event that failed counts as a
   * failed attempt (unless invalid), the others not at all (handled again, they are counted then).
   */
  async dispatchBatch(
    events: readonly CloudEvent<unknown>[],
    around: (index: number, work: () => Promise<DispatchResult>) => Promise<DispatchResult> = (_, work) =>
      work(),
  ): Promise<DispatchResult[]> {
    const durations: number[] = [];
    let failed: CloudEvent<unknown> | undefined;
    let failedStarted = 0;
    const results = await this.database
      .$transaction(async (tx) => {
        const handlers = events.map((event) => {
          failed = event;
          return this.handlerOf(event);
        });
        // A failed inbox INSERT, like a failed COMMIT, is no event's failed attempt.
        failed = undefined;
        // Every event into the inbox at once: one round trip, not one per event.
        const recorded = this.inbox ? await this.inbox.recordAll(tx, events) : undefined;
        const handled: DispatchResult[] = [];
        for (const [index, event] of events.entries()) {
          const started = performance.now();
          failed = event;
          failedStarted = started;
          handled.push(
            await around(index, () =>
              this.handle(tx, event, handlers[index] as MessageHandler, recorded?.[index]),
            ),
          );
          durations.push(performance.now() - started);
        }
        failed = undefined;
        await this.outbox.flush(tx);
        return handled;
      }, TRANSACTION_LIMITS)
      .catch((error: unknown) => {
        // The event that threw counts as a failed attempt, as a retry in `dispatch` does. Not an
        // invalid one: handled alone next, it is refused again and counted then, once. A failed
        // COMMIT (no event threw) counts for none: handled one by one next, each is counted then.
        if (failed && !(error instanceof InvalidEventError)) {
          this.failed(failed, error);
          this.metrics.handleDuration.observe(
            { event_type: failed.type },
            (performance.now() - failedStarted) / 1000,
          );
        }
        throw error;
      });
    for (const [index, event] of events.entries()) {
      const result = results[index] as DispatchResult;
      this.metrics.consumed.inc({
        event_type: event.type,
        outcome: result.duplicate ? 'duplicate' : 'success',
      });
      this.metrics.handleDuration.observe({ event_type: event.type }, (durations[index] as number) / 1000);
    }
    this.logger.debug?.(`handled ${events.length} events in one transaction`, 'EventDispatcher');
    return results;
  }

  private failed(event: CloudEvent<unknown>, error: unknown): void {
    const outcome = error instanceof InvalidEventError ? 'invalid' : 'error';
    this.metrics.consumed.inc({ event_type: event.type, outcome });
    if (error instanceof ForeignSourceError) {
      this.metrics.refused.inc({ event_type: error.definition.type });
      this.logger.warn?.(`refused ${event.type} ${event.id}: ${error.message}`, 'EventDispatcher');
    }
  }

  /** Validates the event and finds its handler; throws InvalidEventError when there is none. */
  private handlerOf(event: CloudEvent<unknown>): MessageHandler {
    validateIncoming(event);
    const handler = this.subscriptions.has(event.type) ? this.handlerFor(event.type) : null;
    if (!handler)
      throw new InvalidEventError(`${this.service} does not consume events of type ${event.type}`);
    return handler;
  }

  private async run(event: CloudEvent<unknown>): Promise<DispatchResult> {
    const handler = this.handlerOf(event);
    return this.database.$transaction(async (tx) => {
      const result = await this.handle(tx, event, handler);
      await this.outbox.flush(tx);
      return result;
    }, TRANSACTION_LIMITS);
  }

  /**
   * The inbox record, the handler's writes and its reply, in the open transaction `tx`. `recorded`:
   * whether the event was recorded in the inbox already in this transaction (a batch's), or else
   * it is recorded here.
   */
  private async handle(
    tx: SqlExecutor,
    event: CloudEvent<unknown>,
    handler: MessageHandler,
    recorded?: boolean,
  ): Promise<DispatchResult> {
    if (this.inbox && !(recorded ?? (await this.inbox.record(tx, event)))) {
      this.logger.debug?.(
        `duplicate ${event.type} ${event.id} acknowledged without effects`,
        'EventDispatcher',
      );
      const reply = this.replyVia === 'response' ? await this.inbox.reply(tx, event) : undefined;
      return { duplicate: true, ...(reply ? { reply } : {}) };
    }
    const returned = await handler(event.data, new EventContext([event, tx]));
    const reply = (
      isObservable(returned) ? await lastValueFrom(returned, { defaultValue: undefined }) : returned
    ) as CloudEvent<unknown> | undefined;
    if (reply) {
      // Into the outbox with the transaction's next outbox write or its flush: a batch's replies
      // take one INSERT.
      if (this.replyVia === 'outbox') await this.outbox.defer(tx, reply);
      else {
        validateIncoming(reply);
        await this.inbox?.saveReply(tx, event, reply);
      }
    }
    return { duplicate: false, ...(reply ? { reply } : {}) };
  }
}
