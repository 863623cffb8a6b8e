import { randomUUID } from 'node:crypto';
import { events } from '@soundgood/event-catalog';
import { createEvent } from '@soundgood/eventing';
import { startTestService, type TestService } from '@soundgood/eventing/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { configSchema } from '../src/config.js';
import { Database } from '../src/database.js';
import { InventoryModule } from '../src/inventory.module.js';

let inventory: TestService<Database>;

beforeAll(async () => {
  inventory = await startTestService({
    service: 'inventory',
    configSchema,
    database: Database,
    module: InventoryModule,
  });
});

afterAll(async () => {
  await inventory?.stop();
});

async function newInstrument(type = 'guitar', monthlyFeeCents = 2500): Promise<string> {
  const id = randomUUID();
  await inventory.db.instrument.create({
    data: { id, type, brand: 'Yamaha', monthlyFeeCents, currency: 'EUR' },
  });
  return id;
}

const studentId = randomUUID();
const reserve = (instrumentId: string, rentalId = randomUUID()) =>
  createEvent(events.reserveInstrument, { rentalId, studentId, instrumentId }, { partitionKey: rentalId });
const release = (instrumentId: string, rentalId: string) =>
  createEvent(events.releaseInstrument, { rentalId, studentId, instrumentId }, { partitionKey: rentalId });

const instrument = (id: string) => inventory.db.instrument.findUniqueOrThrow({ where: { id } });
const reservationsOf = (instrumentId: string) =>
  inventory.db.reservation.findMany({ where: { instrumentId }, orderBy: { createdAt: 'asc' } });

