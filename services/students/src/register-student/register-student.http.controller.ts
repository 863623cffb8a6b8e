import { Body, Controller, Post } from '@nestjs/common';
import { Roles } from '@soundgood/eventing';
import { z } from 'zod';
import type { StudentView } from '../find-students/find-students.service.js';
import { RegisterStudentService } from './register-student.service.js';

const registerStudentBody = z.object({
  id: z.uuid().optional(),
  name: z.string().trim().min(1),
  email: z.email().transform((email) => email.toLowerCase()),
});

@Controller('students')
export class RegisterStudentHttpController {
  constructor(private readonly service: RegisterStudentService) {}

  @Post()
  @Roles('staff')
  register(
    @Body({ schema: registerStudentBody }) body: z.infer<typeof registerStudentBody>,
  ): Promise<StudentView> {
    return this.service.register(body);
  }
}
