import { databaseFor } from '@soundgood/eventing';
import { type Prisma, PrismaClient } from './generated/prisma/client.js';

export class Database extends databaseFor(PrismaClient) {}

/** The open transaction an event handler writes in (`ctx.tx`). */
export type Tx = Prisma.TransactionClient;
