/**
 * Load, part two: the report as a `...reports.report.published.v1` CloudEvent, POSTed to the broker's
 * ingress (K_SINK) in binary content mode, as the services' Knative publisher does. Once: no outbox
 * behind it, so a report is published at most once per run (docs/faas.md).
 * https://knative.dev/docs/eventing/reference/data-plane/ (event ingress)
 */
import { randomUUID } from 'node:crypto';
import { type EventData, events } from '@soundgood/event-catalog';
import { CloudEvent, HTTP } from 'cloudevents';

export type ReportEvent = CloudEvent<EventData<typeof events.reportPublished>>;

export async function publishReport(
  sink: string,
  data: EventData<typeof events.reportPublished>,
  timeoutMs: number,
  /** The broker's bearer token, when its ingress authenticates senders (./broker-token.ts). */
  token?: () => Promise<string>,
): Promise<ReportEvent> {
  const definition = events.reportPublished;
  const event = new CloudEvent({
    id: randomUUID(),
    type: definition.type,
    source: definition.source,
    datacontenttype: 'application/json',
    // Schema checked before it leaves, as the services' publishers do.
    data: definition.schema.parse(data),
    partitionkey: data.month,
  });
  const message = HTTP.binary(event);
  const response = await fetch(sink, {
    method: 'POST',
    headers: {
      ...(message.headers as Record<string, string>),
      ...(token ? { authorization: `Bearer ${await token()}` } : {}),
    },
    body: typeof message.body === 'string' ? message.body : JSON.stringify(message.body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (response.status !== 202) {
    const text = await response.text().catch(() => '');
    // 401: no valid token for the broker's audience; 403: no EventPolicy lets this sender send this type.
    throw new Error(
      `broker ingress ${sink} answered ${response.status} for ${event.type} ${event.id}: ${text}`,
    );
  }
  return event as ReportEvent;
}
