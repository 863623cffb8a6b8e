import { Injectable, NotFoundException } from '@nestjs/common';
import { Database } from '../database.js';
import type { Instrument } from '../generated/prisma/client.js';

export interface InstrumentView {
  id: string;
  type: string;
  brand: string;
  monthlyFeeCents: number;
  currency: string;
  available: boolean;
  /** The rental holding the instrument, if any. */
  rentalId: string | null;
  createdAt: Date;
}

export interface InstrumentFilter {
  type?: string;
  available?: boolean;
}

export function toInstrumentView(instrument: Instrument): InstrumentView {
  return { ...instrument, available: instrument.rentalId === null };
}

@Injectable()
export class FindInstrumentsService {
  constructor(private readonly database: Database) {}

  async list({ type, available }: InstrumentFilter): Promise<InstrumentView[]> {
    const instruments = await this.database.instrument.findMany({
      where: {
        ...(type === undefined ? {} : { type }),
        ...(available === undefined ? {} : { rentalId: available ? null : { not: null } }),
      },
      orderBy: [{ type: 'asc' }, { brand: 'asc' }, { id: 'asc' }],
    });
    return instruments.map(toInstrumentView);
  }

  async get(id: string): Promise<InstrumentView> {
    const instrument = await this.database.instrument.findUnique({ where: { id } });
    if (!instrument) throw new NotFoundException(`no instrument with id ${id}`);
    return toInstrumentView(instrument);
  }
}