describe('reserve instrument', () => {
  test('holds a free instrument for the rental and answers instrumentReserved with its monthly fee', async () => {
    const instrumentId = await newInstrument('piano', 4900);
    const command = reserve(instrumentId);
    const rentalId = command.partitionkey;

    const { status, reply } = await inventory.send(command);

    expect(status).toBe(200);
    expect(reply?.type).toBe(events.instrumentReserved.type);
    expect(reply?.source).toBe('/soundgood/inventory');
    expect(reply?.partitionkey).toBe(rentalId);
    expect(reply?.data).toEqual({
      rentalId,
      studentId,
      instrumentId,
      monthlyFeeCents: 4900,
      currency: 'EUR',
    });
    expect((await instrument(instrumentId)).rentalId).toBe(rentalId);
    expect(await reservationsOf(instrumentId)).toMatchObject([{ rentalId, studentId, status: 'HELD' }]);
  });

  test('refuses an unknown instrument with UNKNOWN_INSTRUMENT and writes nothing', async () => {
    const instrumentId = randomUUID();
    const { reply } = await inventory.send(reserve(instrumentId));

    expect(reply?.type).toBe(events.instrumentRejected.type);
    expect(reply?.data).toMatchObject({ instrumentId, reason: 'UNKNOWN_INSTRUMENT' });
    expect(await inventory.db.reservation.count({ where: { instrumentId } })).toBe(0);
  });

  test('refuses an instrument held by another rental with ALREADY_RENTED and leaves it to that rental', async () => {
    const instrumentId = await newInstrument();
    const first = reserve(instrumentId);
    await inventory.send(first);

    const second = reserve(instrumentId);
    const { reply } = await inventory.send(second);

    expect(reply?.type).toBe(events.instrumentRejected.type);
    expect(reply?.data).toMatchObject({ rentalId: second.partitionkey, reason: 'ALREADY_RENTED' });
    expect((await instrument(instrumentId)).rentalId).toBe(first.partitionkey);
    expect(await reservationsOf(instrumentId)).toMatchObject([
      { rentalId: first.partitionkey, status: 'HELD' },
    ]);
  });

  test('answers a redelivered event with the same reply and holds one reservation', async () => {
    const instrumentId = await newInstrument();
    const command = reserve(instrumentId);

    const first = await inventory.send(command);
    const again = await inventory.send(command);

    expect(again.status).toBe(200);
    expect(again.reply?.id).toBe(first.reply?.id);
    expect(await reservationsOf(instrumentId)).toHaveLength(1);
  });

  test('answers the same command with a new event id by instrumentReserved again, holding one reservation', async () => {
    const instrumentId = await newInstrument();
    const rentalId = randomUUID();

    const first = await inventory.send(reserve(instrumentId, rentalId));
    const repeated = await inventory.send(reserve(instrumentId, rentalId));

    expect(repeated.reply?.id).not.toBe(first.reply?.id);
    expect(repeated.reply?.type).toBe(events.instrumentReserved.type);
    expect(repeated.reply?.data).toEqual(first.reply?.data);
    expect(await reservationsOf(instrumentId)).toMatchObject([{ rentalId, status: 'HELD' }]);
  });

  test('refuses a reserve that arrives after the release of its rental with ALREADY_RELEASED, leaving the instrument free', async () => {
    const instrumentId = await newInstrument();
    const rentalId = randomUUID();

    expect((await inventory.send(release(instrumentId, rentalId))).reply?.type).toBe(
      events.instrumentReleased.type,
    );
    const { reply } = await inventory.send(reserve(instrumentId, rentalId));

    expect(reply?.type).toBe(events.instrumentRejected.type);
    expect(reply?.data).toMatchObject({ rentalId, reason: 'ALREADY_RELEASED' });
    expect((await instrument(instrumentId)).rentalId).toBeNull();
    expect(await reservationsOf(instrumentId)).toMatchObject([{ rentalId, status: 'RELEASED' }]);
  });

  test('gives the last free instrument to exactly one of two rentals racing for it', async () => {
    const instrumentIds = await Promise.all(Array.from({ length: 5 }, () => newInstrument()));

    for (const instrumentId of instrumentIds) {
      const [a, b] = await Promise.all([
        inventory.send(reserve(instrumentId)),
        inventory.send(reserve(instrumentId)),
      ]);
      const replies = [a.reply, b.reply];
      const winners = replies.filter((reply) => reply?.type === events.instrumentReserved.type);
      const losers = replies.filter((reply) => reply?.type === events.instrumentRejected.type);
      expect(winners).toHaveLength(1);
      expect(losers.map((reply) => (reply?.data as { reason?: string } | undefined)?.reason)).toEqual([
        'ALREADY_RENTED',
      ]);
      const winner = winners[0]?.partitionkey;
      expect((await instrument(instrumentId)).rentalId).toBe(winner);
      expect(await reservationsOf(instrumentId)).toMatchObject([{ rentalId: winner, status: 'HELD' }]);
    }
  });

  test('refuses with 422 a rental that asks for a second instrument, keeping the first', async () => {
    const held = await newInstrument();
    const other = await newInstrument();
    const rentalId = randomUUID();
    await inventory.send(reserve(held, rentalId));

    const { status, error } = await inventory.send(reserve(other, rentalId));

    expect(status).toBe(422);
    expect(error).toContain(held);
    expect((await instrument(other)).rentalId).toBeNull();
    expect((await instrument(held)).rentalId).toBe(rentalId);
  });
});

