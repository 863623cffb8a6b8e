import { Injectable, NotFoundException } from '@nestjs/common';
import { Database } from '../database.js';

export interface StudentView {
  id: string;
  name: string;
  email: string;
  createdAt: Date;
  /** Rentals holding one of the student's slots. */
  activeRentals: number;
}

const withActiveRentals = { _count: { select: { slots: { where: { status: 'HELD' as const } } } } };

@Injectable()
export class FindStudentsService {
  constructor(private readonly database: Database) {}

  async list(): Promise<StudentView[]> {
    const students = await this.database.student.findMany({
      include: withActiveRentals,
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    });
    return students.map(({ _count, ...student }) => ({ ...student, activeRentals: _count.slots }));
  }

  async get(id: string): Promise<StudentView> {
    const student = await this.database.student.findUnique({ where: { id }, include: withActiveRentals });
    if (!student) throw new NotFoundException(`no student with id ${id}`);
    const { _count, ...rest } = student;
    return { ...rest, activeRentals: _count.slots };
  }
}
