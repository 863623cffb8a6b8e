// The local stand-in for the PingSource `school-day` (k8s/base/eventing/school-day.yaml): the daily
// tick of the rental lifecycle, the same CloudEvent the PingSource adapter sends (type
// dev.knative.sources.ping, source /apis/v1/namespaces/soundgood/pingsources/school-day, `time` when
// sent, data {"timeZone": ...}; knative/eventing pkg/adapter/mtping/runner.go). `npm start` runs it;
// the end-to-end tests send ticks for any date with `schoolDayTick(at)`.
//
// Knative transport: POST to the broker ingress (K_SINK) in binary mode, as the adapter does.
// Kafka transport: a record on the events topic in the Kafka binding's binary mode, without a key
// (a tick is about no rental).
import { randomUUID } from 'node:crypto';
import { CloudEvent, HTTP, Kafka } from 'cloudevents';
import kafkajs from 'kafkajs';
import { events } from '../events/catalog/dist/index.js';

export const defaultSchoolTimeZone = 'Europe/Stockholm';

export type Tick = CloudEvent<{ timeZone: string }>;

/** The tick of the instant `at` (its school date is the date of `at` in SCHOOL_TIME_ZONE). */
export function schoolDayTick(at: Date, timeZone = defaultSchoolTimeZone, id: string = randomUUID()): Tick {
  return new CloudEvent({
    id,
    type: events.schoolDayStarted.type,
    source: events.schoolDayStarted.source,
    specversion: '1.0',
    time: at.toISOString(),
    datacontenttype: 'application/json',
    data: { timeZone },
  });
}

/** Sends a tick to a Knative broker ingress; throws unless it is accepted. */
export async function postTick(
  sink: string,
  tick: Tick,
  headers: Record<string, string> = {},
): Promise<void> {
  const message = HTTP.binary(tick);
  const response = await fetch(sink, {
    method: 'POST',
    headers: { ...(message.headers as Record<string, string>), ...headers },
    body: message.body as string,
  });
  if (response.status >= 300)
    throw new Error(`the broker refused the school-day tick: ${response.status} ${await response.text()}`);
}

/** A tick as a Kafka record (binary mode), for the kafka transport's events topic. */
export function tickRecord(tick: Tick) {
  const binary = Kafka.binary(tick);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(binary.headers))
    if (value !== undefined && value !== null) headers[name] = String(value);
  return { key: null, value: JSON.stringify(tick.data), headers };
}

/** The calendar date of `at` in `timeZone` (sv-SE formats dates as YYYY-MM-DD). */
export const dateIn = (timeZone: string, at: Date) => at.toLocaleDateString('sv-SE', { timeZone });

/**
 * Ticks once at start (the days missed while nothing ran are caught up by rentals), then whenever
 * the school's date changes, checked every `checkEveryMs`. Returns a function that stops it.
 */
export function startSchoolClock(options: {
  send: (tick: Tick) => Promise<void>;
  timeZone?: string;
  checkEveryMs?: number;
  log?: (line: string) => void;
}): () => void {
  const timeZone = options.timeZone ?? defaultSchoolTimeZone;
  const log = options.log ?? ((line) => console.log(`school-clock | ${line}`));
  let lastDate: string | undefined;
  let sending = false;
  const tick = async () => {
    const now = new Date();
    const date = dateIn(timeZone, now);
    if (date === lastDate || sending) return;
    sending = true;
    try {
      await options.send(schoolDayTick(now, timeZone));
      lastDate = date;
      log(`school day ${date} (${timeZone}) ticked`);
    } catch (error) {
      log(`tick for ${date} failed, retried at the next check: ${(error as Error).message}`);
    } finally {
      sending = false;
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), options.checkEveryMs ?? 60_000);
  timer.unref();
  return () => clearInterval(timer);
}

/** Where ticks go: the broker ingress (knative), or the events topic (kafka). */
export async function tickSender(
  target: { sink: string } | { kafkaBrokers: string; topic: string },
): Promise<{ send: (tick: Tick) => Promise<void>; close: () => Promise<void> }> {
  if ('sink' in target) return { send: (tick) => postTick(target.sink, tick), close: async () => {} };
  const producer = new kafkajs.Kafka({
    clientId: 'school-clock',
    brokers: target.kafkaBrokers.split(','),
    logLevel: kafkajs.logLevel.WARN,
  }).producer();
  await producer.connect();
  return {
    send: async (tick) => {
      await producer.send({ topic: target.topic, messages: [tickRecord(tick)] });
    },
    close: () => producer.disconnect(),
  };
}
