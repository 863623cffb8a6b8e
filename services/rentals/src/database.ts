import { databaseFor } from '@soundgood/eventing';
import { Prisma, PrismaClient } from './generated/prisma/client.js';

export class Database extends databaseFor(PrismaClient) {}

export type Tx = Prisma.TransactionClient;

export function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
}
