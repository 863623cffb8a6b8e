/**
 * Decodes one HTTP request into a CloudEvent as the CloudEvents 1.0.2 HTTP protocol binding and
 * JSON event format say, checking every attribute against the spec's type system. The `cloudevents`
 * SDK's own `HTTP.toEvent` is lax where the spec is strict (no percent-decoding, an invalid `time`
 * replaced by "now", a timestamp without offset accepted, `data` and `data_base64` together,
 * non-string core attributes, integers out of range) and strict where the spec allows (a charset or
 * upper case in `application/cloudevents+json`); this module closes those gaps, then builds the SDK's
 * `CloudEvent` from attributes it has checked.
 * - https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/spec.md#type-system
 * - https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/http-protocol-binding.md#3-http-message-mapping
 * - https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/formats/json-format.md#2-attributes
 */
import type { IncomingHttpHeaders } from 'node:http';
import { TextDecoder } from 'node:util';
import { CloudEvent } from 'cloudevents';

/** A request that is not a CloudEvent this receiver takes: 400 (malformed) or 415 (unsupported mode or format). */
export class CloudEventDecodingError extends Error {
  constructor(
    message: string,
    /** The attribute (or `data`) at fault, when there is one. */
    readonly attribute?: string,
    readonly status: 400 | 415 = 400,
  ) {
    super(message);
  }
}

export type AttributeValue = string | number | boolean;

export interface DecodedEvent {
  mode: 'binary' | 'structured';
  /** Every context attribute present, extensions included, decoded to its spec type. */
  attributes: Record<string, AttributeValue>;
  /**
   * Absent when the event has no data. A JSON value when `datacontenttype` is JSON (`*\/json`,
   * `*\/*+json`) or, in structured mode, absent; a string for a structured `data` of another type;
   * bytes (a Buffer) for `data_base64` and for a binary-mode body of a non-JSON type.
   */
  data?: unknown;
}

export interface HttpRequestParts {
  headers: IncomingHttpHeaders;
  /** Node's `req.rawHeaders`: to tell a repeated `ce-` header, which Node would join with ", ". */
  rawHeaders?: string[];
  body: Buffer;
}

/** The specification versions accepted: 1.0 only (0.3 is answered 400, naming `specversion`). */
export const SUPPORTED_SPECVERSIONS = ['1.0'] as const;

/** The 1.0 attributes whose types are String, URI-reference, URI or Timestamp: JSON strings in structured mode. */
const STRING_TYPED = [
  'id',
  'source',
  'specversion',
  'type',
  'datacontenttype',
  'dataschema',
  'subject',
  'time',
];
const REQUIRED = ['id', 'source', 'specversion', 'type'] as const;
const NAME = /^[a-z0-9]+$/;
const INT32 = { min: -2_147_483_648, max: 2_147_483_647 };
/** The source text of each number member of a parsed JSON object, by object. */
const numberSources = new WeakMap<object, Record<string, string>>();

const fail = (attribute: string | undefined, message: string, status: 400 | 415 = 400): never => {
  throw new CloudEventDecodingError(message, attribute, status);
};

export function decodeHttpEvent(request: HttpRequestParts): DecodedEvent {
  const contentType = single(request, 'content-type');
  const media = contentType === undefined ? undefined : parseMediaType(contentType);
  // https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/http-protocol-binding.md#3-http-message-mapping
  if (media?.essence.startsWith('application/cloudevents-batch'))
    fail(
      undefined,
      'batched content mode is not supported (the binding allows it only when solicited): POST one event per request, binary or structured',
      415,
    );
  if (media?.essence.startsWith('application/cloudevents')) {
    if (media.essence !== 'application/cloudevents+json')
      fail(
        undefined,
        `event format ${media.essence} is not supported: use application/cloudevents+json or binary mode`,
        415,
      );
    return decodeStructured(request.body, media.charset);
  }
  return decodeBinary(request, contentType, media);
}

