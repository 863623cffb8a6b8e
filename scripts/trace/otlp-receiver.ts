// An OTLP/HTTP trace receiver for tests: services export to it as to a collector
// (OTEL_EXPORTER_OTLP_ENDPOINT=<url>, OTEL_EXPORTER_OTLP_PROTOCOL=http/json) and the test reads the
// spans it collected. JSON only: decoding protobuf would need a dependency for no gain in a test.
// https://github.com/open-telemetry/opentelemetry-proto/blob/main/docs/specification.md#otlphttp
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { fromOtlp, type OtlpExportRequest, type Span } from './model.ts';

export interface OtlpReceiver {
  /** The endpoint to give OTEL_EXPORTER_OTLP_ENDPOINT (the exporter appends /v1/traces). */
  url: string;
  /** The spans received so far, in arrival order. */
  spans(): Span[];
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const received: Span[] = [];
  const server = createServer((request, response) => {
    handle(request, response, received).catch((error: unknown) => {
      reply(response, 500, 'text/plain', `otlp receiver: ${String(error)}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans: () => [...received],
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Exporters keep their connections alive; close would wait for them otherwise.
        server.closeAllConnections();
      }),
  };
}

async function handle(request: IncomingMessage, response: ServerResponse, received: Span[]): Promise<void> {
  if (request.url?.split('?')[0] !== '/v1/traces') {
    request.resume();
    return reply(response, 404, 'text/plain', 'otlp receiver: only POST /v1/traces is served');
  }
  if (request.method !== 'POST') {
    request.resume();
    return reply(response, 405, 'text/plain', 'otlp receiver: POST only');
  }
  const contentType = request.headers['content-type']?.split(';')[0]?.trim();
  if (contentType !== 'application/json') {
    request.resume();
    return reply(
      response,
      415,
      'text/plain',
      `otlp receiver: this test receiver takes OTLP/HTTP JSON (content-type application/json), got ${contentType ?? 'none'}; set OTEL_EXPORTER_OTLP_PROTOCOL=http/json`,
    );
  }
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  let body = Buffer.concat(chunks);
  if (request.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
  let spans: Span[];
  try {
    spans = fromOtlp(JSON.parse(body.toString('utf8')) as OtlpExportRequest);
  } catch (error) {
    return reply(
      response,
      400,
      'text/plain',
      `otlp receiver: not an OTLP JSON export request: ${String(error)}`,
    );
  }
  received.push(...spans);
  // An empty ExportTraceServiceResponse: full success.
  reply(response, 200, 'application/json', '{}');
}

function reply(response: ServerResponse, status: number, contentType: string, body: string): void {
  if (response.headersSent) return;
  response.writeHead(status, { 'content-type': contentType }).end(body);
}
