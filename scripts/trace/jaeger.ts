// Jaeger as the tests use it: export spans to its OTLP/HTTP receiver, read a trace back from its
// query API. `npm run trace` (scripts/trace.ts) reads the same API with messages for a user.
import { fromJaeger, type JaegerResponse, type OtlpExportRequest, type Span } from './model.ts';

/** Where a running Jaeger takes spans and answers queries (`node scripts/infra.ts env` prints both). */
export interface JaegerEndpoints {
  /** OTLP/HTTP base URL, as OTEL_EXPORTER_OTLP_ENDPOINT takes it (POST /v1/traces is appended). */
  otlpEndpoint: string;
  /** The query service, the UI's address (GET /api/traces/{traceId}). */
  queryUrl: string;
}

/** The endpoints of the Jaeger that `scripts/infra.ts` started; fails loudly when there is none. */
export function jaegerFromEnv(env: NodeJS.ProcessEnv = process.env): JaegerEndpoints {
  const { JAEGER_OTLP_ENDPOINT: otlpEndpoint, JAEGER_QUERY_URL: queryUrl } = env;
  if (!otlpEndpoint || !queryUrl) {
    throw new Error(
      'JAEGER_OTLP_ENDPOINT and JAEGER_QUERY_URL are not set: run the tests with `npm test` at the repository root, which starts Jaeger (or eval "$(node scripts/infra.ts env)")',
    );
  }
  return { otlpEndpoint, queryUrl };
}

/** Sends one OTLP/HTTP JSON export request, as an SDK's exporter would. */
export async function exportSpans(otlpEndpoint: string, request: OtlpExportRequest): Promise<void> {
  const response = await fetch(`${otlpEndpoint}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(request),
  });
  if (!response.ok) throw new Error(`Jaeger refused the export: ${response.status} ${await response.text()}`);
}

/** The spans Jaeger has of a trace so far; none when it does not know the trace (yet). */
export async function traceSpans(queryUrl: string, traceId: string): Promise<Span[]> {
  const response = await fetch(`${queryUrl}/api/traces/${traceId}`);
  if (response.status === 404) return [];
  if (!response.ok) throw new Error(`Jaeger answered ${response.status}: ${await response.text()}`);
  return fromJaeger((await response.json()) as JaegerResponse);
}
