import { Injectable } from '@nestjs/common';
import { Database } from '../database.js';
import type { Notification } from '../generated/prisma/client.js';

@Injectable()
export class FindNotificationsService {
  constructor(private readonly database: Database) {}

  /** Newest first. A student nobody notified yet simply has none (this service keeps no registry). */
  ofStudent(studentId: string): Promise<Notification[]> {
    return this.database.notification.findMany({
      where: { studentId },
      orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
    });
  }
}
