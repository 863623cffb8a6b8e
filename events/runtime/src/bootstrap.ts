import 'reflect-metadata';
import {
  type ArgumentsHost,
  Catch,
  type HttpServer,
  type INestApplication,
  type LoggerService,
  type LogLevel,
  type RpcExceptionFilter,
  ServiceUnavailableException,
  type Type,
} from '@nestjs/common';
import { BaseExceptionFilter, NestFactory } from '@nestjs/core';
import type { ServiceName } from '@soundgood/event-catalog';
import express from 'express';
import { type Observable, throwError } from 'rxjs';
import { type BaseConfig, ConfigError } from './config.js';
import type { EventingDatabase } from './database.js';
import { EventingModule } from './eventing.module.js';
import { ConnectionsCloseOnStop } from './health/connections.js';
import { knativeReceiver } from './knative/knative.receiver.js';
import { EventingMetrics } from './metrics.js';
import { isDatabaseUnavailable } from './prisma.js';
import { EventingServer } from './server.js';
import { TracingLogger } from './telemetry/logger.js';

export interface ServiceOptions {
  service: ServiceName;
  config: BaseConfig;
  database: Type<EventingDatabase>;
  /** The service's own module: its controllers, event controllers and providers. */
  module: Type;
}

const levels: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];
const levelIndex = { error: 1, warn: 2, info: 3, debug: 4 } as const;

/** Hands handler errors to the dispatcher as they are, so it can tell invalid from transient. */
@Catch()
class PassThroughRpcErrors implements RpcExceptionFilter<unknown> {
  catch(exception: unknown, _host: ArgumentsHost): Observable<never> {
    return throwError(() => exception);
  }
}

/**
 * An HTTP request that failed because the database is away (down, restarting) gets a 503 with
 * Retry-After, not a 500: the request was fine and may be sent again. Every other error is Nest's.
 */
@Catch()
class DatabaseUnavailable extends BaseExceptionFilter {
  constructor(
    adapter: HttpServer,
    private readonly logger: LoggerService,
  ) {
    super(adapter);
  }

  override catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http' || !isDatabaseUnavailable(exception)) {
      super.catch(exception, host);
      return;
    }
    const { method, originalUrl } = host.switchToHttp().getRequest<express.Request>();
    this.logger.warn?.(
      `${method} ${originalUrl}: 503, the database is unavailable: ${(exception as Error).message}`,
    );
    host.switchToHttp().getResponse<express.Response>().setHeader('Retry-After', '1');
    super.catch(new ServiceUnavailableException('the database is unavailable; retry later'), host);
  }
}

/**
 * Starts a Soundgood service: its HTTP API, its event transport (and `/events` on Knative), the
 * outbox relay, `/healthz` and `/readyz`, and metrics on their own port. SIGTERM and SIGINT close
 * it gracefully: not ready, each response closes its connection, the HTTP server closes once the
 * requests in hand are answered, then the transport stops taking events, finishes those in hand and
 * flushes the outbox, then the database disconnects.
 */
export async function runService(options: ServiceOptions): Promise<INestApplication> {
  const { config, service } = options;
  if (!config.OIDC_ISSUER || !config.OIDC_AUDIENCE) {
    throw new ConfigError(
      'invalid configuration:\n  OIDC_ISSUER and OIDC_AUDIENCE: required: the HTTP API accepts only bearer tokens of that issuer (docs/security.md)',
    );
  }
  const logger = new TracingLogger(service, {
    json: true,
    logLevels: levels.slice(0, levelIndex[config.LOG_LEVEL] + 1),
  });
  const app = await NestFactory.create(
    { module: class SoundgoodService {}, imports: [EventingModule.forRoot(options), options.module] },
    { logger, bufferLogs: true },
  );
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  app.useGlobalFilters(new DatabaseUnavailable(app.getHttpAdapter(), logger));

  app.use(app.get(ConnectionsCloseOnStop).middleware);
  const metrics = app.get(EventingMetrics);
  app.use((req: express.Request, res: express.Response, next: express.NextFunction) => {
    const started = performance.now();
    res.on('finish', () => {
      metrics.httpDuration.observe(
        {
          http_request_method: req.method,
          // The route template, not the path: one series per endpoint, not per id.
          http_route: req.route?.path ? `${req.baseUrl}${req.route.path}` : req.baseUrl || 'unmatched',
          http_response_status_code: res.statusCode,
        },
        (performance.now() - started) / 1000,
      );
    });
    next();
  });

  const server = app.get(EventingServer);
  if (config.EVENT_TRANSPORT === 'knative') {
    // Raw body: binary content mode may carry any content type.
    app.use(
      '/events',
      express.raw({ type: () => true, limit: '1mb' }),
      knativeReceiver(server.dispatcher, logger),
    );
  }
  // Deferred, so that the filter is in place before the handlers are wrapped.
  const microservice = app.connectMicroservice({ strategy: server }, { deferInitialization: true });
  microservice.useGlobalFilters(new PassThroughRpcErrors());

  const metricsServer = await metrics.serve(config.METRICS_PORT);
  app.getHttpServer().on('close', () => metricsServer.close());

  await app.startAllMicroservices();
  await app.listen(config.PORT);
  logger.log(
    `${service} listening on :${config.PORT} (metrics :${config.METRICS_PORT}, ${config.EVENT_TRANSPORT})`,
  );
  return app;
}
