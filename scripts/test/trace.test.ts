// `npm run trace` and its span model against the real Jaeger (v2, started by scripts/infra.ts): the
// fixture, a rejected rental's trace as an OTLP/HTTP JSON export, is exported to Jaeger's OTLP
// receiver under a fresh trace id, then read back through Jaeger's query API, by the model and by
// the CLI. The rentals service is a small stand-in here: the CLI only asks it for a rental's trace
// id (the end-to-end path through the real services is in services/rentals/test/e2e/tracing).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { exportSpans, jaegerFromEnv, traceSpans } from '../trace/jaeger.ts';
import { fromOtlp, type OtlpExportRequest, type Span, waterfall } from '../trace/model.ts';

const fixtureTraceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const otlpJson = readFileSync(join(import.meta.dirname, 'fixtures', 'trace', 'otlp-export.json'), 'utf8');
// A fresh trace id per run: Jaeger keeps what earlier runs exported for as long as it runs.
const traceId = randomBytes(16).toString('hex');
const otlpExport = JSON.parse(otlpJson.replaceAll(fixtureTraceId, traceId)) as OtlpExportRequest;
const rentalId = '7d3c5a1e-2f4b-4c8d-9e6a-1b2c3d4e5f60';

const bySpanId = (spans: Span[]) => [...spans].sort((a, b) => a.spanId.localeCompare(b.spanId));
const named = (spans: Span[], name: string) => spans.find((span) => span.name === name);

const expectedWaterfall = `trace ${traceId}: 6 spans, 2 services, 76.20 ms
SERVICE   SPAN                                                      START  DURATION  TIMELINE                                    STATUS
rentals   POST /rentals                                           0.00 ms  48.25 ms  |#########################               |  UNSET
rentals     rent-instrument RESERVE_SLOT                          9.80 ms  66.40 ms  |     ###################################|  ERROR: RESERVE_SLOT REJECTED: QUOTA_EXCEEDED
rentals     dev.soundgood.students.slot.reserve.v1 publish       12.10 ms   4.30 ms  |      ##                                |  UNSET
students      dev.soundgood.students.slot.reserve.v1 process     31.70 ms  22.92 ms  |                ############            |  UNSET
students        pg.query:SELECT soundgood_students               33.01 ms   5.61 ms  |                 ###                    |  UNSET
students        dev.soundgood.students.slot.rejected.v1 publish  51.33 ms   2.05 ms  |                          #             |  UNSET`;

const jaeger = jaegerFromEnv();
/** The trace as Jaeger's query API returns it, once all six spans are stored. */
let stored: Span[];

beforeAll(async () => {
  await exportSpans(jaeger.otlpEndpoint, otlpExport);
  const deadline = Date.now() + 15_000;
  for (;;) {
    stored = await traceSpans(jaeger.queryUrl, traceId);
    if (stored.length === 6) break;
    if (Date.now() > deadline)
      throw new Error(`Jaeger at ${jaeger.queryUrl} has ${stored.length} of the 6 spans of ${traceId}`);
    await sleep(100);
  }
});

