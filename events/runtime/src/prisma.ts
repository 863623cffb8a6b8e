import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import type { BaseConfig } from './config.js';
import type { EventingDatabase } from './database.js';
import { CONFIG } from './tokens.js';

// biome-ignore lint/suspicious/noExplicitAny: mixin base classes must take any[] (TS2545)
type PrismaClientClass = new (...args: any[]) => EventingDatabase;

/**
 * A service's database: its generated PrismaClient on the `pg` driver adapter, connected to
 * DATABASE_URL, disconnected after everything else has shut down.
 *
 *   export class Database extends databaseFor(PrismaClient) {}
 */
export function databaseFor<C extends PrismaClientClass>(PrismaClient: C) {
  @Injectable()
  class Database extends PrismaClient implements OnApplicationShutdown {
    // biome-ignore lint/suspicious/noExplicitAny: a mixin constructor must take any[] (TS2545)
    constructor(...args: any[]) {
      super({ adapter: new PrismaPg({ connectionString: (args[0] as BaseConfig).DATABASE_URL }) });
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