/** https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/http-protocol-binding.md#31-binary-content-mode */
function decodeBinary(
  request: HttpRequestParts,
  contentType: string | undefined,
  media: MediaType | undefined,
): DecodedEvent {
  const attributes: Record<string, AttributeValue> = {};
  for (const header of Object.keys(request.headers)) {
    if (!header.startsWith('ce-')) continue;
    const name = header.slice(3);
    if (!NAME.test(name))
      fail(
        name,
        `header ${header}: attribute name "${name}" must be lower-case letters a-z and digits 0-9 only`,
      );
    if (name === 'datacontenttype')
      fail(
        'datacontenttype',
        'binary mode carries datacontenttype in Content-Type; a ce-datacontenttype header must not be present',
      );
    if (name === 'data') fail('data', 'binary mode carries data in the body; ce-data is not an attribute');
    const raw = single(request, header) ?? '';
    attributes[name] = decodeHeaderValue(name, raw);
  }
  if (contentType !== undefined) {
    if (!media)
      fail(
        'datacontenttype',
        `Content-Type "${contentType}" is not a media type (RFC 2046): datacontenttype`,
      );
    attributes.datacontenttype = contentType;
  }
  checkAttributes(attributes);
  const decoded: DecodedEvent = { mode: 'binary', attributes };
  if (request.body.length > 0) {
    decoded.data = media?.json ? parseJsonData(request.body, media.charset) : request.body;
  }
  return decoded;
}

/** https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/formats/json-format.md#3-envelope */
function decodeStructured(body: Buffer, charset: string | undefined): DecodedEvent {
  const text = decodeText(body, charset, undefined);
  let envelope: unknown;
  try {
    // The reviver sees each number's source text: the JSON format allows an Integer only as digits.
    envelope = JSON.parse(
      text,
      function (this: unknown, key: string, value: unknown, context?: { source?: string }) {
        if (typeof value === 'number' && typeof this === 'object' && this !== null)
          numberSources.set(this, { ...numberSources.get(this), [key]: context?.source ?? String(value) });
        return value;
      },
    );
  } catch (error) {
    fail(undefined, `structured mode: the body is not JSON: ${(error as Error).message}`);
  }
  if (envelope === null || typeof envelope !== 'object' || Array.isArray(envelope))
    fail(undefined, 'structured mode: the body must be one JSON object (application/cloudevents+json)');
  const root = envelope as Record<string, unknown>;
  const numbers = numberSources.get(root) ?? {};

  const attributes: Record<string, AttributeValue> = {};
  for (const [name, value] of Object.entries(root)) {
    if (name === 'data' || name === 'data_base64') continue;
    if (!NAME.test(name))
      fail(name, `attribute name "${name}" must be lower-case letters a-z and digits 0-9 only`);
    // json-format.md 2.2: null is the same as absent.
    if (value === null) continue;
    if (typeof value === 'string') attributes[name] = value;
    else if (typeof value === 'boolean' || typeof value === 'number') {
      if (STRING_TYPED.includes(name))
        fail(name, `attribute ${name} must be a JSON string, not ${JSON.stringify(value)}`);
      if (typeof value === 'number') checkInteger(name, numbers[name] ?? String(value), value);
      attributes[name] = value;
    } else
      fail(
        name,
        `attribute ${name}: a JSON ${Array.isArray(value) ? 'array' : 'object'} is not a CloudEvents type (Boolean, Integer, String, Binary, URI, URI-reference, Timestamp)`,
      );
  }
  checkAttributes(attributes);
  const decoded: DecodedEvent = { mode: 'structured', attributes };
  const hasData = Object.hasOwn(root, 'data');
  const base64 = root.data_base64;
  if (hasData && base64 !== undefined && base64 !== null)
    fail('data_base64', 'data and data_base64 must not both be present');
  if (base64 !== undefined && base64 !== null) {
    if (typeof base64 !== 'string' || !BASE64.test(base64))
      fail('data_base64', 'data_base64 must be a base64 string (RFC 4648, section 4)');
    decoded.data = Buffer.from(base64 as string, 'base64');
  } else if (hasData) {
    const type = attributes.datacontenttype as string | undefined;
    const json = type === undefined || parseMediaType(type)?.json;
    // json-format.md 3.1.2: a JSON `data` is the value itself, a string stays a string.
    if (!json && typeof root.data !== 'string')
      fail('data', `data of datacontenttype ${type} must be a JSON string holding the encoded content`);
    decoded.data = root.data;
  }
  return decoded;
}

