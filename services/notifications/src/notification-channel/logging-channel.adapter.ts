import { Logger } from '@nestjs/common';
import { NotificationChannel, type OutgoingNotification } from './notification-channel.port.js';

/** The default channel: one JSON log line per notification, for a person or a log pipeline to read. */
export class LoggingChannel extends NotificationChannel {
  readonly name = 'log';
  private readonly logger = new Logger('Notifications');

  async send(notification: OutgoingNotification): Promise<void> {
    this.logger.log({ notification });
  }
}
