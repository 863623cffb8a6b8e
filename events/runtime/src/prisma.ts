import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import type { BaseConfig } from './config.js';
import type { EventingDatabase } from './database.js';
import { CONFIG } from './tokens.js';

// biome-ignore lint/suspicious/noExplicitAny: mixin base classes must take any[] (TS2545)
type PrismaClientClass = new (...args: any[]) => EventingDatabase;

/**
 * Names every distinct SQL text (the first `limit` of them) once per process, for the driver
 * adapter's `statementNameGenerator`: `pg` then prepares a statement once per connection and
 * afterwards only binds and executes it, so PostgreSQL parses and analyses it once per connection
 * instead of on every run, and may keep its plan. A text past the limit runs unnamed, as every
 * query did before, so that texts that vary (a multi-row INSERT, an `IN` list) cannot fill the
 * server's memory with prepared statements. A statement is tied to its connection: a new connection
 * prepares it again, and PostgreSQL re-plans it itself after a schema change.
 */
export function statementNames(limit = 1_000): (query: { sql: string }) => string | undefined {
  const names = new Map<string, string>();
  return ({ sql }) => {
    let name = names.get(sql);
    if (name === undefined && names.size < limit) {
      name = `soundgood_${names.size + 1}`;
      names.set(sql, name);
    }
    return name;
  };
}

/**
 * A service's database: its generated PrismaClient on the `pg` driver adapter, connected to
 * DATABASE_URL, its statements prepared once per connection (statementNames), disconnected after
 * everything else has shut down.
 *
 *   export class Database extends databaseFor(PrismaClient) {}
 */
export function databaseFor<C extends PrismaClientClass>(PrismaClient: C) {
  @Injectable()
  class Database extends PrismaClient implements OnApplicationShutdown {
    // biome-ignore lint/suspicious/noExplicitAny: a mixin constructor must take any[] (TS2545)
    constructor(...args: any[]) {
      // The adapter's type says a name is always given; undefined runs a statement unnamed, as without it.
      const options = { statementNameGenerator: statementNames() } as ConstructorParameters<
        typeof PrismaPg
      >[1];
      super({ adapter: new PrismaPg({ connectionString: (args[0] as BaseConfig).DATABASE_URL }, options) });
    }

    async onApplicationShutdown(): Promise<void> {
      await this.$disconnect();
    }
  }
  Inject(CONFIG)(Database, undefined, 0);
  // Typed as the service's own client, so that its transactions have the service's models.
  return Database as unknown as C;
}

/** A unique constraint refused the write (Prisma's P2002), e.g. a duplicate id or e-mail. */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof Error && (error as { code?: unknown }).code === 'P2002';
}

/**
 * Prisma's codes for a database it cannot reach or lost (https://www.prisma.io/docs/orm/reference/error-reference):
 * P1001 not reachable, P1008 timed out, P1017 connection closed, P2024 no connection from the pool in
 * time, P2028 a transaction that could not start or was cut off.
 */
const unavailableCodes = new Set(['P1001', 'P1008', 'P1017', 'P2024', 'P2028']);
/**
 * What the `pg` driver and PostgreSQL say then: the socket refused or reset, and SQLSTATE class 08
 * (connection exception) and 57P01-57P03 (the server shutting down, or not accepting connections yet).
 */
const unavailableDriverCodes = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|08\w{3}|57P0[123])$/;
/** The driver adapter's kinds for the same (@prisma/adapter-pg's convertDriverError). */
const unavailableKinds = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
]);
/**
 * Where only the message is left of it; pg's "Client has encountered a connection error and is not
 * queryable" (no code) is what a transaction gets once the server ended its connection.
 */
const unavailableMessages =
  /Connection terminated|is not queryable|Can't reach database server|terminating connection due to administrator command|the database system is (starting up|shutting down|in recovery mode)/;

/**
 * The database is away (down, restarting, unreachable), not the request at fault: a 503 to the
 * caller, who may retry. Looks through the error's `cause` chain, where the driver adapter keeps the
 * driver's own error.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let at = error, depth = 0; at && typeof at === 'object' && depth < 5; depth++) {
    const { code, kind, message } = at as { code?: unknown; kind?: unknown; message?: unknown };
    if (typeof code === 'string' && (unavailableCodes.has(code) || unavailableDriverCodes.test(code)))
      return true;
    if (typeof kind === 'string' && unavailableKinds.has(kind)) return true;
    if (typeof message === 'string' && unavailableMessages.test(message)) return true;
    at = (at as { cause?: unknown }).cause;
  }
  return false;
}
