/**
 * What the runtime needs of a service's Prisma client: raw SQL inside the service's own transactions.
 * The outbox and inbox tables are the same in every service (prisma/<service>/schema.prisma).
 */
export interface SqlExecutor {
  $executeRawUnsafe(query: string, ...values: unknown[]): PromiseLike<number>;
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): PromiseLike<T>;
}

export interface EventingDatabase<Tx extends SqlExecutor = SqlExecutor> extends SqlExecutor {
  $transaction<R>(fn: (tx: Tx) => Promise<R>, options?: { maxWait?: number; timeout?: number }): Promise<R>;
  $disconnect(): Promise<void>;
}

/** Nest injection token of the service's database (its PrismaClient). */
export const EVENTING_DATABASE = Symbol('EVENTING_DATABASE');
