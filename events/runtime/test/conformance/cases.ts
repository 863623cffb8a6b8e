/**
 * CloudEvents 1.0.2 conformance cases for `/events`, derived from the spec's text (not from a list
 * of what the receiver happens to do): the HTTP protocol binding, the JSON event format and the type
 * system. Each valid case says what it decodes to; each invalid one which attribute the 400 names.
 * Valid cases carry a catalog event the fixture service handles (`handled`) where they can, so that
 * over HTTP they are seen through to the handler.
 * - https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/spec.md
 * - https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/http-protocol-binding.md
 * - https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/formats/json-format.md
 */
import { randomUUID } from 'node:crypto';
import { events } from '@soundgood/event-catalog';

type Value = string | number | boolean;

interface Request {
  name: string;
  mode: 'binary' | 'structured';
  /** In order, repeats allowed; values as they go on the wire (latin1 strings of the bytes). */
  headers: [string, string][];
  body: Buffer;
}

export interface ValidCase extends Request {
  attributes: Record<string, Value>;
  /** The decoded data: a JSON value, a string or bytes. */
  data?: unknown;
  /** A catalog event the fixture (students) handles: answered 200 with its reply over HTTP. */
  handled: boolean;
}

export interface InvalidCase extends Request {
  /** The attribute the error names (`data`, `data_base64` included); none for a request-level error. */
  attribute?: string;
  status?: 400 | 415;
}

export type ConformanceCase = ValidCase | InvalidCase;

const TYPE = events.reserveSlot.type;
const SOURCE = events.reserveSlot.source;
/** UTF-8 bytes as Node hands header values over (latin1): for raw non-ASCII header values. */
const wire = (text: string) => Buffer.from(text, 'utf8').toString('latin1');
const json = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');
const payload = () => ({ rentalId: randomUUID(), studentId: randomUUID() });

function binary(
  name: string,
  extra: [string, string][],
  options: { omit?: string[]; id?: string; body?: Buffer; data?: unknown; contentType?: string | null } = {},
): Request & { id: string; data: unknown } {
  const id = options.id ?? randomUUID();
  const data = 'data' in options ? options.data : payload();
  const base: [string, string][] = [
    ['ce-specversion', '1.0'],
    ['ce-id', id],
    ['ce-source', SOURCE],
    ['ce-type', TYPE],
  ];
  const contentType = options.contentType === undefined ? 'application/json' : options.contentType;
  const headers = [
    ...base.filter(([h]) => !options.omit?.includes(h) && !extra.some(([e]) => e.toLowerCase() === h)),
    ...(contentType === null ? [] : ([['content-type', contentType]] as [string, string][])),
    ...extra,
  ];
  return {
    name: `binary: ${name}`,
    mode: 'binary',
    headers,
    body: options.body ?? (data === undefined ? Buffer.alloc(0) : json(data)),
    id,
    data,
  };
}

function structured(
  name: string,
  envelope: Record<string, unknown>,
  options: { omit?: string[]; contentType?: string; body?: Buffer; headers?: [string, string][] } = {},
): Request & { envelope: Record<string, unknown> } {
  const full: Record<string, unknown> = {
    specversion: '1.0',
    id: randomUUID(),
    source: SOURCE,
    type: TYPE,
    datacontenttype: 'application/json',
    data: payload(),
    ...envelope,
  };
  for (const key of options.omit ?? []) delete full[key];
  return {
    name: `structured: ${name}`,
    mode: 'structured',
    headers: [
      ['content-type', options.contentType ?? 'application/cloudevents+json'],
      ...(options.headers ?? []),
    ],
    body: options.body ?? json(full),
    envelope: full,
  };
}

const core = (id: string, more: Record<string, Value> = {}) => ({
  specversion: '1.0',
  id,
  source: SOURCE,
  type: TYPE,
  ...more,
});

function validBinary(
  name: string,
  extra: [string, string][],
  attributes: Record<string, Value>,
  options: Parameters<typeof binary>[2] & { handled?: boolean; decoded?: unknown } = {},
): ValidCase {
  const request = binary(name, extra, options);
  return {
    ...request,
    attributes: core(request.id, {
      ...(options.contentType === null ? {} : { datacontenttype: options.contentType ?? 'application/json' }),
      ...attributes,
    }),
    data: 'decoded' in options ? options.decoded : request.data,
    handled: options.handled ?? true,
  };
}

