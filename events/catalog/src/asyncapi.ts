/**
 * Builds the AsyncAPI 3 document of the catalog: one channel per event type, one `send` operation
 * for its producer and one `receive` operation per subscription.
 * https://www.asyncapi.com/docs/reference/specification/v3.0.0
 */
import { stringify } from 'yaml';
import { z } from 'zod';
import { type AnyEvent, events, externalProducers, services, subscriptions } from './catalog.js';

function messageName(event: AnyEvent): string {
  return event.type
    .replace(/^dev\.soundgood\./, '')
    .replace(/^dev\.knative\.sources\.ping$/, 'school-day-started')
    .replace(/\.v\d+$/, '')
    .replaceAll('.', '-');
}

export function asyncApiDocument(): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};

  for (const event of Object.values(events)) {
    const name = messageName(event);
    messages[name] = {
      name: event.type,
      title: event.type,
      summary: event.description,
      contentType: 'application/json',
      'x-kind': event.kind,
      'x-source': event.source,
      headers: {
        type: 'object',
        required: ['ce_specversion', 'ce_id', 'ce_source', 'ce_type'],
        properties: {
          ce_specversion: { const: '1.0' },
          ce_id: { type: 'string' },
          ce_source: { const: event.source },
          ce_type: { const: event.type },
          ce_time: { type: 'string', format: 'date-time' },
          ce_partitionkey: { type: 'string', description: 'the rental id: one rental, one partition' },
          ce_traceparent: { type: 'string', description: 'W3C trace context of the event’s origin' },
        },
      },
      payload: z.toJSONSchema(event.schema, { target: 'draft-07' }),
    };
    channels[name] = {
      address: event.type,
      description: `CloudEvents of type ${event.type} (a Knative Trigger filter; locally a Kafka record with this ce_type header).`,
      messages: { [name]: { $ref: `#/components/messages/${name}` } },
    };
    operations[`${event.producer}-sends-${name}`] = {
      action: 'send',
      channel: { $ref: `#/channels/${name}` },
      summary: `${event.producer} publishes ${event.type}`,
      tags: [{ name: event.producer }],
    };
  }
  for (const subscription of subscriptions) {
    const name = messageName(subscription.event);
    operations[subscription.name] = {
      action: 'receive',
      channel: { $ref: `#/channels/${name}` },
      summary: `${subscription.service} handles ${subscription.event.type}`,
      tags: [{ name: subscription.service }],
      'x-ordered': subscription.ordered,
    };
  }

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Soundgood events',
      version: '1.0.0',
      description:
        'CloudEvents exchanged by the Soundgood services. Generated from events/catalog/src/catalog.ts by `npm run asyncapi -w @soundgood/event-catalog`; do not edit.',
    },
    defaultContentType: 'application/json',
    tags: [...services, ...externalProducers].map((name) => ({ name })),
    channels,
    operations,
    components: { messages },
  };
}

/** The committed `asyncapi.yaml`, byte for byte. */
export function asyncApiYaml(): string {
  const header =
    '# Generated from src/catalog.ts by `npm run asyncapi -w @soundgood/event-catalog`. Do not edit.\n';
  return header + stringify(asyncApiDocument(), { aliasDuplicateObjects: false, lineWidth: 0 });
}
