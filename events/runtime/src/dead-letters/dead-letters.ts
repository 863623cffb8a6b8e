/**
 * Dead letters: events that could not be delivered after their retries (or never could), kept in
 * the dead-letter topic with the Knative error extensions. Locally the Kafka transport writes them;
 * in clusters the broker's dead-letter sink (a KafkaSink) writes the same topic.
 *
 * Replay publishes an event again as it was (same id) to the events topic or the broker: consumers
 * that had handled it acknowledge it as a duplicate, the one that failed gets another chance.
 */
import { randomUUID } from 'node:crypto';
import type { CloudEvent } from 'cloudevents';
import type { IHeaders, Kafka, KafkaMessage, Message } from 'kafkajs';
import { fromKafkaRecord, headerText } from '../kafka/kafka.records.js';

export interface DeadLetter {
  partition: number;
  offset: string;
  /** The CloudEvent id, when the record is a CloudEvent. */
  id?: string;
  type?: string;
  /** Where delivery failed: `kafka://<topic>/<subscription>`, or the Knative subscriber. */
  destination?: string;
  code?: string;
  reason?: string;
  record: KafkaMessage;
}

const errorHeaders = ['ce_knativeerrordest', 'ce_knativeerrorcode', 'ce_knativeerrordata'];

function describe(partition: number, record: KafkaMessage): DeadLetter {
  const data = headerText(record.headers, 'ce_knativeerrordata');
  return {
    partition,
    offset: record.offset,
    id: headerText(record.headers, 'ce_id'),
    type: headerText(record.headers, 'ce_type'),
    destination: headerText(record.headers, 'ce_knativeerrordest'),
    code: headerText(record.headers, 'ce_knativeerrorcode'),
    reason: data === undefined ? undefined : Buffer.from(data, 'base64').toString('utf8'),
    record,
  };
}

/** Every record of the dead-letter topic, oldest first per partition. */
export async function listDeadLetters(kafka: Kafka, deadLetterTopic: string): Promise<DeadLetter[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(deadLetterTopic);
  const pending = new Map(
    ends.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high) - 1n]),
  );
  const letters: DeadLetter[] = [];
  const groupId = `soundgood-dead-letters-reader-${randomUUID()}`;
  if (pending.size > 0) {
    const consumer = kafka.consumer({ groupId });
    await consumer.connect();
    await consumer.subscribe({ topic: deadLetterTopic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            const last = pending.get(partition);
            if (last === undefined) return;
            letters.push(describe(partition, message));
            if (BigInt(message.offset) >= last) {
              pending.delete(partition);
              if (pending.size === 0) resolve();
            }
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
  await admin.disconnect();
  return letters.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
}

/** The record as it was before it failed: without the error extensions. */
export function originalRecord(letter: DeadLetter): Message {
  const headers: IHeaders = {};
  for (const [name, value] of Object.entries(letter.record.headers ?? {})) {
    if (!errorHeaders.includes(name) && value !== undefined) headers[name] = value;
  }
  return { key: letter.record.key, value: letter.record.value, headers };
}

export function originalEvent(letter: DeadLetter): CloudEvent<unknown> {
  const { key, value, headers } = originalRecord(letter);
  return fromKafkaRecord({ key, value, headers, offset: letter.offset } as KafkaMessage);
}