/** The spec's type rules for every attribute present, whichever the content mode. */
function checkAttributes(attributes: Record<string, AttributeValue>): void {
  const missing = REQUIRED.filter((name) => attributes[name] === undefined);
  if (missing.length > 0)
    fail(missing[0], `missing required attribute${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  const specversion = attributes.specversion as string;
  if (!SUPPORTED_SPECVERSIONS.includes(specversion as never))
    fail(
      'specversion',
      `specversion "${specversion}" is not supported: this receiver takes ${SUPPORTED_SPECVERSIONS.join(', ')}`,
    );
  for (const [name, value] of Object.entries(attributes)) {
    if (typeof value === 'string') checkString(name, value);
  }
  for (const name of [...REQUIRED, 'subject', 'dataschema', 'datacontenttype', 'time']) {
    if (attributes[name] === '') fail(name, `attribute ${name} must not be empty`);
  }
  if (!isUriReference(attributes.source as string))
    fail('source', `attribute source is not a URI-reference (RFC 3986, section 4.1): "${attributes.source}"`);
  const { dataschema, time, datacontenttype } = attributes;
  if (dataschema !== undefined && !isAbsoluteUri(dataschema as string))
    fail('dataschema', `attribute dataschema is not an absolute URI (RFC 3986): "${dataschema}"`);
  if (time !== undefined && !isTimestamp(time as string))
    fail('time', `attribute time is not an RFC 3339 timestamp: "${time}"`);
  if (datacontenttype !== undefined && !parseMediaType(datacontenttype as string))
    fail('datacontenttype', `attribute datacontenttype is not a media type (RFC 2046): "${datacontenttype}"`);
}

// https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/spec.md#type-system (String)
const NONCHARACTER =
  /[\ufdd0-\ufdef\ufffe\uffff]|[\ud83f\ud87f\ud8bf\ud8ff\ud93f\ud97f\ud9bf\ud9ff\uda3f\uda7f\udabf\udaff\udb3f\udb7f\udbbf\udbff][\udffe\udfff]/;

function checkString(name: string, value: string): void {
  if ([...value].some((c) => (c.codePointAt(0) as number) <= 0x1f || (c >= '\u007f' && c <= '\u009f')))
    fail(name, `attribute ${name} contains a control character (U+0000-U+001F, U+007F-U+009F)`);
  if (!value.isWellFormed()) fail(name, `attribute ${name} contains an unpaired surrogate`);
  if (NONCHARACTER.test(value)) fail(name, `attribute ${name} contains a Unicode noncharacter`);
}

function checkInteger(name: string, source: string, value: number): void {
  // json-format.md 2.2: "only the integer component optionally prefixed with a minus sign".
  if (!/^-?(0|[1-9][0-9]*)$/.test(source) || value < INT32.min || value > INT32.max)
    fail(name, `attribute ${name}: ${source} is not an Integer (-2147483648 to 2147483647, digits only)`);
}

/**
 * https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/http-protocol-binding.md#3132-http-header-values:
 * double-quoted strings unescaped, then one round of percent-decoding; the bytes must be UTF-8.
 * Node hands header bytes over as latin1, so a sender that wrote raw UTF-8 (as most SDKs do,
 * unencoded) decodes the same as a percent-encoded one.
 */
function decodeHeaderValue(name: string, raw: string): string {
  const bytes = Buffer.from(raw, 'latin1');
  const unquoted: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] as number;
    if (byte !== 0x22) {
      unquoted.push(byte);
      continue;
    }
    for (i++; ; i++) {
      if (i >= bytes.length) fail(name, `header ce-${name}: unterminated double-quoted string`);
      const inner = bytes[i] as number;
      if (inner === 0x22) break;
      if (inner === 0x5c) {
        i++;
        if (i >= bytes.length) fail(name, `header ce-${name}: unterminated double-quoted string`);
      }
      unquoted.push(bytes[i] as number);
    }
  }
  const decoded: number[] = [];
  for (let i = 0; i < unquoted.length; i++) {
    const byte = unquoted[i] as number;
    if (byte !== 0x25) {
      decoded.push(byte);
      continue;
    }
    const hex = String.fromCharCode(unquoted[i + 1] ?? 0, unquoted[i + 2] ?? 0);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex))
      fail(name, `header ce-${name}: "%" must start a percent-encoded byte (%XX): "${raw}"`);
    decoded.push(Number.parseInt(hex, 16));
    i += 2;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(Uint8Array.from(decoded));
  } catch {
    return fail(name, `header ce-${name}: the percent-decoded bytes are not valid UTF-8: "${raw}"`);
  }
}

/** The one value of a header; a repeated CloudEvents header is ambiguous, so it is refused. */
function single(request: HttpRequestParts, header: string): string | undefined {
  if (request.rawHeaders) {
    let count = 0;
    for (let i = 0; i < request.rawHeaders.length; i += 2)
      if (request.rawHeaders[i]?.toLowerCase() === header) count++;
    if (count > 1) {
      const attribute = header === 'content-type' ? 'datacontenttype' : header.slice(3);
      fail(attribute, `header ${header} appears ${count} times: one value per attribute`);
    }
  }
  const value = request.headers[header];
  return Array.isArray(value) ? value.join(', ') : value;
}

interface MediaType {
  /** type/subtype, lower case. */
  essence: string;
  charset?: string;
  /** `*\/json` or `*\/*+json`: the JSON format's test for JSON-formatted data. */
  json: boolean;
}

// RFC 9110 section 8.3.1: type "/" subtype *( OWS ";" OWS [ parameter ] )
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const QUOTED = '"(?:[\\t !#-\\[\\]-~\\x80-\\xff]|\\\\[\\t -~\\x80-\\xff])*"';
const MEDIA_TYPE = new RegExp(
  `^(${TOKEN})/(${TOKEN})((?:[ \\t]*;[ \\t]*(?:${TOKEN}=(?:${TOKEN}|${QUOTED}))?)*)[ \\t]*$`,
);
const PARAMETER = new RegExp(`(${TOKEN})=(${TOKEN}|${QUOTED})`, 'g');

function parseMediaType(value: string): MediaType | undefined {
  const match = MEDIA_TYPE.exec(value);
  if (!match) return undefined;
  const essence = `${match[1]}/${match[2]}`.toLowerCase();
  let charset: string | undefined;
  for (const [, key, raw] of (match[3] ?? '').matchAll(PARAMETER)) {
    if (key?.toLowerCase() !== 'charset' || raw === undefined) continue;
    charset = (raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw).toLowerCase();
  }
  const subtype = essence.split('/')[1] ?? '';
  return { essence, json: subtype === 'json' || subtype.endsWith('+json'), ...(charset ? { charset } : {}) };
}

function decodeText(body: Buffer, charset: string | undefined, attribute: string | undefined): string {
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(charset ?? 'utf-8', { fatal: true });
  } catch {
    return fail('datacontenttype', `datacontenttype: charset "${charset}" is not supported`, 415);
  }
  try {
    return decoder.decode(body);
  } catch {
    return fail(attribute, `${attribute ?? 'the body'} is not valid ${decoder.encoding}`);
  }
}

