/**
 * The load: rent-instrument sagas requested over HTTP, their completion observed on Kafka (the
 * `rental.confirmed` / `rental.rejected` events that end a saga), so nothing polls the services.
 * - Open loop: requests leave on a fixed wall-clock schedule whatever the system does, and latency
 *   is measured from each request's INTENDED send time: a stall delays the requests behind it and
 *   their latency shows it (no coordinated omission).
 * - Closed loop: `concurrency` clients, each requesting its next saga when the last one ended.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer, Kafka } from 'kafkajs';
import type { Pair } from './soundgood.ts';

const confirmedType = 'dev.soundgood.rentals.rental.confirmed.v1';
const rejectedType = 'dev.soundgood.rentals.rental.rejected.v1';

export type Outcome = 'CONFIRMED' | 'REJECTED' | 'ERROR' | 'INCOMPLETE';

export interface SagaRecord {
  rentalId?: string;
  /** Milliseconds on the performance clock. */
  intendedAt: number;
  sentAt: number;
  acceptedAt?: number;
  endedAt?: number;
  outcome: Outcome;
  error?: string;
}

interface Ending {
  type: 'CONFIRMED' | 'REJECTED';
  at: number;
}

/** Watches the configuration's events topic for the events that end sagas. */
export class SagaObserver {
  private readonly consumer: Consumer;
  private readonly ended = new Map<string, Ending>();
  private readonly waiting = new Map<string, (ending: Ending) => void>();
  /** Records and bytes (key + value + headers) seen, for the floor's message size. */
  records = 0;
  bytes = 0;

  private readonly topic: string;

  constructor(kafka: Kafka, topic: string) {
    this.topic = topic;
    this.consumer = kafka.consumer({ groupId: `${topic}.bench-observer`, allowAutoTopicCreation: false });
  }

  async start(): Promise<void> {
    const joined = new Promise<void>((resolve) =>
      this.consumer.on(this.consumer.events.GROUP_JOIN, () => resolve()),
    );
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await this.consumer.run({
      eachBatch: async ({ batch }) => {
        const at = performance.now();
        for (const message of batch.messages) {
          this.records++;
          let size = (message.key?.length ?? 0) + (message.value?.length ?? 0);
          for (const [name, value] of Object.entries(message.headers ?? {})) {
            size += name.length + (value ? String(value).length : 0);
          }
          this.bytes += size;
          const type = message.headers?.ce_type?.toString();
          if (type !== confirmedType && type !== rejectedType) continue;
          const rentalId = message.key?.toString();
          if (!rentalId) continue;
          const ending: Ending = { type: type === confirmedType ? 'CONFIRMED' : 'REJECTED', at };
          const waiter = this.waiting.get(rentalId);
          if (waiter) {
            this.waiting.delete(rentalId);
            waiter(ending);
          } else this.ended.set(rentalId, ending);
        }
      },
    });
    await joined;
  }

  /** Resolves when the rental's saga ends, or with undefined once `until` (performance clock) passes. */
  end(rentalId: string, until: () => number): Promise<Ending | undefined> {
    const known = this.ended.get(rentalId);
    if (known) {
      this.ended.delete(rentalId);
      return Promise.resolve(known);
    }
    return new Promise((resolve) => {
      this.waiting.set(rentalId, resolve);
      const check = () => {
        if (!this.waiting.has(rentalId)) return;
        if (performance.now() >= until()) {
          this.waiting.delete(rentalId);
          resolve(undefined);
        } else setTimeout(check, 250).unref();
      };
      check();
    });
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}

export interface LoadContext {
  rentalsUrl: string;
  /** Sent with each request: a staff token's Authorization header. */
  headers: Record<string, string>;
  observer: SagaObserver;
  /** How long after the last request a saga may take before it counts as INCOMPLETE. */
  drainMs: number;
}

/** Requests one saga and follows it to its end. Never throws: the record says what happened. */
async function runSaga(context: LoadContext, pair: Pair, intendedAt: number, giveUpAt: () => number) {
  const record: SagaRecord = { intendedAt, sentAt: performance.now(), outcome: 'INCOMPLETE' };
  try {
    const response = await fetch(`${context.rentalsUrl}/rentals`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...context.headers },
      body: JSON.stringify({ ...pair, months: 3 }),
    });
    const body = (await response.json()) as { id?: string };
    if (response.status !== 202 || !body.id) {
      record.outcome = 'ERROR';
      record.error = `POST /rentals answered ${response.status}: ${JSON.stringify(body)}`;
      return record;
    }
    record.acceptedAt = performance.now();
    record.rentalId = body.id;
    const ending = await context.observer.end(body.id, giveUpAt);
    if (ending) {
      record.endedAt = ending.at;
      record.outcome = ending.type;
    }
  } catch (error) {
    record.outcome = 'ERROR';
    record.error = (error as Error).message;
  }
  return record;
}

export interface PhaseResult {
  records: SagaRecord[];
  /** Performance-clock start and planned end of the load (the measurement window). */
  startedAt: number;
  endsAt: number;
  /** The closed loop ran out of seeded pairs before the end of its window. */
  exhausted?: boolean;
}

export async function openLoop(
  context: LoadContext,
  pairs: Pair[],
  rate: number,
  durationS: number,
): Promise<PhaseResult> {
  const count = Math.round(rate * durationS);
  if (pairs.length < count)
    throw new Error(`open loop at ${rate}/s needs ${count} pairs, got ${pairs.length}`);
  const startedAt = performance.now() + 20;
  const endsAt = startedAt + durationS * 1000;
  const giveUpAt = () => endsAt + context.drainMs;
  const sagas: Promise<SagaRecord>[] = [];
  for (let i = 0; i < count; i++) {
    const intendedAt = startedAt + (i * 1000) / rate;
    const wait = intendedAt - performance.now();
    if (wait > 1) await sleep(wait);
    sagas.push(runSaga(context, pairs[i] as Pair, intendedAt, giveUpAt));
  }
  return { records: await Promise.all(sagas), startedAt, endsAt };
}

export async function closedLoop(
  context: LoadContext,
  pairs: Pair[],
  concurrency: number,
  durationS: number,
): Promise<PhaseResult> {
  const startedAt = performance.now();
  const endsAt = startedAt + durationS * 1000;
  const giveUpAt = () => endsAt + context.drainMs;
  const records: SagaRecord[] = [];
  let next = 0;
  let exhausted = false;
  const client = async () => {
    while (performance.now() < endsAt) {
      const pair = pairs[next++];
      if (!pair) {
        exhausted = true;
        return;
      }
      records.push(await runSaga(context, pair, performance.now(), giveUpAt));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  return { records, startedAt, endsAt, exhausted };
}
