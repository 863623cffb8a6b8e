// One span shape for the two forms a trace takes here: Jaeger's HTTP query API (`npm run trace`, the
// tests) and OTLP/HTTP JSON export requests (what the tests send Jaeger). Both give equal spans for
// the same trace (scripts/test/trace.test.ts checks it against the real Jaeger).

export type AttributeValue = string | number | boolean;
export type SpanKind = 'internal' | 'server' | 'client' | 'producer' | 'consumer';
export type SpanStatus = 'OK' | 'ERROR' | 'UNSET';

export interface Span {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  service: string;
  name: string;
  /** INTERNAL when the source does not say: Jaeger writes no `span.kind` tag for INTERNAL spans. */
  kind: SpanKind;
  /** Epoch milliseconds at microsecond precision (Jaeger's precision). */
  startMs: number;
  durationMs: number;
  status: SpanStatus;
  statusMessage?: string;
  attributes: Record<string, AttributeValue>;
}

// --- Jaeger: GET /api/traces/{traceID} (the query service's structuredResponse of model/json traces)

export interface JaegerKeyValue {
  key: string;
  type?: 'string' | 'bool' | 'int64' | 'float64' | 'binary';
  value: unknown;
}

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references?: { refType: 'CHILD_OF' | 'FOLLOWS_FROM'; traceID: string; spanID: string }[];
  /** Microseconds since the epoch. */
  startTime: number;
  /** Microseconds. */
  duration: number;
  tags?: JaegerKeyValue[];
  processID: string;
}

export interface JaegerResponse {
  data: { traceID: string; spans: JaegerSpan[]; processes: Record<string, { serviceName: string }> }[] | null;
  errors?: { code?: number; msg: string }[] | null;
}

/**
 * Tags the OTLP-to-Jaeger translation adds for span fields that are not attributes (kind, status,
 * instrumentation scope, trace state); they are read into the span's fields, not its attributes.
 * https://github.com/open-telemetry/opentelemetry-specification/blob/main/specification/common/mapping-to-non-otlp.md
 */
const jaegerFieldTags = new Set([
  'span.kind',
  'error',
  'otel.status_code',
  'otel.status_description',
  'otel.scope.name',
  'otel.scope.version',
  'otel.library.name',
  'otel.library.version',
  'w3c.tracestate',
  'internal.span.format',
]);

/** The span's parent, its parent's parent, and so on up to the root (as far as the trace has them). */
export function ancestors(spans: Span[], span: Span): Span[] {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const chain: Span[] = [];
  for (let at = byId.get(span.parentSpanId ?? ''); at; at = byId.get(at.parentSpanId ?? '')) {
    if (chain.includes(at)) break;
    chain.push(at);
  }
  return chain;
}

const spanKinds = new Set<string>(['internal', 'server', 'client', 'producer', 'consumer']);

export function fromJaeger(json: JaegerResponse): Span[] {
  return (json.data ?? []).flatMap((trace) =>
    trace.spans.map((span) => {
      const tags = new Map((span.tags ?? []).map((tag) => [tag.key, tag.value]));
      // The parent is the CHILD_OF reference; FOLLOWS_FROM references are OTel links.
      const parent = span.references?.find(
        (ref) => ref.refType === 'CHILD_OF' && ref.traceID === span.traceID,
      );
      const statusCode = tags.get('otel.status_code');
      const status: SpanStatus =
        statusCode === 'ERROR' || (statusCode === undefined && tags.get('error') === true)
          ? 'ERROR'
          : statusCode === 'OK'
            ? 'OK'
            : 'UNSET';
      const kind = tags.get('span.kind');
      const description = tags.get('otel.status_description');
      const attributes: Record<string, AttributeValue> = {};
      for (const tag of span.tags ?? []) {
        if (!jaegerFieldTags.has(tag.key)) attributes[tag.key] = jaegerValue(tag);
      }
      return {
        traceId: span.traceID,
        spanId: span.spanID,
        ...(parent ? { parentSpanId: parent.spanID } : {}),
        service: trace.processes[span.processID]?.serviceName ?? 'unknown',
        name: span.operationName,
        kind: typeof kind === 'string' && spanKinds.has(kind) ? (kind as SpanKind) : 'internal',
        startMs: span.startTime / 1000,
        durationMs: span.duration / 1000,
        status,
        ...(status === 'ERROR' && typeof description === 'string' && description !== ''
          ? { statusMessage: description }
          : {}),
        attributes,
      };
    }),
  );
}

