import { Module } from '@nestjs/common';
import { validationPipe } from '@soundgood/eventing';
import { AddInstrumentHttpController } from './add-instrument/add-instrument.http.controller.js';
import { AddInstrumentService } from './add-instrument/add-instrument.service.js';
import { FindInstrumentsHttpController } from './find-instruments/find-instruments.http.controller.js';
import { FindInstrumentsService } from './find-instruments/find-instruments.service.js';
import { ReleaseInstrumentEventController } from './release-instrument/release-instrument.event.controller.js';
import { ReleaseInstrumentService } from './release-instrument/release-instrument.service.js';
import { ReserveInstrumentEventController } from './reserve-instrument/reserve-instrument.event.controller.js';
import { ReserveInstrumentService } from './reserve-instrument/reserve-instrument.service.js';

/** The instrument catalogue (HTTP) and reservations (the instrument commands of the rent-instrument saga). */
@Module({
  controllers: [
    AddInstrumentHttpController,
    FindInstrumentsHttpController,
    ReserveInstrumentEventController,
    ReleaseInstrumentEventController,
  ],
  providers: [
    validationPipe,
    AddInstrumentService,
    FindInstrumentsService,
    ReserveInstrumentService,
    ReleaseInstrumentService,
  ],
})
export class InventoryModule {}
