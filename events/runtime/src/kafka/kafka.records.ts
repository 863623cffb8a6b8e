/**
 * CloudEvents <-> Kafka records in binary content mode (`ce_` headers, data as the value), with the
 * `partitionkey` extension as the record key: the format the Knative Kafka broker keeps in its topic.
 * https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/kafka-protocol-binding.md
 */
import { CloudEvent, Kafka } from 'cloudevents';
import type { IHeaders, KafkaMessage, Message } from 'kafkajs';

export function toKafkaRecord(event: CloudEvent<unknown>): Message {
  const binary = Kafka.binary(event);
  const headers: IHeaders = {};
  for (const [name, value] of Object.entries(binary.headers)) {
    if (value !== undefined && value !== null) headers[name] = String(value);
  }
  const value = event.data === undefined ? null : JSON.stringify(event.data);
  return {
    key: event.partitionkey ? String(event.partitionkey) : null,
    value,
    headers,
    timestamp: binary.timestamp,
  };
}

export function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  const value = headers?.[name];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.map(String).join(',') : value.toString();
}

/** Throws the SDK's ValidationError when the record is not a valid CloudEvent. */
export function fromKafkaRecord(message: KafkaMessage): CloudEvent<unknown> {
  const headers: Record<string, string> = {};
  for (const name of Object.keys(message.headers ?? {}))
    headers[name] = headerText(message.headers, name) as string;
  const record = {
    headers,
    key: message.key?.toString() ?? '',
    value: message.value?.toString() ?? '',
    body: message.value?.toString() ?? '',
    timestamp: message.timestamp,
  };
  const event = Kafka.toEvent(record as Parameters<typeof Kafka.toEvent>[0]);
  return event as CloudEvent<unknown>;
}