function parseJsonData(body: Buffer, charset: string | undefined): unknown {
  const text = decodeText(body, charset, 'data');
  try {
    return JSON.parse(text);
  } catch (error) {
    return fail('data', `data is not JSON, as its datacontenttype says: ${(error as Error).message}`);
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

// RFC 3986: the regular expression of appendix B splits; each part is then checked against its rule.
const UNRESERVED = "A-Za-z0-9\\-._~!$&'()*+,;=";
const PCT = '%[0-9A-Fa-f]{2}';
const chars = (extra: string) => new RegExp(`^(?:[${UNRESERVED}${extra}]|${PCT})*$`);
const PATH = chars(':@/');
const QUERY = chars(':@/?');
const USERINFO = chars(':');
const REG_NAME = chars('');
const IP_LITERAL = new RegExp(`^\\[(?:[0-9A-Fa-f:.]+|v[0-9A-Fa-f]+\\.[${UNRESERVED}:]+)\\]$`);
const SPLIT = /^(?:([^:/?#]+):)?(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$/;

function isUriReference(value: string): boolean {
  return uriParts(value) !== undefined;
}

/** A URI with a scheme (RFC 3986 section 3; a fragment allowed, as in the spec's JSON schema's `format: uri`). */
function isAbsoluteUri(value: string): boolean {
  return uriParts(value)?.scheme !== undefined;
}

function uriParts(value: string): { scheme?: string } | undefined {
  const match = SPLIT.exec(value);
  if (!match) return undefined;
  const [, scheme, authority, path = '', query, fragment] = match;
  if (scheme !== undefined && !/^[A-Za-z][A-Za-z0-9+.-]*$/.test(scheme)) return undefined;
  if (authority !== undefined && !isAuthority(authority)) return undefined;
  if (!PATH.test(path)) return undefined;
  if (query !== undefined && !QUERY.test(query)) return undefined;
  if (fragment !== undefined && !QUERY.test(fragment)) return undefined;
  return scheme === undefined ? {} : { scheme };
}

function isAuthority(authority: string): boolean {
  const at = authority.indexOf('@');
  if (at >= 0 && !USERINFO.test(authority.slice(0, at))) return false;
  const hostPort = authority.slice(at + 1);
  if (hostPort.startsWith('[')) {
    const end = hostPort.indexOf(']') + 1;
    return end > 0 && IP_LITERAL.test(hostPort.slice(0, end)) && /^(:[0-9]*)?$/.test(hostPort.slice(end));
  }
  const colon = hostPort.lastIndexOf(':');
  if (colon < 0) return REG_NAME.test(hostPort);
  return REG_NAME.test(hostPort.slice(0, colon)) && /^[0-9]*$/.test(hostPort.slice(colon + 1));
}

// RFC 3339 section 5.6 (`T` either case, as its note allows); a leap second only at 23:59, as the SDK's validator.
const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

function isTimestamp(value: string): boolean {
  const match = TIMESTAMP.exec(value);
  if (!match) return false;
  const [year, month, day, hour, minute, second, offsetHour, offsetMinute] = match.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
  const clock =
    (hour <= 23 && minute <= 59 && second <= 59) || (hour === 23 && minute === 59 && second === 60);
  // Z has no offset parts: Number(undefined) is NaN, and NaN <= 23 is false.
  const offset = match[7] === undefined || (offsetHour <= 23 && offsetMinute <= 59);
  return day >= 1 && day <= days && clock && offset;
}

/**
 * The SDK's CloudEvent of a decoded event. Two things of the SDK's that cannot be changed without
 * forking it: it sets `time` to "now" when the event has none, and it refuses an extension named
 * `schemaurl` on a 1.0 event (it keeps that name for 0.3); the latter is answered 400, naming it.
 */
export function toCloudEvent(decoded: DecodedEvent): CloudEvent<unknown> {
  if (decoded.attributes.schemaurl !== undefined)
    fail(
      'schemaurl',
      'extension attribute schemaurl is not supported here: the cloudevents SDK reserves it for specversion 0.3',
    );
  return new CloudEvent<unknown>(
    {
      ...(decoded.attributes as { id: string; source: string; type: string; specversion: string }),
      ...(decoded.data === undefined ? {} : { data: decoded.data }),
    },
    false,
  );
}
