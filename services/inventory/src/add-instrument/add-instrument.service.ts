import { ConflictException, Injectable } from '@nestjs/common';
import { isUniqueViolation } from '@soundgood/eventing';
import { Database } from '../database.js';
import { type InstrumentView, toInstrumentView } from '../find-instruments/find-instruments.service.js';

export interface NewInstrument {
  /** Given by seed data that needs stable ids; generated otherwise. */
  id?: string;
  type: string;
  brand: string;
  monthlyFeeCents: number;
  currency: string;
}

@Injectable()
export class AddInstrumentService {
  constructor(private readonly database: Database) {}

  async add(instrument: NewInstrument): Promise<InstrumentView> {
    try {
      return toInstrumentView(await this.database.instrument.create({ data: instrument }));
    } catch (error) {
      if (isUniqueViolation(error))
        throw new ConflictException(`an instrument with id ${instrument.id} exists already`);
      throw error;
    }
  }
}
