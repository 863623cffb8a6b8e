/**
 * A collector stand-in for "tracing on": accepts OTLP/HTTP exports (protobuf, the services' default,
 * or JSON) and discards them, counting requests and bytes. The benchmark measures what exporting
 * costs the services, not what a collector costs; a real one (Jaeger) keeps and indexes every span,
 * which would load the machine the services run on.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OtlpSink {
  url: string;
  requests: number;
  bytes: number;
  close(): Promise<void>;
}

export async function startOtlpSink(): Promise<OtlpSink> {
  const sink: OtlpSink = { url: '', requests: 0, bytes: 0, close: async () => undefined };
  const server = createServer((request, response) => {
    request.on('data', (chunk: Buffer) => {
      sink.bytes += chunk.length;
    });
    request.on('end', () => {
      sink.requests++;
      // An empty ExportTraceServiceResponse is full success, in either encoding.
      const json = request.headers['content-type']?.startsWith('application/json');
      response
        .writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' })
        .end(json ? '{}' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  sink.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  sink.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return sink;
}
