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
import { type DevIssuer, startDevIssuer } from './auth/dev-issuer.js';
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
  /** The issuer whose tokens the service accepts: `issuer.student(id)`, `issuer.staff()`. */
  issuer: DevIssuer;
  /** POSTs the event to /events in binary content mode, as a Knative Trigger does. */
  send(event: CloudEvent<unknown>): Promise<PostResult>;
  /**
   * Calls the HTTP API, as staff unless `as` says otherwise: a token (e.g. `issuer.student(id)`),
   * or null for no Authorization header.
   */
  http<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    options?: { as?: string | null; headers?: Record<string, string> },
  ): Promise<{ status: number; body: T; headers: Headers }>;
  stop(): Promise<void>;
}

export async function startTestService<Db extends EventingDatabase>(options: {
  service: ServiceName;
  configSchema: z.ZodType<BaseConfig>;
  database: Type<Db>;
  module: Type;
  env?: Record<string, string>;
  /** Shared between services of one test; by default one of its own, closed by stop(). */
  issuer?: DevIssuer;
}): Promise<TestService<Db>> {
  const serverUrl = requireEnv('DATABASE_URL');
  const databaseName = `${options.service}_test_${randomUUID().slice(0, 8)}`;
  const databaseUrl = await prepareServiceDatabase(serverUrl, options.service, databaseName);
  const broker = await startFakeBroker();
  const port = await freePort();
  const issuer = options.issuer ?? (await startDevIssuer());
  const staffToken = await issuer.staff({ expiresIn: 24 * 3600 });
  const config = loadConfig(options.configSchema, {
    ...issuer.env,
    // Tests that create many rentals as staff; the rate-limit test sets its own.
    RATE_LIMIT: '10000',
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
    issuer,
    send: (event) => postEvent(`${baseUrl}/events`, event),
    async http<T>(
      method: string,
      path: string,
      body?: unknown,
      callOptions: { as?: string | null; headers?: Record<string, string> } = {},
    ) {
      const token = callOptions.as === undefined ? staffToken : callOptions.as;
      const response = await fetch(`${baseUrl}${path}`, {
        method,
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(token === null ? {} : { authorization: `Bearer ${token}` }),
          ...callOptions.headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      return {
        status: response.status,
        body: (text ? JSON.parse(text) : undefined) as T,
        headers: response.headers,
      };
    },
    async stop() {
      await app.close();
      await broker.close();
      if (!options.issuer) await issuer.close();
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
