/**
 * OpenTelemetry for a Soundgood service: started before the application code (see register.ts),
 * with the HTTP, Express, NestJS and Prisma instrumentations; Prisma's spans cover every database
 * query (with the `pg` instrumentation as well, each query would be traced twice). Traces go over OTLP
 * (http/protobuf) to OTEL_EXPORTER_OTLP_ENDPOINT; without it spans are still made, so that logs
 * carry trace ids and trace context still crosses every hop. Sampling follows the standard
 * OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG variables.
 *
 * kafkajs is deliberately not auto-instrumented: every consumer group reads the whole events topic
 * and keeps only its type (as a Knative Trigger filters), so that instrumentation would make a span
 * per record per group. The runtime makes the messaging spans itself (tracing.ts), one publish span
 * per event and one process span per delivery that a subscription handles.
 */
import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { NestInstrumentation } from '@opentelemetry/instrumentation-nestjs-core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { PrismaInstrumentation } from '@prisma/instrumentation';

let sdk: NodeSDK | undefined;

const prismaInternalSpans = [
  'prisma:client:serialize',
  'prisma:client:compile',
  'prisma:client:connect',
  'prisma:client:start_transaction',
  'prisma:client:commit_transaction',
];

const dropSpans = {
  onStart: () => undefined,
  onEnd: () => undefined,
  forceFlush: async () => undefined,
  shutdown: async () => undefined,
};

export function startTelemetry(env: NodeJS.ProcessEnv = process.env): void {
  if (sdk) return;
  // The SDK reads these; Soundgood exports traces only, metrics are Prometheus and logs are stdout.
  const exporting =
    Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT) || (env.OTEL_TRACES_EXPORTER ?? 'none') !== 'none';
  env.OTEL_TRACES_EXPORTER ??= exporting ? 'otlp' : 'none';
  env.OTEL_EXPORTER_OTLP_PROTOCOL ??= 'http/protobuf';
  env.OTEL_METRICS_EXPORTER ??= 'none';
  env.OTEL_LOGS_EXPORTER ??= 'none';
  sdk = new NodeSDK({
    resource: resourceFromAttributes({
      'service.name': env.OTEL_SERVICE_NAME ?? 'soundgood',
      'service.namespace': 'soundgood',
      'service.version': env.SERVICE_VERSION ?? env.npm_package_version ?? '1.0.0',
      'deployment.environment.name': env.DEPLOYMENT_ENVIRONMENT ?? 'local',
    }),
    // Without an exporter the SDK would make no tracer provider at all: spans still carry the trace
    // context across hops and into the logs, so keep one that records and drops.
    ...(exporting ? {} : { spanProcessors: [dropSpans] }),
    instrumentations: [
      new HttpInstrumentation({
        // Probes and scrapes are not worth a trace each.
        ignoreIncomingRequestHook: (req) => ['/healthz', '/readyz', '/metrics'].includes(req.url ?? ''),
      }),
      // One span per route handler, not one per middleware.
      new ExpressInstrumentation({ ignoreLayersType: [ExpressLayerType.MIDDLEWARE] }),
      new NestInstrumentation(),
      // A span per query (prisma:client:db_query, with its SQL) and per typed operation; not the
      // client's internal steps around each one (serialize, compile, the transaction's BEGIN and
      // COMMIT), which doubled the spans per handler for nothing an operator reads.
      new PrismaInstrumentation({ ignoreSpanTypes: prismaInternalSpans }),
    ],
  });
  sdk.start();
}

/** Flushes and stops; called when the service shuts down. */
export async function stopTelemetry(): Promise<void> {
  await sdk?.shutdown().catch(() => undefined);
  sdk = undefined;
}

/** Flushes the spans still buffered when the service shuts down. */
@Injectable()
export class TelemetryShutdown implements OnApplicationShutdown {
  async onApplicationShutdown(): Promise<void> {
    await stopTelemetry();
  }
}
