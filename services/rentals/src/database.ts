import { databaseFor } from '@soundgood/eventing';
import { type Prisma, PrismaClient } from './generated/prisma/client.js';

export class Database extends databaseFor(PrismaClient) {}

export type Tx = Prisma.TransactionClient;
