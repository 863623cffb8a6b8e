import { Module } from '@nestjs/common';
import { validationPipe } from '@soundgood/eventing';
import { FindStudentsHttpController } from './find-students/find-students.http.controller.js';
import { FindStudentsService } from './find-students/find-students.service.js';
import { RegisterStudentHttpController } from './register-student/register-student.http.controller.js';
import { RegisterStudentService } from './register-student/register-student.service.js';
import { ReleaseSlotEventController } from './release-slot/release-slot.event.controller.js';
import { ReleaseSlotService } from './release-slot/release-slot.service.js';
import { ReserveSlotEventController } from './reserve-slot/reserve-slot.event.controller.js';
import { ReserveSlotService } from './reserve-slot/reserve-slot.service.js';

/** The student registry (HTTP) and the rental quota (the slot commands of the rent-instrument saga). */
@Module({
  controllers: [
    RegisterStudentHttpController,
    FindStudentsHttpController,
    ReserveSlotEventController,
    ReleaseSlotEventController,
  ],
  providers: [
    validationPipe,
    RegisterStudentService,
    FindStudentsService,
    ReserveSlotService,
    ReleaseSlotService,
  ],
})
export class StudentsModule {}
