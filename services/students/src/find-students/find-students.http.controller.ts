import { Controller, Get, Param } from '@nestjs/common';
import { Roles, StudentOrStaff } from '@soundgood/eventing';
import { z } from 'zod';
import { FindStudentsService, type StudentView } from './find-students.service.js';

const studentPath = z.object({ id: z.uuid() });

@Controller('students')
export class FindStudentsHttpController {
  constructor(private readonly service: FindStudentsService) {}

  @Get()
  @Roles('staff')
  list(): Promise<StudentView[]> {
    return this.service.list();
  }

  @Get(':id')
  @StudentOrStaff('id')
  get(@Param({ schema: studentPath }) { id }: z.infer<typeof studentPath>): Promise<StudentView> {
    return this.service.get(id);
  }
}
