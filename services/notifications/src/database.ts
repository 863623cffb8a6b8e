import { databaseFor } from '@soundgood/eventing';
import { Prisma, PrismaClient } from './generated/prisma/client.js';

export class Database extends databaseFor(PrismaClient) {}

/** The open transaction an event handler writes in (`ctx.tx`). */
export type Tx = Prisma.TransactionClient;

export function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
}
