/**
 * Starts the service in-process as Knative would run it: events POSTed to /events, replies in the
 * response, the broker ingress (K_SINK) played by a fake, and a fresh database of its own.
 */
import { randomUUID } from 'node:crypto';
import type { INestApplication, Type } from '@nestjs/common';
import type { ServiceName } from '@soundgood/event-catalog';
import { prepareServiceDatabase } from '@soundgood/prisma';
import type { CloudEvent } from 'cloudevents';
import pg from 'pg';
import type { z } from 'zod';
import { runService } from './bootstrap.js';
import { type BaseConfig, loadConfig } from './config.js';
import type { EventingDatabase } from './database.js';
import {
  type FakeBroker,
  freePort,
  type PostResult,
  postEvent,
  requireEnv,
  startFakeBroker,
} from './testing.js';

export interface TestService<Db> {
  app: INestApplication;
  /** The service's own database client, to check what the service wrote. */
  db: Db;
  broker: FakeBroker;
  /** POSTs the event to /events in binary content mode, as a Knative Trigger does. */
  send(event: CloudEvent<unknown>): Promise<PostResult>;
  http<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
}

export async function startTestService<Db extends EventingDatabase>(options: {
  service: ServiceName;
  configSchema: z.ZodType<BaseConfig>;
  database: Type<Db>;
  module: Type;
  env?: Record<string, string>;
}): Promise<TestService<Db>> {
  const serverUrl = requireEnv('DATABASE_URL');
  const databaseName = `${options.service}_test_${randomUUID().slice(0, 8)}`;
  const databaseUrl = await prepareServiceDatabase(serverUrl, options.service, databaseName);
  const broker = await startFakeBroker();
  const port = await freePort();
  const config = loadConfig(options.configSchema, {
    DATABASE_URL: databaseUrl,
    EVENT_TRANSPORT: 'knative',
    K_SINK: broker.url,
    PORT: String(port),
    METRICS_PORT: String(await freePort()),
    LOG_LEVEL: 'error',
    ...options.env,
  });
  const app = await runService({
    service: options.service,
    config,
    database: options.database,
    module: options.module,
  });
  const baseUrl = `http://127.0.0.1:${port}`;

  return {
    app,
    db: app.get(options.database),
    broker,
    send: (event) => postEvent(`${baseUrl}/events`, event),
    async http<T>(method: string, path: string, body?: unknown) {
      const response = await fetch(`${baseUrl}${path}`, {
        method,
        ...(body === undefined
          ? {}
          : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      });
      const text = await response.text();
      return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
    },
    async stop() {
      await app.close();
      await broker.close();
      const admin = new pg.Client({ connectionString: serverUrl });
      await admin.connect();
      try {
        await admin.query(`DROP DATABASE IF EXISTS "${databaseName}" WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}
