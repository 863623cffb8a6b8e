import type { NotificationKind } from '../generated/prisma/client.js';

export interface OutgoingNotification {
  id: string;
  studentId: string;
  rentalId: string;
  kind: NotificationKind;
  message: string;
}

/** How a notification reaches the student (e-mail, push, ...). A thrown error is retried. */
export abstract class NotificationChannel {
  /** Recorded with every notification sent through the channel. */
  abstract readonly name: string;
  abstract send(notification: OutgoingNotification): Promise<void>;
}
