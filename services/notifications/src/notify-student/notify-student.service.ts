import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { Tx } from '../database.js';
import type { NotificationKind } from '../generated/prisma/client.js';
import { NotificationChannel } from '../notification-channel/notification-channel.port.js';

export interface StudentNotice {
  /** The CloudEvent notified about. */
  eventId: string;
  studentId: string;
  rentalId: string;
  kind: NotificationKind;
  message: string;
}

@Injectable()
export class NotifyStudentService {
  constructor(private readonly channel: NotificationChannel) {}

  /**
   * Records the notification and sends it, once per event. Sending happens inside the transaction:
   * if the send fails nothing is recorded and the event is retried; if the commit fails after a
   * send, the retry sends again (at least once).
   */
  async notify(tx: Tx, { eventId, studentId, rentalId, kind, message }: StudentNotice): Promise<void> {
    const id = randomUUID();
    const { count } = await tx.notification.createMany({
      data: [{ id, eventId, studentId, rentalId, kind, message, channel: this.channel.name }],
      skipDuplicates: true,
    });
    if (count === 0) return;
    await this.channel.send({ id, studentId, rentalId, kind, message });
  }
}
