import { ConflictException, Injectable } from '@nestjs/common';
import { isUniqueViolation } from '@soundgood/eventing';
import { Database } from '../database.js';
import type { StudentView } from '../find-students/find-students.service.js';

export interface NewStudent {
  /** Given by seed data that needs stable ids; generated otherwise. */
  id?: string;
  name: string;
  email: string;
}

@Injectable()
export class RegisterStudentService {
  constructor(private readonly database: Database) {}

  async register(student: NewStudent): Promise<StudentView> {
    try {
      const created = await this.database.student.create({ data: student });
      return { ...created, activeRentals: 0 };
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      const taken = await this.database.student.findFirst({
        where: { OR: [{ email: student.email }, ...(student.id ? [{ id: student.id }] : [])] },
      });
      throw new ConflictException(
        taken?.email === student.email
          ? `a student with email ${student.email} is registered already`
          : `a student with id ${student.id} is registered already`,
      );
    }
  }
}