describe('release instrument', () => {
  test('frees the instrument, so that another rental may reserve it', async () => {
    const instrumentId = await newInstrument();
    const rentalId = randomUUID();
    await inventory.send(reserve(instrumentId, rentalId));

    const { status, reply } = await inventory.send(release(instrumentId, rentalId));

    expect(status).toBe(200);
    expect(reply?.type).toBe(events.instrumentReleased.type);
    expect(reply?.partitionkey).toBe(rentalId);
    expect(reply?.data).toEqual({ rentalId, studentId, instrumentId });
    expect((await instrument(instrumentId)).rentalId).toBeNull();
    const [reservation] = await reservationsOf(instrumentId);
    expect(reservation?.status).toBe('RELEASED');
    expect(reservation?.releasedAt).toBeInstanceOf(Date);
    expect((await inventory.send(reserve(instrumentId))).reply?.type).toBe(events.instrumentReserved.type);
  });

  test('is idempotent: a second release answers instrumentReleased and changes nothing', async () => {
    const instrumentId = await newInstrument();
    const rentalId = randomUUID();
    await inventory.send(reserve(instrumentId, rentalId));
    await inventory.send(release(instrumentId, rentalId));
    const before = await reservationsOf(instrumentId);

    const { reply } = await inventory.send(release(instrumentId, rentalId));

    expect(reply?.type).toBe(events.instrumentReleased.type);
    expect(await reservationsOf(instrumentId)).toEqual(before);
    expect((await instrument(instrumentId)).rentalId).toBeNull();
  });

  test('leaves the instrument free whichever of a rental’s reserve and release runs first', async () => {
    const instrumentIds = await Promise.all(Array.from({ length: 5 }, () => newInstrument()));

    await Promise.all(
      instrumentIds.map(async (instrumentId) => {
        const rentalId = randomUUID();
        const [reserved, released] = await Promise.all([
          inventory.send(reserve(instrumentId, rentalId)),
          inventory.send(release(instrumentId, rentalId)),
        ]);
        expect([reserved.status, released.status]).toEqual([200, 200]);
      }),
    );

    for (const instrumentId of instrumentIds) {
      expect((await instrument(instrumentId)).rentalId).toBeNull();
      expect(await reservationsOf(instrumentId)).toMatchObject([{ status: 'RELEASED' }]);
    }
  });
});

describe('HTTP API', () => {
  test('adds an instrument with a given id (201) and shows it as available', async () => {
    const id = randomUUID();
    const body = { id, type: 'Saxophone', brand: 'Selmer', monthlyFeeCents: 3900, currency: 'EUR' };

    const created = await inventory.http('POST', '/instruments', body);

    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ ...body, type: 'saxophone', available: true, rentalId: null });
    const shown = await inventory.http('GET', `/instruments/${id}`);
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({ id, type: 'saxophone', available: true });
  });

  test('lists instruments by type and availability', async () => {
    const type = `drums-${randomUUID().slice(0, 8)}`;
    const free = await newInstrument(type);
    const rented = await newInstrument(type);
    await newInstrument('violin');
    const rentalId = randomUUID();
    await inventory.send(reserve(rented, rentalId));
    const ids = async (query: string) => {
      const { status, body } = await inventory.http<{ id: string }[]>('GET', `/instruments?${query}`);
      expect(status).toBe(200);
      return body.map((instrument) => instrument.id).sort();
    };

    expect(await ids(`type=${type}`)).toEqual([free, rented].sort());
    expect(await ids(`type=${type}&available=true`)).toEqual([free]);
    expect(await ids(`type=${type.toUpperCase()}&available=false`)).toEqual([rented]);
    expect(await ids('available=false')).toContain(rented);
    expect(await ids('')).toEqual(expect.arrayContaining([free, rented]));
  });

  test('answers 400 naming each wrong field of a new instrument', async () => {
    const { status, body } = await inventory.http('POST', '/instruments', {
      id: 42,
      type: ' ',
      monthlyFeeCents: 12.5,
      currency: 'euro',
    });

    expect(status).toBe(400);
    expect((body.errors as { field: string }[]).map((error) => error.field)).toEqual([
      'id',
      'type',
      'brand',
      'monthlyFeeCents',
      'currency',
    ]);
  });

  test('answers 400 naming a wrong filter and a malformed id', async () => {
    const filter = await inventory.http('GET', '/instruments?available=maybe');
    expect(filter.status).toBe(400);
    expect(filter.body.errors).toEqual([{ field: 'available', message: expect.any(String) }]);

    const malformed = await inventory.http('GET', '/instruments/42');
    expect(malformed.status).toBe(400);
    expect(malformed.body.errors).toEqual([{ field: 'id', message: expect.any(String) }]);
  });

  test('answers 404 for an unknown instrument', async () => {
    expect((await inventory.http('GET', `/instruments/${randomUUID()}`)).status).toBe(404);
  });

  test('answers 409 for an id that exists already', async () => {
    const id = await newInstrument();
    const { status, body } = await inventory.http('POST', '/instruments', {
      id,
      type: 'guitar',
      brand: 'Fender',
      monthlyFeeCents: 1000,
      currency: 'EUR',
    });

    expect(status).toBe(409);
    expect(body.message).toContain(id);
  });
});
