import { type DynamicModule, Logger, Module, type Type } from '@nestjs/common';
import type { ServiceName } from '@soundgood/event-catalog';
import type { BaseConfig } from './config.js';
import { EVENTING_DATABASE, type EventingDatabase } from './database.js';
import { HealthController } from './health/health.controller.js';
import { EventingMetrics } from './metrics.js';
import { Outbox } from './outbox/outbox.js';
import { EventingServer } from './server.js';
import { TelemetryShutdown } from './telemetry/telemetry.js';
import { CONFIG } from './tokens.js';

export interface EventingModuleOptions {
  service: ServiceName;
  config: BaseConfig;
  /** The service's PrismaClient subclass; provided here so that everything shares one instance. */
  database: Type<EventingDatabase>;
}

/** Global: the service's modules inject CONFIG, their database class, Outbox and EventingMetrics. */
@Module({})
export class EventingModule {
  static forRoot(options: EventingModuleOptions): DynamicModule {
    return {
      module: EventingModule,
      global: true,
      controllers: [HealthController],
      providers: [
        { provide: CONFIG, useValue: options.config },
        options.database,
        { provide: EVENTING_DATABASE, useExisting: options.database },
        { provide: EventingMetrics, useValue: new EventingMetrics(options.service) },
        Outbox,
        TelemetryShutdown,
        {
          provide: EventingServer,
          inject: [EVENTING_DATABASE, Outbox, EventingMetrics],
          useFactory: (database: EventingDatabase, outbox: Outbox, metrics: EventingMetrics) =>
            new EventingServer({
              service: options.service,
              config: options.config,
              database,
              outbox,
              metrics,
              logger: new Logger('Eventing'),
            }),
        },
      ],
      exports: [CONFIG, options.database, EVENTING_DATABASE, EventingMetrics, Outbox, EventingServer],
    };
  }
}
