/**
 * The decoder against the CloudEvents 1.0.2 spec, case by case: each valid encoding decodes to the
 * right attribute values, each invalid one fails naming the attribute. The same cases run over HTTP
 * against a real service in test/cloudevents.conformance.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { type ConformanceCase, invalidCases, validCases } from '../../test/conformance/cases.js';
import {
  CloudEventDecodingError,
  type DecodedEvent,
  decodeHttpEvent,
  toCloudEvent,
} from './knative.decoder.js';

function decode(c: ConformanceCase): DecodedEvent {
  const headers: Record<string, string> = {};
  const rawHeaders: string[] = [];
  for (const [name, value] of c.headers) {
    const key = name.toLowerCase();
    headers[key] = headers[key] === undefined ? value : `${headers[key]}, ${value}`;
    rawHeaders.push(name, value);
  }
  return decodeHttpEvent({ headers, rawHeaders, body: c.body });
}

describe('CloudEvents HTTP binding decoder', () => {
  it.each(validCases)('decodes $name', (c) => {
    const decoded = decode(c);
    expect(decoded.mode).toBe(c.mode);
    expect(decoded.attributes).toEqual(c.attributes);
    if (c.data === undefined) expect(decoded.data).toBeUndefined();
    else expect(decoded.data).toEqual(c.data);
    // The SDK's CloudEvent carries the same attributes.
    const event = toCloudEvent(decoded) as unknown as Record<string, unknown>;
    for (const [name, value] of Object.entries(c.attributes)) expect(event[name]).toEqual(value);
  });

  it.each(invalidCases)('rejects $name', (c) => {
    let error: unknown;
    try {
      toCloudEvent(decode(c));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CloudEventDecodingError);
    const { status, attribute, message } = error as CloudEventDecodingError;
    expect({ status, attribute }).toEqual({ status: c.status ?? 400, attribute: c.attribute });
    if (c.attribute) expect(message).toContain(c.attribute);
  });
});