function jaegerValue(tag: JaegerKeyValue): AttributeValue {
  const { value } = tag;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return JSON.stringify(value);
}

// --- OTLP/HTTP JSON: an ExportTraceServiceRequest
// https://github.com/open-telemetry/opentelemetry-proto/blob/main/docs/specification.md#json-protobuf-encoding
// Ids are hex (not base64), 64-bit integers may be strings, enums are integers (names accepted too).

export interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: OtlpAnyValue[] };
  kvlistValue?: { values?: OtlpKeyValue[] };
  bytesValue?: string;
}

export interface OtlpKeyValue {
  key: string;
  value?: OtlpAnyValue;
}

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number | string;
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
  attributes?: OtlpKeyValue[];
  status?: { code?: number | string; message?: string };
}

export interface OtlpExportRequest {
  resourceSpans?: {
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans?: { spans?: OtlpSpan[] }[];
  }[];
}

const otlpKinds: Record<string, SpanKind> = {
  '2': 'server',
  '3': 'client',
  '4': 'producer',
  '5': 'consumer',
  SPAN_KIND_SERVER: 'server',
  SPAN_KIND_CLIENT: 'client',
  SPAN_KIND_PRODUCER: 'producer',
  SPAN_KIND_CONSUMER: 'consumer',
};

const otlpStatuses: Record<string, SpanStatus> = {
  '1': 'OK',
  '2': 'ERROR',
  STATUS_CODE_OK: 'OK',
  STATUS_CODE_ERROR: 'ERROR',
};

export function fromOtlp(json: OtlpExportRequest): Span[] {
  return (json.resourceSpans ?? []).flatMap((resourceSpans) => {
    const resource = otlpAttributes(resourceSpans.resource?.attributes);
    const service = String(resource['service.name'] ?? 'unknown');
    return (resourceSpans.scopeSpans ?? []).flatMap((scopeSpans) =>
      (scopeSpans.spans ?? []).map((span) => {
        const status = otlpStatuses[String(span.status?.code ?? 0)] ?? 'UNSET';
        const message = span.status?.message;
        // Truncated to microseconds, as Jaeger stores them, so both sources give equal spans.
        const startNs = BigInt(span.startTimeUnixNano);
        const endNs = BigInt(span.endTimeUnixNano);
        return {
          traceId: span.traceId.toLowerCase(),
          spanId: span.spanId.toLowerCase(),
          ...(span.parentSpanId ? { parentSpanId: span.parentSpanId.toLowerCase() } : {}),
          service,
          name: span.name,
          kind: otlpKinds[String(span.kind ?? 0)] ?? 'internal',
          startMs: Number(startNs / 1000n) / 1000,
          durationMs: Number((endNs - startNs) / 1000n) / 1000,
          status,
          ...(status === 'ERROR' && message ? { statusMessage: message } : {}),
          attributes: otlpAttributes(span.attributes),
        };
      }),
    );
  });
}

function otlpAttributes(keyValues: OtlpKeyValue[] | undefined): Record<string, AttributeValue> {
  const attributes: Record<string, AttributeValue> = {};
  for (const { key, value } of keyValues ?? []) {
    const plain = otlpValue(value ?? {});
    if (plain !== null) attributes[key] = typeof plain === 'object' ? JSON.stringify(plain) : plain;
  }
  return attributes;
}

type Plain = AttributeValue | null | Plain[] | { [key: string]: Plain };

// Arrays and maps become JSON text, as the OTLP-to-Jaeger translation stores them.
function otlpValue(value: OtlpAnyValue): Plain {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.bytesValue !== undefined) return value.bytesValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(otlpValue);
  if (value.kvlistValue) {
    return Object.fromEntries(
      (value.kvlistValue.values ?? []).map((kv) => [kv.key, otlpValue(kv.value ?? {})]),
    );
  }
  return null;
}

// --- The waterfall

const barWidth = 40;

/**
 * The spans as text, one line per span, trace by trace: children under their parent, siblings by
 * start time. A span whose parent is not among the spans is shown as a root, flagged as an orphan.
 */
export function waterfall(spans: readonly Span[]): string {
  const traces = Map.groupBy(spans, (span) => span.traceId);
  const sections = [...traces.values()]
    .sort((a, b) => firstStart(a) - firstStart(b))
    .map((trace) => traceWaterfall(trace));
  return sections.join('\n\n');
}

function firstStart(spans: readonly Span[]): number {
  return Math.min(...spans.map((span) => span.startMs));
}