/** Attributes expected from an envelope: nulls dropped, data members aside. */
function validStructured(
  name: string,
  envelope: Record<string, unknown>,
  options: Parameters<typeof structured>[2] & { handled?: boolean; decoded?: unknown } = {},
): ValidCase {
  const request = structured(name, envelope, options);
  const attributes = Object.fromEntries(
    Object.entries(request.envelope).filter(([k, v]) => v !== null && k !== 'data' && k !== 'data_base64'),
  ) as Record<string, Value>;
  return {
    ...request,
    attributes,
    data: 'decoded' in options ? options.decoded : request.envelope.data,
    handled: options.handled ?? true,
  };
}

export const validCases: ValidCase[] = [
  // Binary content mode: http-protocol-binding.md 3.1.
  validBinary('the four required attributes and a JSON body', [], {}),
  validBinary(
    'header names in any case, Content-Type with parameters in any case',
    [
      ['CE-SpecVersion', '1.0'],
      ['Ce-Type', TYPE],
      ['cE-SoUrCe', SOURCE],
    ],
    { datacontenttype: 'Application/JSON; Charset=UTF-8' },
    { contentType: 'Application/JSON; Charset=UTF-8' },
  ),
  validBinary('a percent-encoded source (upper-case hex)', [['ce-source', '%2Fsoundgood%2Frentals']], {}),
  validBinary('a percent-encoded source (lower-case hex)', [['ce-source', '%2fsoundgood%2frentals']], {}),
  validBinary(
    'percent-encoded UTF-8 (the binding’s example) and needlessly encoded ASCII',
    [
      ['ce-subject', 'Euro%20%E2%82%AC%20%F0%9F%98%80'],
      ['ce-comexampleextension1', '%41%62c'],
    ],
    { subject: 'Euro € 😀', comexampleextension1: 'Abc' },
  ),
  validBinary(
    'raw UTF-8 header bytes, as SDKs that do not percent-encode send them',
    [['ce-subject', wire('Grüße, 🌎')]],
    {
      subject: 'Grüße, 🌎',
    },
  ),
  validBinary(
    'double-quoted values (older senders), backslash escapes, then percent-decoding',
    [
      ['ce-subject', '"hello world"'],
      ['ce-comexampleone', '"a\\"b"'],
      ['ce-comexampletwo', '"%41 B"'],
    ],
    { subject: 'hello world', comexampleone: 'a"b', comexampletwo: 'A B' },
  ),
  validBinary(
    'every optional attribute and extensions (values are strings in headers)',
    [
      ['ce-time', '2018-04-05T17:31:00.123456+02:00'],
      ['ce-dataschema', 'https://soundgood.dev/schemas/slot.reserve.json#v1'],
      ['ce-subject', 'rental-42'],
      ['ce-partitionkey', 'rental-42'],
      ['ce-comexampleothervalue', '5'],
      ['ce-comexampleflag', 'true'],
      ['ce-thisextensionnameislongerthantwenty', 'a SHOULD, not a MUST'],
    ],
    {
      time: '2018-04-05T17:31:00.123456+02:00',
      dataschema: 'https://soundgood.dev/schemas/slot.reserve.json#v1',
      subject: 'rental-42',
      partitionkey: 'rental-42',
      comexampleothervalue: '5',
      comexampleflag: 'true',
      thisextensionnameislongerthantwenty: 'a SHOULD, not a MUST',
    },
  ),
  validBinary('time with lower-case t and z (RFC 3339 5.6 note)', [['ce-time', '2018-04-05t17:31:00z']], {
    time: '2018-04-05t17:31:00z',
  }),
  validBinary('time on a leap second and a leap day', [['ce-time', '2016-12-31T23:59:60Z']], {
    time: '2016-12-31T23:59:60Z',
  }),
  validBinary('time on 29 February of a leap year', [['ce-time', '2024-02-29T00:00:00-12:00']], {
    time: '2024-02-29T00:00:00-12:00',
  }),
  validBinary(
    'a +json structured-syntax content type is JSON data',
    [],
    { datacontenttype: 'application/vnd.soundgood+json' },
    {
      contentType: 'application/vnd.soundgood+json',
    },
  ),
  validBinary(
    'an extension named like a 0.3 attribute is only an extension in 1.0',
    [['ce-datacontentencoding', 'base64']],
    {
      datacontentencoding: 'base64',
    },
  ),
  validBinary(
    'a non-JSON body is opaque bytes',
    [],
    { datacontenttype: 'application/xml' },
    {
      contentType: 'application/xml',
      body: Buffer.from('<much wow="xml"/>'),
      decoded: Buffer.from('<much wow="xml"/>'),
      handled: false,
    },
  ),
  validBinary(
    'no Content-Type with a body: no datacontenttype, the body as bytes',
    [],
    {},
    {
      contentType: null,
      body: Buffer.from('{"rentalId":1}'),
      decoded: Buffer.from('{"rentalId":1}'),
      handled: false,
    },
  ),
  validBinary(
    'no Content-Type and no body: no datacontenttype, no data',
    [],
    {},
    {
      contentType: null,
      data: undefined,
      handled: false,
    },
  ),
  ...[
    'https://github.com/cloudevents',
    'mailto:cncf-wg-serverless@lists.cncf.io',
    'urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66',
    'cloudevents/spec/pull/123',
    '1-555-123-4567',
    '//user@[::1]:8080/p;x=1?q=a/b#f',
  ].map((source) =>
    validBinary(
      `source ${source} (a URI-reference)`,
      [['ce-source', source]],
      { source },
      { data: { not: 'catalog data' }, handled: false },
    ),
  ),

  // Structured content mode with the JSON format: http-protocol-binding.md 3.2, json-format.md.
  validStructured('the four required attributes and JSON data', {}),
  validStructured(
    'media type in any case with a charset',
    {},
    { contentType: 'Application/CloudEvents+JSON; charset=UTF-8' },
  ),
  validStructured(
    'a quoted charset parameter',
    {},
    { contentType: 'application/cloudevents+json;charset="utf-8"' },
  ),
  validStructured(
    'no datacontenttype: data is JSON (json-format.md 3.1.2)',
    {},
    { omit: ['datacontenttype'] },
  ),
  validStructured('null attributes are unset (json-format.md 2.2)', {
    subject: null,
    time: null,
    dataschema: null,
    comexampleunset: null,
  }),
  validStructured('extensions at top level: String, Integer (range limits), Boolean', {
    partitionkey: 'rental-42',
    comexampleothervalue: 5,
    comexamplemin: -2147483648,
    comexamplemax: 2147483647,
    comexampleflag: true,
    comexampleuri: 'https://soundgood.dev/x',
  }),
  validStructured('every optional attribute, Unicode in strings', {
    time: '2018-04-05T17:31:00Z',
    dataschema: 'urn:soundgood:schema:slot.reserve',
    subject: 'Hello, 🌎!',
  }),
  validStructured(
    'CloudEvents headers beside a structured body are ignored',
    {},
    {
      headers: [
        ['ce-id', 'not-this-one'],
        ['ce-type', 'not.this.one'],
      ],
    },
  ),
  validStructured(
    'data as a JSON string is not parsed again',
    { data: '{"rentalId":"x"}' },
    { handled: false },
  ),
  validStructured(
    'data as a string for a non-JSON datacontenttype',
    { datacontenttype: 'application/xml', data: '<much wow="xml"/>' },
    { handled: false },
  ),
  validStructured('data null is an explicit null payload', { data: null }, { handled: false }),
  validStructured('no data at all', {}, { omit: ['data'], handled: false }),
  (() => {
    const c = validStructured(
      'data_base64 decodes to bytes',
      { datacontenttype: 'application/octet-stream', data: undefined, data_base64: 'AAEC/w==' },
      { handled: false, decoded: Buffer.from([0, 1, 2, 255]) },
    );
    return c;
  })(),
];

