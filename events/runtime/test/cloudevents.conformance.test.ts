/**
 * CloudEvents 1.0.2 conformance of `/events` on the knative transport, against a real service (the
 * fixture, with its runtime, Prisma and PostgreSQL):
 * - independent senders, the CloudEvents Go SDK (test/conformance/sender, built into .cache/ by
 *   test/conformance/sender.ts) and the CloudEvents Python SDK (test/conformance/python, installed
 *   into .cache/ from PyPI; it percent-encodes header values, the Go SDK does not), post events in
 *   binary and structured mode with every attribute type; the handler must see what the SDK says
 *   it sent;
 * - the spec-derived cases of test/conformance/cases.ts go over raw HTTP: valid encodings reach the
 *   handler with the right attribute values, invalid ones are answered 400 (or 415) naming the attribute.
 */

import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { INestApplication } from '@nestjs/common';
import { events } from '@soundgood/event-catalog';
import type { CloudEvent } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeBroker, startFakeBroker } from '../src/testing.js';
import { type InvalidCase, invalidCases, type ValidCase, validCases } from './conformance/cases.js';
import { installPythonSdk, pythonSender } from './conformance/python.js';
import { buildSender } from './conformance/sender.js';
import { fixture, fixtureDatabase, startFixture } from './fixture/fixture.js';

let database: Awaited<ReturnType<typeof fixtureDatabase>>;
let broker: FakeBroker;
let app: INestApplication;
let url: string;
let sender: string;

beforeAll(async () => {
  sender = buildSender();
  database = await fixtureDatabase();
  broker = await startFakeBroker();
  const started = await startFixture({
    EVENT_TRANSPORT: 'knative',
    K_SINK: broker.url,
    DATABASE_URL: database.url,
  });
  app = started.app;
  url = `http://127.0.0.1:${started.port}/events`;
}, 300_000);

afterAll(async () => {
  await app?.close();
  await broker?.close();
  await database?.drop();
});

/** POSTs exactly these headers (repeats kept, bytes as given) and body. */
function post(
  headers: [string, string][],
  body: Buffer,
): Promise<{ status: number; body: { error?: string; attribute?: string } }> {
  return new Promise((done, failed) => {
    const req = request(url, { method: 'POST' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const json = res.headers['content-type']?.includes('json') && !res.headers['ce-id'];
        done({ status: res.statusCode ?? 0, body: json && text ? JSON.parse(text) : {} });
      });
    });
    req.on('error', failed);
    for (const [name, value] of headers) req.appendHeader(name, value);
    req.setHeader('content-length', body.length);
    req.end(body);
  });
}

const received = (id: string) => fixture.received.find((e) => e.id === id) as CloudEvent<unknown> | undefined;
const attributesOf = (event: CloudEvent<unknown>) => event as unknown as Record<string, unknown>;