interface Row {
  span: Span;
  depth: number;
  orphan: boolean;
  /** Sibling leaf spans of one service and name, shown as one row spanning them all. */
  count?: number;
}

/**
 * One row for `spans` (siblings without children, same service and name): from the first start to
 * the last end, an error if any is. The broker's dispatcher makes one such span per Trigger that
 * reads an event, whether or not its filter matches: 18 a hop, of which one or two carry on.
 */
function merged(spans: Span[]): Span {
  const first = spans[0] as Span;
  const startMs = Math.min(...spans.map((span) => span.startMs));
  const endMs = Math.max(...spans.map((span) => span.startMs + span.durationMs));
  const failed = spans.find((span) => span.status === 'ERROR');
  return {
    ...first,
    startMs,
    durationMs: endMs - startMs,
    ...(failed ? { status: 'ERROR', statusMessage: failed.statusMessage } : {}),
  };
}

function traceWaterfall(spans: readonly Span[]): string {
  const byStart = (a: Span, b: Span) => a.startMs - b.startMs || a.spanId.localeCompare(b.spanId);
  const ids = new Set(spans.map((span) => span.spanId));
  const children = Map.groupBy(
    spans.filter((span) => span.parentSpanId && ids.has(span.parentSpanId)),
    (span) => span.parentSpanId,
  );
  const rows: Row[] = [];
  const visited = new Set<Span>();
  const visit = (span: Span, depth: number, orphan: boolean): void => {
    if (visited.has(span)) return;
    visited.add(span);
    rows.push({ span, depth, orphan });
    const sorted = [...(children.get(span.spanId) ?? [])].sort(byStart);
    const leaves = Map.groupBy(
      sorted.filter((child) => !children.has(child.spanId)),
      (child) => `${child.service}\u0000${child.name}`,
    );
    for (const child of sorted) {
      const alike = leaves.get(`${child.service}\u0000${child.name}`);
      if (!children.has(child.spanId) && alike && alike.length > 1) {
        if (alike[0] !== child) continue;
        for (const leaf of alike) visited.add(leaf);
        rows.push({ span: merged(alike), depth: depth + 1, orphan: false, count: alike.length });
      } else visit(child, depth + 1, false);
    }
  };
  const roots = spans.filter((span) => !span.parentSpanId || !ids.has(span.parentSpanId)).sort(byStart);
  for (const root of roots) visit(root, 0, root.parentSpanId !== undefined);
  // Spans in a parent cycle are reachable from no root; still show them.
  for (const span of [...spans].sort(byStart)) visit(span, 0, true);

  const start = firstStart(spans);
  const end = Math.max(...spans.map((span) => span.startMs + span.durationMs));
  const total = end - start;
  const services = new Set(spans.map((span) => span.service));
  const table = rows.map(({ span, depth, orphan, count }) => [
    span.service,
    `${'  '.repeat(depth)}${span.name}${count ? ` x${count}` : ''}${orphan ? ` [orphan: parent ${span.parentSpanId} not in trace]` : ''}`,
    ms(span.startMs - start),
    ms(span.durationMs),
    bar(span.startMs - start, span.durationMs, total),
    span.status === 'ERROR' && span.statusMessage ? `ERROR: ${span.statusMessage}` : span.status,
  ]);
  const header = ['SERVICE', 'SPAN', 'START', 'DURATION', 'TIMELINE', 'STATUS'];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...table.map((row) => row[column]?.length ?? 0)),
  );
  const rightAligned = new Set([2, 3]);
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => {
        if (column === cells.length - 1) return cell;
        const width = widths[column] ?? 0;
        return rightAligned.has(column) ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ');
  const title =
    `trace ${spans[0]?.traceId}: ${spans.length} span${spans.length === 1 ? '' : 's'}, ` +
    `${services.size} service${services.size === 1 ? '' : 's'}, ${ms(total)}`;
  return [title, line(header), ...table.map(line)].join('\n');
}

function ms(value: number): string {
  return `${value.toFixed(2)} ms`;
}

function bar(offset: number, duration: number, total: number): string {
  if (total <= 0) return `|${'#'.repeat(barWidth)}|`;
  const from = Math.min(barWidth - 1, Math.floor((offset / total) * barWidth));
  const length = Math.max(1, Math.min(barWidth - from, Math.round((duration / total) * barWidth)));
  return `|${' '.repeat(from)}${'#'.repeat(length)}${' '.repeat(barWidth - from - length)}|`;
}