function invalidBinary(
  name: string,
  attribute: string | undefined,
  extra: [string, string][],
  options: Parameters<typeof binary>[2] & { status?: 400 | 415 } = {},
): InvalidCase {
  const { id: _id, data: _data, ...request } = binary(name, extra, options);
  return {
    ...request,
    ...(attribute ? { attribute } : {}),
    ...(options.status ? { status: options.status } : {}),
  };
}

function invalidStructured(
  name: string,
  attribute: string | undefined,
  envelope: Record<string, unknown>,
  options: Parameters<typeof structured>[2] & { status?: 400 | 415 } = {},
): InvalidCase {
  const { envelope: _envelope, ...request } = structured(name, envelope, options);
  return {
    ...request,
    ...(attribute ? { attribute } : {}),
    ...(options.status ? { status: options.status } : {}),
  };
}

export const invalidCases: InvalidCase[] = [
  ...['id', 'source', 'specversion', 'type'].map((a) =>
    invalidBinary(`without ce-${a}`, a, [], { omit: [`ce-${a}`] }),
  ),
  invalidBinary('ce-specversion 0.3 (not accepted here)', 'specversion', [['ce-specversion', '0.3']]),
  invalidBinary('ce-specversion 2.0', 'specversion', [['ce-specversion', '2.0']]),
  invalidBinary('an empty ce-id', 'id', [['ce-id', '']]),
  invalidBinary('an empty ce-subject', 'subject', [['ce-subject', '']]),
  invalidBinary('a source with a space', 'source', [['ce-source', '/soundgood/not%20a%20path']]),
  invalidBinary('a bad percent sequence', 'source', [['ce-source', '%ZZsoundgood']]),
  invalidBinary('a lone percent sign', 'subject', [['ce-subject', '100%']]),
  invalidBinary('an overlong UTF-8 encoding (%C0%A0)', 'subject', [['ce-subject', 'a%C0%A0b']]),
  invalidBinary('bytes that are not UTF-8 (%FF)', 'subject', [['ce-subject', '%FF']]),
  invalidBinary('an encoded surrogate (%ED%A0%80)', 'subject', [['ce-subject', '%ED%A0%80']]),
  invalidBinary('an encoded control character (%0A)', 'subject', [['ce-subject', 'a%0Ab']]),
  invalidBinary('an encoded C1 control character (%C2%85)', 'comexampleextension1', [
    ['ce-comexampleextension1', 'a%C2%85b'],
  ]),
  invalidBinary('an encoded noncharacter (U+FFFE)', 'subject', [['ce-subject', '%EF%BF%BE']]),
  invalidBinary('an unterminated double-quoted value', 'subject', [['ce-subject', '"abc']]),
  invalidBinary('time without a UTC offset', 'time', [['ce-time', '2018-04-05T17:31:00']]),
  invalidBinary('time as a date only', 'time', [['ce-time', '2018-04-05']]),
  invalidBinary('time on 30 February', 'time', [['ce-time', '2018-02-30T00:00:00Z']]),
  invalidBinary('time at hour 24', 'time', [['ce-time', '2018-04-05T24:00:00Z']]),
  invalidBinary('time with an offset without colon', 'time', [['ce-time', '2018-04-05T17:31:00+0100']]),
  invalidBinary('a relative dataschema', 'dataschema', [['ce-dataschema', '/schemas/slot.json']]),
  invalidBinary('an empty dataschema', 'dataschema', [['ce-dataschema', '']]),
  invalidBinary('a Content-Type that is not a media type', 'datacontenttype', [], { contentType: 'json' }),
  invalidBinary('a ce-datacontenttype header (the binding forbids it)', 'datacontenttype', [
    ['ce-datacontenttype', 'application/json'],
  ]),
  invalidBinary('an extension name with an underscore', 'my_ext', [['ce-my_ext', 'x']]),
  invalidBinary('ce-id twice', 'id', [
    ['ce-id', 'a'],
    ['ce-id', 'b'],
  ]),
  invalidBinary('a body that is not JSON for a JSON Content-Type', 'data', [], {
    body: Buffer.from('{"rentalId":'),
  }),
  invalidBinary('a JSON body that is not UTF-8', 'data', [], { body: Buffer.from([0x22, 0xff, 0x22]) }),
  invalidBinary('an unknown charset', 'datacontenttype', [], {
    contentType: 'application/json; charset=x-no-such-charset',
    status: 415,
  }),
  invalidBinary('an extension named schemaurl (the cloudevents SDK reserves it for 0.3)', 'schemaurl', [
    ['ce-schemaurl', 'https://soundgood.dev/s'],
  ]),
  invalidBinary('batched content mode', undefined, [], {
    contentType: 'application/cloudevents-batch+json',
    status: 415,
  }),
  invalidBinary('the CloudEvents media type without a format', undefined, [], {
    contentType: 'application/cloudevents',
    status: 415,
  }),
  invalidBinary('a structured event format other than JSON', undefined, [], {
    contentType: 'application/cloudevents+xml',
    status: 415,
  }),

  invalidStructured('a body that is not JSON', undefined, {}, { body: Buffer.from('{"specversion":') }),
  invalidStructured('a body that is a JSON array', undefined, {}, { body: Buffer.from('[]') }),
  ...['id', 'source', 'specversion', 'type'].flatMap((a) => [
    invalidStructured(`without ${a}`, a, {}, { omit: [a] }),
    invalidStructured(`${a} null (null is absent)`, a, { [a]: null }),
  ]),
  invalidStructured('id as a number', 'id', { id: 42 }),
  invalidStructured('source as a number', 'source', { source: 1 }),
  invalidStructured('type as a boolean', 'type', { type: true }),
  invalidStructured('specversion as a number', 'specversion', { specversion: 1 }),
  invalidStructured('time as a number', 'time', { time: 1522949460 }),
  invalidStructured('datacontenttype as a number', 'datacontenttype', { datacontenttype: 1 }),
  invalidStructured('an empty id', 'id', { id: '' }),
  invalidStructured('an empty type', 'type', { type: '' }),
  invalidStructured('an empty subject', 'subject', { subject: '' }),
  invalidStructured('specversion 0.3 (not accepted here)', 'specversion', { specversion: '0.3' }),
  invalidStructured('a source that is not a URI-reference', 'source', { source: 'http://exa mple.com/' }),
  invalidStructured('a source with a bad percent sequence', 'source', { source: '/soundgood/%GG' }),
  invalidStructured('a relative dataschema', 'dataschema', { dataschema: 'schema.json' }),
  invalidStructured('a time that is not RFC 3339 (the SDK would replace it with now)', 'time', {
    time: 'yesterday',
  }),
  invalidStructured('a datacontenttype that is not a media type', 'datacontenttype', {
    datacontenttype: 'json',
  }),
  invalidStructured('an attribute name in upper case', 'myExt', { myExt: 'x' }),
  invalidStructured('an attribute name with a dash', 'my-ext', { 'my-ext': 'x' }),
  invalidStructured(
    'an Integer with a fraction',
    'comexampleint',
    {},
    {
      body: Buffer.from(`{"specversion":"1.0","id":"x","source":"/s","type":"t","comexampleint":1.5}`),
    },
  ),
  invalidStructured(
    'an Integer written 1.0',
    'comexampleint',
    {},
    {
      body: Buffer.from(`{"specversion":"1.0","id":"x","source":"/s","type":"t","comexampleint":1.0}`),
    },
  ),
  invalidStructured(
    'an Integer written with an exponent',
    'comexampleint',
    {},
    {
      body: Buffer.from(`{"specversion":"1.0","id":"x","source":"/s","type":"t","comexampleint":1e3}`),
    },
  ),
  invalidStructured('an Integer above 2147483647', 'comexampleint', { comexampleint: 2147483648 }),
  invalidStructured('an Integer below -2147483648', 'comexampleint', { comexampleint: -2147483649 }),
  invalidStructured('an extension that is a JSON object', 'comexampleobj', { comexampleobj: { a: 1 } }),
  invalidStructured('an extension that is a JSON array', 'comexamplearr', { comexamplearr: [1] }),
  invalidStructured('a control character in a string', 'subject', { subject: 'a\u0001b' }),
  invalidStructured(
    'an unpaired surrogate in a string',
    'subject',
    {},
    {
      body: Buffer.from(`{"specversion":"1.0","id":"x","source":"/s","type":"t","subject":"\\uDEAD"}`),
    },
  ),
  invalidStructured('both data and data_base64', 'data_base64', { data_base64: 'AAEC' }),
  invalidStructured('data null and data_base64', 'data_base64', { data: null, data_base64: 'AAEC' }),
  invalidStructured('data_base64 that is not base64', 'data_base64', {
    data: undefined,
    data_base64: 'no base64!',
  }),
  invalidStructured('data_base64 that is a number', 'data_base64', { data: undefined, data_base64: 12 }),
  invalidStructured('data that is not a string for a non-JSON datacontenttype', 'data', {
    datacontenttype: 'text/plain',
    data: { a: 1 },
  }),
  invalidStructured('a body that is not UTF-8', undefined, {}, { body: Buffer.from([0x7b, 0xff, 0x7d]) }),
];
