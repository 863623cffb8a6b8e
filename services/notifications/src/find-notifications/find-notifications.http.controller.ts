import { Controller, Get, Param } from '@nestjs/common';
import { StudentOrStaff } from '@soundgood/eventing';
import { z } from 'zod';
import type { Notification } from '../generated/prisma/client.js';
import { FindNotificationsService } from './find-notifications.service.js';

const studentPath = z.object({ id: z.uuid() });

@Controller('students')
export class FindNotificationsHttpController {
  constructor(private readonly service: FindNotificationsService) {}

  @Get(':id/notifications')
  @StudentOrStaff('id')
  ofStudent(@Param({ schema: studentPath }) { id }: z.infer<typeof studentPath>): Promise<Notification[]> {
    return this.service.ofStudent(id);
  }
}
