import { Injectable, NotFoundException } from '@nestjs/common';
import { Database } from '../database.js';
import type { SagaStatus } from '../generated/prisma/client.js';

export const sagaFilters = ['in-flight', 'stuck', 'failed', 'completed', 'rejected'] as const;
export type SagaFilter = (typeof sagaFilters)[number];

const day = (date: Date | null) => date?.toISOString().slice(0, 10) ?? null;

@Injectable()
export class InspectRentalsService {
  constructor(private readonly database: Database) {}

  /** The rental, its saga and the saga's history: each step attempt with its times and outcome. */
  async rental(id: string) {
    const rental = await this.database.rental.findUnique({
      where: { id },
      include: { saga: { include: { history: { orderBy: { id: 'asc' } } } } },
    });
    if (!rental) throw new NotFoundException(`rental ${id} not found`);
    const { saga, idempotencyKey: _key, ...fields } = rental;
    return {
      ...fields,
      traceId: saga?.traceparent?.split('-')[1] ?? null,
      startsOn: day(rental.startsOn),
      endsOn: day(rental.endsOn),
      saga: saga && {
        status: saga.status,
        step: saga.step,
        stepAttempts: saga.stepAttempts,
        deadlineAt: saga.deadlineAt,
        failureReason: saga.failureReason,
        failureMessage: saga.failureMessage,
        history: saga.history.map(({ id: _id, rentalId: _rental, ...step }) => step),
      },
    };
  }

  /** Sagas by state, stalest first. Stuck: in flight and past the current step's deadline. */
  async sagas(filter: SagaFilter, limit: number) {
    const statuses: Record<SagaFilter, SagaStatus[]> = {
      'in-flight': ['RUNNING', 'COMPENSATING'],
      stuck: ['RUNNING', 'COMPENSATING'],
      failed: ['FAILED'],
      completed: ['COMPLETED'],
      rejected: ['REJECTED'],
    };
    const sagas = await this.database.saga.findMany({
      where: {
        status: { in: statuses[filter] },
        ...(filter === 'stuck' ? { deadlineAt: { lt: new Date() } } : {}),
      },
      orderBy: { updatedAt: 'asc' },
      take: limit,
    });
    return sagas.map(({ version: _version, traceparent, ...saga }) => ({
      ...saga,
      traceId: traceparent?.split('-')[1] ?? null,
    }));
  }
}
