import { Module } from '@nestjs/common';
import { validationPipe } from '@soundgood/eventing';
import { FindRentalsHttpController } from './find-rentals/find-rentals.http.controller.js';
import { FindRentalsService } from './find-rentals/find-rentals.service.js';
import { InspectRentalsHttpController } from './inspect-rentals/inspect-rentals.http.controller.js';
import { InspectRentalsService } from './inspect-rentals/inspect-rentals.service.js';
import { OpenApiHttpController } from './openapi/openapi.http.controller.js';
import { RentInstrumentEventController } from './rent-instrument/rent-instrument.event.controller.js';
import { RentInstrumentHttpController } from './rent-instrument/rent-instrument.http.controller.js';
import { RentInstrumentSaga } from './rent-instrument/rent-instrument.saga.js';
import { RentInstrumentService } from './rent-instrument/rent-instrument.service.js';
import { SagaDeadlines } from './rent-instrument/saga-deadlines.js';
import { RentalLifecycleService } from './rental-lifecycle/rental-lifecycle.service.js';
import { SchoolDayEventController } from './rental-lifecycle/school-day.event.controller.js';
import { SchoolDaysHttpController } from './rental-lifecycle/school-days.http.controller.js';
import { Clock, SchoolCalendar } from './school-calendar.js';
import { TerminateRentalHttpController } from './terminate-rental/terminate-rental.http.controller.js';
import { TerminateRentalService } from './terminate-rental/terminate-rental.service.js';

/** The public rentals API and the orchestrator of the rent-instrument saga. */
@Module({
  controllers: [
    RentInstrumentHttpController,
    TerminateRentalHttpController,
    InspectRentalsHttpController,
    FindRentalsHttpController,
    SchoolDaysHttpController,
    OpenApiHttpController,
    RentInstrumentEventController,
    SchoolDayEventController,
  ],
  providers: [
    validationPipe,
    RentInstrumentSaga,
    RentInstrumentService,
    SagaDeadlines,
    TerminateRentalService,
    InspectRentalsService,
    FindRentalsService,
    RentalLifecycleService,
    Clock,
    SchoolCalendar,
  ],
})
export class RentalsModule {}