describe('the span model', () => {
  it('reads equal spans from the Jaeger query API and from the OTLP export Jaeger received', () => {
    expect(bySpanId(stored)).toEqual(bySpanId(fromOtlp(otlpExport)));
  });

  it('takes the parent, kind, status, times and typed attributes from the Jaeger tags and references', () => {
    // Its parent is the publish span; its link to the HTTP root (FOLLOWS_FROM in Jaeger) is not a parent.
    expect(named(stored, 'dev.soundgood.students.slot.reserve.v1 process')).toMatchObject({
      service: 'students',
      kind: 'consumer',
      parentSpanId: '53995c3f42cd8ad8',
      startMs: 1767225600155.156,
      durationMs: 22.918,
      status: 'UNSET',
    });
    expect(named(stored, 'rent-instrument RESERVE_SLOT')).toMatchObject({
      kind: 'internal',
      status: 'ERROR',
      statusMessage: 'RESERVE_SLOT REJECTED: QUOTA_EXCEEDED',
    });
    const root = named(stored, 'POST /rentals');
    expect(root?.parentSpanId).toBeUndefined();
    expect(root?.attributes).toEqual({
      'http.request.method': 'POST',
      'http.response.status_code': 202,
      'http.route': '/rentals',
      'server.address': 'localhost',
      'server.port': 3000,
      'url.path': '/rentals',
      'url.scheme': 'http',
    });
    expect(named(stored, 'dev.soundgood.students.slot.reserve.v1 process')?.attributes).toMatchObject({
      'soundgood.inbox.duplicate': false,
    });
  });

  it('reads OTLP enum names, upper-case hex ids and numeric times as well', () => {
    const [span] = fromOtlp({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'billing' } }] },
          scopeSpans: [
            {
              spans: [
                {
                  traceId: '5B8EFFF798038103D269B633813FC60C',
                  spanId: 'EEE19B7EC3C1B174',
                  parentSpanId: 'EEE19B7EC3C1B173',
                  name: 'charge',
                  kind: 'SPAN_KIND_CLIENT',
                  startTimeUnixNano: 1_000_000_000,
                  endTimeUnixNano: 1_002_500_000,
                  attributes: [
                    { key: 'ratio', value: { doubleValue: 0.5 } },
                    {
                      key: 'tags',
                      value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: '2' }] } },
                    },
                  ],
                  status: { code: 'STATUS_CODE_ERROR', message: 'card declined' },
                },
              ],
            },
          ],
        },
      ],
    });
    expect(span).toEqual({
      traceId: '5b8efff798038103d269b633813fc60c',
      spanId: 'eee19b7ec3c1b174',
      parentSpanId: 'eee19b7ec3c1b173',
      service: 'billing',
      name: 'charge',
      kind: 'client',
      startMs: 1000,
      durationMs: 2.5,
      status: 'ERROR',
      statusMessage: 'card declined',
      attributes: { ratio: 0.5, tags: '["a",2]' },
    });
  });

  it('prints the waterfall: children under their parent by start time, offsets, durations, bars, status', () => {
    expect(waterfall(stored)).toBe(expectedWaterfall);
    expect(waterfall(fromOtlp(otlpExport))).toBe(expectedWaterfall);
  });

  it("folds sibling leaf spans of one service and name into one row (the dispatcher's per-Trigger receives)", () => {
    const span = (spanId: string, name: string, parentSpanId: string | undefined, startMs: number): Span => ({
      traceId,
      spanId,
      ...(parentSpanId ? { parentSpanId } : {}),
      service: 'kafka-broker-dispatcher',
      name,
      kind: 'consumer',
      startMs,
      durationMs: 2,
      status: 'UNSET',
      attributes: {},
    });
    const spans = [
      span('a0', 'kafka_send', undefined, 0),
      span('a1', 'kafka_receive', 'a0', 1),
      { ...span('a2', 'kafka_receive', 'a0', 3), status: 'ERROR' as const, statusMessage: 'poll failed' },
      span('a3', 'kafka_receive', 'a0', 5),
      span('a4', 'kafka_receive', 'a0', 2),
      span('a5', 'POST', 'a4', 4),
    ];
    const lines = waterfall(spans).split('\n').slice(2);
    expect(
      lines.map((line) =>
        line
          .slice(25)
          .replace(/\s+\d+\.\d\d ms.*$/, '')
          .trim(),
      ),
    ).toEqual(['kafka_send', 'kafka_receive x3', 'kafka_receive', 'POST']);
    // The folded row runs from the first one's start to the last one's end, failed if one did.
    expect(lines[1]).toMatch(/ 1\.00 ms\s+6\.00 ms\s+\|.*\|\s+ERROR: poll failed$/);
  });

  it('shows a span whose parent is missing as a root flagged as an orphan, its children under it', () => {
    const spans = stored.filter((span) => span.name !== 'dev.soundgood.students.slot.reserve.v1 publish');
    const lines = waterfall(spans).split('\n');
    // The span column starts after the service column ('students' and two spaces).
    const names = lines.slice(2).map((line) => line.slice(10).replace(/\s+\d+\.\d\d ms.*$/, ''));
    expect(names).toEqual([
      'POST /rentals',
      '  rent-instrument RESERVE_SLOT',
      'dev.soundgood.students.slot.reserve.v1 process [orphan: parent 53995c3f42cd8ad8 not in trace]',
      '  pg.query:SELECT soundgood_students',
      '  dev.soundgood.students.slot.rejected.v1 publish',
    ]);
    expect(lines.filter((line) => line.includes('[orphan'))).toHaveLength(1);
  });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI as `npm run trace` does, without blocking this process (the stand-in answers it). */
