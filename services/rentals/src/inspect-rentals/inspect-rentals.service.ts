import { Injectable, NotFoundException } from '@nestjs/common';
import { Database } from '../database.js';
import type { SagaStatus } from '../generated/prisma/client.js';
import { RentalLifecycleService } from '../rental-lifecycle/rental-lifecycle.service.js';

export const sagaFilters = ['in-flight', 'stuck', 'failed', 'completed', 'rejected', 'ended'] as const;
export type SagaFilter = (typeof sagaFilters)[number];

const day = (date: Date | null) => date?.toISOString().slice(0, 10) ?? null;

@Injectable()
export class InspectRentalsService {
  constructor(
    private readonly database: Database,
    private readonly lifecycle: RentalLifecycleService,
  ) {}

  /** The rental, its saga and the saga's history: each step attempt with its times and outcome. */
  async rental(id: string) {
    const rental = await this.database.rental.findUnique({
      where: { id },
      include: {
        saga: { include: { history: { orderBy: { id: 'asc' } } } },
        billingMonths: { orderBy: { month: 'asc' } },
      },
    });
    if (!rental) throw new NotFoundException(`rental ${id} not found`);
    const { saga, idempotencyKey: _key, billingMonths, ...fields } = rental;
    const months = billingMonths.map((m) => ({
      month: m.month,
      dueOn: day(m.dueOn),
      status: m.status,
      attempts: m.attempts,
      reason: m.reason,
    }));
    return {
      ...fields,
      traceId: saga?.traceparent?.split('-')[1] ?? null,
      startsOn: day(rental.startsOn),
      endsOn: day(rental.endsOn),
      months,
      arrears: this.lifecycle.arrears(rental, billingMonths),
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
      'in-flight': ['RUNNING', 'COMPENSATING', 'ENDING'],
      stuck: ['RUNNING', 'COMPENSATING', 'ENDING'],
      failed: ['FAILED'],
      completed: ['COMPLETED'],
      rejected: ['REJECTED'],
      ended: ['ENDED'],
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
