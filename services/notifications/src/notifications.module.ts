import { Module } from '@nestjs/common';
import { validationPipe } from '@soundgood/eventing';
import { FindNotificationsHttpController } from './find-notifications/find-notifications.http.controller.js';
import { FindNotificationsService } from './find-notifications/find-notifications.service.js';
import { LoggingChannel } from './notification-channel/logging-channel.adapter.js';
import { NotificationChannel } from './notification-channel/notification-channel.port.js';
import { NotifyStudentEventController } from './notify-student/notify-student.event.controller.js';
import { NotifyStudentService } from './notify-student/notify-student.service.js';

/** Tells students the outcome of their rentals (events) and shows what was sent (HTTP). */
@Module({
  controllers: [FindNotificationsHttpController, NotifyStudentEventController],
  providers: [
    validationPipe,
    { provide: NotificationChannel, useClass: LoggingChannel },
    NotifyStudentService,
    FindNotificationsService,
  ],
})
export class NotificationsModule {}