function trace(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(import.meta.dirname, '..', 'trace.ts'), ...args], {
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function listen(
  handler: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<Server> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

const urlOf = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

describe('npm run trace', () => {
  const requests: string[] = [];
  let rentals: Server;
  let env: Record<string, string>;

  beforeAll(async () => {
    // GET /rentals/:id of the rentals service: the one rental, 404 for any other.
    rentals = await listen((request, response) => {
      requests.push(`rentals ${request.method} ${request.url}`);
      if (request.url === `/rentals/${rentalId}`) {
        json(response, 200, { id: rentalId, status: 'REJECTED', traceId });
      } else {
        json(response, 404, { statusCode: 404, error: 'Not Found', message: 'rental not found' });
      }
    });
    env = { JAEGER_QUERY_URL: jaeger.queryUrl, RENTALS_URL: urlOf(rentals) };
  });

  afterAll(async () => {
    await new Promise((resolve) => rentals.close(resolve));
  });

  beforeEach(() => {
    requests.length = 0;
  });

  it('prints the waterfall of a trace id, read from the Jaeger query API', async () => {
    const run = await trace([traceId.toUpperCase()], env);
    expect(run).toEqual({ code: 0, stdout: `${expectedWaterfall}\n`, stderr: '' });
    expect(requests).toEqual([]);
  });

  it('resolves a rental id to its trace id with the rentals service', async () => {
    const run = await trace([rentalId], env);
    expect(run).toEqual({ code: 0, stdout: `rental ${rentalId}\n${expectedWaterfall}\n`, stderr: '' });
    expect(requests).toEqual([`rentals GET /rentals/${rentalId}`]);
  });

  it('fails with a message when Jaeger does not know the trace', async () => {
    const missing = randomBytes(16).toString('hex');
    const run = await trace([missing], env);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(`trace: trace ${missing} not found in Jaeger at ${jaeger.queryUrl}\n`);
  });

  it('fails with a message for an unknown rental', async () => {
    const unknown = '11111111-2222-4333-8444-555555555555';
    const run = await trace([unknown], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `trace: rental ${unknown} not found (GET ${env.RENTALS_URL}/rentals/${unknown} answered 404)\n`,
    );
    expect(requests).toEqual([`rentals GET /rentals/${unknown}`]);
  });

  it('names the backend it cannot reach', async () => {
    const closed = await listen(() => {});
    const url = urlOf(closed);
    await new Promise((resolve) => closed.close(resolve));
    const run = await trace([traceId], { ...env, JAEGER_QUERY_URL: url });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`trace: cannot reach Jaeger at ${url}/api/traces/${traceId}: `);
    expect(run.stderr).toContain('ECONNREFUSED');
  });

  it.each([[['not-a-trace-id']], [[]], [[traceId, rentalId]]])(
    'prints the usage and fails for the arguments %j',
    async (args) => {
      const run = await trace(args, env);
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/^usage: npm run trace -- <rentalId\|traceId>\n/);
      expect(requests).toEqual([]);
    },
  );
});