describe('CloudEvents conformance of /events: the CloudEvents Go SDK as the sender', () => {
  interface GoCase {
    name: string;
    mode: 'binary' | 'structured';
    id: string;
    source: string;
    type: string;
    subject?: string;
    time?: string;
    dataschema?: string;
    datacontenttype?: string;
    extensions?: Record<string, { type: string; value: unknown }>;
    data?: unknown;
    dataText?: string;
    dataBase64?: string;
  }
  interface GoResult {
    name: string;
    status: number;
    error?: string;
    sent: Record<string, unknown>;
  }
  const base = () => ({
    id: randomUUID(),
    source: events.reserveSlot.source,
    type: events.reserveSlot.type,
    datacontenttype: 'application/json',
    data: { rentalId: randomUUID(), studentId: randomUUID() },
  });
  const variants: Omit<GoCase, 'mode' | 'name' | 'id' | 'source' | 'type'>[] = [
    {},
    {
      subject: 'Grüße aus 🌎, with spaces',
      time: '2026-12-01T01:02:03.123456789+01:00',
      dataschema: 'https://soundgood.dev/schemas/slot.reserve.v1.json',
      extensions: {
        partitionkey: { type: 'String', value: randomUUID() },
        comexamplestring: { type: 'String', value: 'ünïcödé and spaces' },
        comexampleint: { type: 'Integer', value: 42 },
        comexamplemin: { type: 'Integer', value: -2147483648 },
        comexampleflag: { type: 'Boolean', value: true },
        comexampleuri: { type: 'URI', value: 'https://soundgood.dev/a?b=c#d' },
        comexampleref: { type: 'URI-reference', value: '/soundgood/students' },
        comexampletime: { type: 'Timestamp', value: '2026-01-02T03:04:05Z' },
        comexamplebytes: { type: 'Binary', value: 'AAEC/w==' },
      },
    },
    { datacontenttype: 'application/json; charset=utf-8' },
    { datacontenttype: 'application/vnd.soundgood+json' },
  ];
  /** Not catalog data: decoded, then refused by the catalog's schema check (400), never handled. */
  const undeliverable: Omit<GoCase, 'mode' | 'name' | 'id' | 'source' | 'type'>[] = [
    { datacontenttype: 'text/plain; charset=utf-8', data: undefined, dataText: 'Hello, 🌎!' },
    { datacontenttype: 'application/octet-stream', data: undefined, dataBase64: 'AAEC/w==' },
  ];
  const cases: GoCase[] = (['binary', 'structured'] as const).flatMap((mode) => [
    ...variants.map((v, i) => ({ ...base(), ...v, mode, name: `${mode} ${i}` })),
    ...undeliverable.map((v, i) => ({ ...base(), ...v, mode, name: `${mode} undeliverable ${i}` })),
  ]);
  let results: GoResult[];

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ce-conformance-'));
    try {
      writeFileSync(join(dir, 'cases.json'), JSON.stringify(cases));
      // Asynchronously: the service answering the sender runs in this process.
      const { stdout } = await promisify(execFile)(sender, [url, join(dir, 'cases.json')], {
        encoding: 'utf8',
      });
      results = JSON.parse(stdout) as GoResult[];
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  /**
   * The Go SDK treats only application/json, text/json and the CloudEvents types as JSON
   * (sdk-go v2 event/content_type.go isJSON), so it writes the data of a `+json` type as an encoded
   * string: in structured mode the JSON format then says that string is the data, not parsed again
   * (json-format.md 3.1.2), and the catalog refuses it.
   */
  const plusJson = (c: GoCase) => c.datacontenttype?.endsWith('+json') ?? false;

  it.each(
    cases.filter((c) => !c.name.includes('undeliverable') && !(plusJson(c) && c.mode === 'structured')),
  )('the handler sees what the Go SDK sent: $name', (c) => {
    const result = results.find((r) => r.name === c.name) as GoResult;
    expect(result.error).toBeUndefined();
    expect(result.status).toBe(200);
    const event = received(c.id);
    expect(event, 'the handler was given the event').toBeDefined();
    const got = attributesOf(event as CloudEvent<unknown>);
    const { data, data_base64: _bytes, ...sent } = result.sent;
    expect(Object.keys(sent).length).toBeGreaterThanOrEqual(5);
    for (const [name, value] of Object.entries(sent)) {
      // Headers carry every type as its canonical string; the JSON format keeps Integer and Boolean.
      const expected = c.mode === 'binary' ? String(value) : value;
      expect(got[name], name).toEqual(expected);
    }
    expect(got.data).toEqual(plusJson(c) ? JSON.parse(data as string) : data);
  });

  it('takes a structured data string of a +json type as the string it is (the Go SDK encodes it so)', () => {
    const c = cases.find((c) => plusJson(c) && c.mode === 'structured') as GoCase;
    const result = results.find((r) => r.name === c.name) as GoResult;
    expect(typeof result.sent.data).toBe('string');
    expect(result.status).toBe(400);
    expect(received(c.id)).toBeUndefined();
  });

  it.each(cases.filter((c) => c.name.includes('undeliverable')))(
    'non-JSON data is decoded, then refused by the catalog schema, never handled: $name',
    (c) => {
      const result = results.find((r) => r.name === c.name) as GoResult;
      expect(result.status).toBe(400);
      expect(received(c.id)).toBeUndefined();
    },
  );
});

describe('CloudEvents conformance of /events: the CloudEvents Python SDK as the sender', () => {
  interface PyCase {
    name: string;
    mode: 'binary' | 'structured';
    attributes: Record<string, string>;
    extensions?: Record<string, string | number>;
    data?: unknown;
  }
  interface PyResult {
    name: string;
    status: number;
    sent: Record<string, unknown>;
  }
  // Characters the binding says must be percent-encoded: space, double quote, percent, non-ASCII.
  const awkward = 'Grüße 100% "quoted" \\ back, 🌎 end';
  const cases: PyCase[] = (['binary', 'structured'] as const).flatMap((mode): PyCase[] => [
    {
      name: `${mode} minimal`,
      mode,
      attributes: {
        id: randomUUID(),
        source: events.reserveSlot.source,
        type: events.reserveSlot.type,
        datacontenttype: 'application/json',
        time: '2026-12-01T01:02:03.123456+05:30',
      },
      data: { rentalId: randomUUID(), studentId: randomUUID() },
    },
    {
      name: `${mode} strings that need percent-encoding`,
      mode,
      attributes: {
        id: `id with space and % ${randomUUID()}`,
        source: events.reserveSlot.source,
        type: events.reserveSlot.type,
        datacontenttype: 'application/json; charset=utf-8',
        time: '2026-12-01T01:02:03+00:00',
        subject: awkward,
        dataschema: 'https://soundgood.dev/schemas/slot.reserve.v1.json?v=1#root',
      },
      extensions: { partitionkey: randomUUID(), comexamplestring: awkward, comexampleint: -2147483648 },
      data: { rentalId: randomUUID(), studentId: randomUUID() },
    },
  ]);
  let results: PyResult[];

  beforeAll(async () => {
    const pythonPath = installPythonSdk();
    const dir = mkdtempSync(join(tmpdir(), 'ce-conformance-'));
    try {
      writeFileSync(join(dir, 'cases.json'), JSON.stringify(cases));
      const { stdout } = await promisify(execFile)('python3', [pythonSender, url, join(dir, 'cases.json')], {
        encoding: 'utf8',
        env: { ...process.env, PYTHONPATH: pythonPath },
      });
      results = JSON.parse(stdout) as PyResult[];
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it.each(cases)('the handler sees what the Python SDK sent: $name', (c) => {
    const result = results.find((r) => r.name === c.name) as PyResult;
    expect(result.status).toBe(200);
    const event = received(c.attributes.id as string);
    expect(event, 'the handler was given the event').toBeDefined();
    const got = attributesOf(event as CloudEvent<unknown>);
    const { data, ...sent } = result.sent;
    for (const [name, value] of Object.entries(sent)) {
      const expected = c.mode === 'binary' ? String(value) : value;
      expect(got[name], name).toEqual(expected);
    }
    expect(got.data).toEqual(data);
  });
});

describe('CloudEvents conformance of /events: spec-derived cases over HTTP', () => {
  const expectAbsent = ['subject', 'dataschema', 'datacontenttype'];

  it.each(validCases.filter((c) => c.handled))('accepts and decodes $name', async (c: ValidCase) => {
    const response = await post(c.headers, c.body);
    expect(response.body.error).toBeUndefined();
    expect(response.status).toBe(200);
    const event = received(c.attributes.id as string);
    expect(event).toBeDefined();
    const got = attributesOf(event as CloudEvent<unknown>);
    for (const [name, value] of Object.entries(c.attributes)) expect(got[name], name).toEqual(value);
    for (const name of expectAbsent.filter((n) => !(n in c.attributes)))
      expect(got[name], name).toBeUndefined();
    expect(got.data).toEqual(c.data);
  });

  it.each(validCases.filter((c) => !c.handled))(
    'accepts $name as a CloudEvent (then the catalog refuses it: not its data or source)',
    async (c: ValidCase) => {
      const response = await post(c.headers, c.body);
      expect([400, 403]).toContain(response.status);
      expect(response.body.error).not.toMatch(/not a valid CloudEvent/);
      expect(response.body.attribute).toBeUndefined();
      expect(received(c.attributes.id as string)).toBeUndefined();
    },
  );

  it.each(invalidCases)('rejects $name', async (c: InvalidCase) => {
    const response = await post(c.headers, c.body);
    expect(response.status).toBe(c.status ?? 400);
    expect(response.body.attribute).toBe(c.attribute);
    if (c.attribute) expect(response.body.error).toContain(c.attribute);
    if ((c.status ?? 400) === 400) expect(response.body.error).toMatch(/^not a valid CloudEvent: /);
  });
});
