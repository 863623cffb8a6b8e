import { randomUUID } from 'node:crypto';
import { events } from '@soundgood/event-catalog';
import { createEvent } from '@soundgood/eventing';
import { startTestService, type TestService } from '@soundgood/eventing/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { configSchema } from '../src/config.js';
import { Database } from '../src/database.js';
import { StudentsModule } from '../src/students.module.js';

let students: TestService<Database>;

beforeAll(async () => {
  students = await startTestService({
    service: 'students',
    configSchema,
    database: Database,
    module: StudentsModule,
  });
});

afterAll(async () => {
  await students?.stop();
});

async function newStudent(): Promise<string> {
  const id = randomUUID();
  await students.db.student.create({ data: { id, name: 'Ada Lovelace', email: `${id}@example.test` } });
  return id;
}

const reserve = (studentId: string, rentalId = randomUUID()) =>
  createEvent(events.reserveSlot, { rentalId, studentId }, { partitionKey: rentalId });
const release = (studentId: string, rentalId: string) =>
  createEvent(events.releaseSlot, { rentalId, studentId }, { partitionKey: rentalId });

const slotsOf = (studentId: string) =>
  students.db.rentalSlot.findMany({ where: { studentId }, orderBy: { reservedAt: 'asc' } });

describe('reserve slot', () => {
  test('holds a slot for the rental and answers slotReserved with the active rentals', async () => {
    const studentId = await newStudent();
    const command = reserve(studentId);
    const rentalId = command.partitionkey;

    const { status, reply } = await students.send(command);

    expect(status).toBe(200);
    expect(reply?.type).toBe(events.slotReserved.type);
    expect(reply?.source).toBe('/soundgood/students');
    expect(reply?.partitionkey).toBe(rentalId);
    expect(reply?.data).toEqual({ rentalId, studentId, activeRentals: 1 });
    expect(await slotsOf(studentId)).toMatchObject([{ rentalId, status: 'HELD', releasedAt: null }]);
  });

  test('refuses an unknown student with UNKNOWN_STUDENT and holds nothing', async () => {
    const studentId = randomUUID();
    const { status, reply } = await students.send(reserve(studentId));

    expect(status).toBe(200);
    expect(reply?.type).toBe(events.slotRejected.type);
    expect(reply?.data).toMatchObject({ studentId, reason: 'UNKNOWN_STUDENT' });
    expect(await slotsOf(studentId)).toEqual([]);
  });

  test('refuses a third rental with QUOTA_EXCEEDED and keeps the two slots held', async () => {
    const studentId = await newStudent();
    expect((await students.send(reserve(studentId))).reply?.data).toMatchObject({ activeRentals: 1 });
    expect((await students.send(reserve(studentId))).reply?.data).toMatchObject({ activeRentals: 2 });

    const third = reserve(studentId);
    const { reply } = await students.send(third);

    expect(reply?.type).toBe(events.slotRejected.type);
    expect(reply?.data).toMatchObject({ rentalId: third.partitionkey, reason: 'QUOTA_EXCEEDED' });
    const slots = await slotsOf(studentId);
    expect(slots.map((slot) => slot.status)).toEqual(['HELD', 'HELD']);
    expect(slots.map((slot) => slot.rentalId)).not.toContain(third.partitionkey);
  });

  test('answers a redelivered event with the same reply and holds one slot', async () => {
    const studentId = await newStudent();
    const command = reserve(studentId);

    const first = await students.send(command);
    const again = await students.send(command);

    expect(again.status).toBe(200);
    expect(again.reply?.id).toBe(first.reply?.id);
    expect(again.reply?.data).toEqual(first.reply?.data);
    expect(await slotsOf(studentId)).toHaveLength(1);
  });

  test('answers the same command with a new event id by slotReserved again, without taking a second slot', async () => {
    const studentId = await newStudent();
    const rentalId = randomUUID();

    const first = await students.send(reserve(studentId, rentalId));
    const repeated = await students.send(reserve(studentId, rentalId));

    expect(repeated.reply?.id).not.toBe(first.reply?.id);
    expect(repeated.reply?.type).toBe(events.slotReserved.type);
    expect(repeated.reply?.data).toEqual({ rentalId, studentId, activeRentals: 1 });
    expect(await slotsOf(studentId)).toHaveLength(1);
  });

  test('refuses a reserve that arrives after the release of its rental with ALREADY_RELEASED', async () => {
    const studentId = await newStudent();
    const rentalId = randomUUID();

    const released = await students.send(release(studentId, rentalId));
    expect(released.reply?.type).toBe(events.slotReleased.type);
    const { reply } = await students.send(reserve(studentId, rentalId));

    expect(reply?.type).toBe(events.slotRejected.type);
    expect(reply?.data).toMatchObject({ rentalId, reason: 'ALREADY_RELEASED' });
    expect(await slotsOf(studentId)).toMatchObject([{ rentalId, status: 'RELEASED' }]);
  });

  test('holds exactly two slots when five reserves for one student arrive at once', async () => {
    const studentId = await newStudent();

    const results = await Promise.all(Array.from({ length: 5 }, () => students.send(reserve(studentId))));

    expect(results.map((result) => result.status)).toEqual([200, 200, 200, 200, 200]);
    const types = results.map((result) => result.reply?.type);
    expect(types.filter((type) => type === events.slotReserved.type)).toHaveLength(2);
    const rejected = results.filter((result) => result.reply?.type === events.slotRejected.type);
    expect(rejected.map((result) => (result.reply?.data as { reason?: string } | undefined)?.reason)).toEqual(
      ['QUOTA_EXCEEDED', 'QUOTA_EXCEEDED', 'QUOTA_EXCEEDED'],
    );
    const slots = await slotsOf(studentId);
    expect(slots.map((slot) => slot.status)).toEqual(['HELD', 'HELD']);
  });
});

describe('release slot', () => {
  test('frees the held slot, so that the student may rent again', async () => {
    const studentId = await newStudent();
    const rentalId = randomUUID();
    await students.send(reserve(studentId, rentalId));
    await students.send(reserve(studentId));

    const { status, reply } = await students.send(release(studentId, rentalId));

    expect(status).toBe(200);
    expect(reply?.type).toBe(events.slotReleased.type);
    expect(reply?.partitionkey).toBe(rentalId);
    expect(reply?.data).toEqual({ rentalId, studentId });
    const slot = await students.db.rentalSlot.findUniqueOrThrow({ where: { rentalId } });
    expect(slot.status).toBe('RELEASED');
    expect(slot.releasedAt).toBeInstanceOf(Date);
    expect((await students.send(reserve(studentId))).reply?.data).toMatchObject({ activeRentals: 2 });
  });

  test('is idempotent: a second release answers slotReleased and changes nothing', async () => {
    const studentId = await newStudent();
    const rentalId = randomUUID();
    await students.send(reserve(studentId, rentalId));
    await students.send(release(studentId, rentalId));
    const before = await slotsOf(studentId);

    const { reply } = await students.send(release(studentId, rentalId));

    expect(reply?.type).toBe(events.slotReleased.type);
    expect(await slotsOf(studentId)).toEqual(before);
  });

  test('answers slotReleased for an unknown student without writing a slot', async () => {
    const studentId = randomUUID();
    const { reply } = await students.send(release(studentId, randomUUID()));

    expect(reply?.type).toBe(events.slotReleased.type);
    expect(await slotsOf(studentId)).toEqual([]);
  });
});

describe('HTTP API', () => {
  test('registers a student with a given id (201) and shows it with its active rentals', async () => {
    const id = randomUUID();
    const created = await students.http('POST', '/students', {
      id,
      name: 'Clara Schumann',
      email: 'Clara@Example.test',
    });

    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id,
      name: 'Clara Schumann',
      email: 'clara@example.test',
      activeRentals: 0,
    });

    await students.send(reserve(id));
    const shown = await students.http('GET', `/students/${id}`);
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({ id, email: 'clara@example.test', activeRentals: 1 });
  });

  test('generates the id of a student registered without one', async () => {
    const created = await students.http<{ id: string }>('POST', '/students', {
      name: 'Fanny Mendelssohn',
      email: `${randomUUID()}@example.test`,
    });

    expect(created.status).toBe(201);
    expect(created.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await students.db.student.count({ where: { id: created.body.id } })).toBe(1);
  });

  test('lists the students with their active rentals', async () => {
    const studentId = await newStudent();
    await students.send(reserve(studentId));

    const { status, body } = await students.http<{ id: string; activeRentals: number }[]>('GET', '/students');

    expect(status).toBe(200);
    expect(body).toContainEqual(expect.objectContaining({ id: studentId, activeRentals: 1 }));
  });

  test('answers 400 naming each wrong field of a registration', async () => {
    const { status, body } = await students.http('POST', '/students', {
      id: 'seven',
      name: '',
      email: 'nope',
    });

    expect(status).toBe(400);
    expect(body.errors).toEqual([
      { field: 'id', message: expect.any(String) },
      { field: 'name', message: expect.any(String) },
      { field: 'email', message: expect.any(String) },
    ]);
    expect(await students.db.student.count({ where: { name: '' } })).toBe(0);
  });

  test('answers 400 naming the body when it is missing, and the id when it is malformed', async () => {
    const missing = await students.http('POST', '/students');
    expect(missing.status).toBe(400);
    expect(missing.body.errors).toEqual([{ field: '(body)', message: expect.any(String) }]);

    const malformed = await students.http('GET', '/students/not-a-uuid');
    expect(malformed.status).toBe(400);
    expect(malformed.body.errors).toEqual([{ field: 'id', message: expect.any(String) }]);
  });

  test('answers 404 for an unknown student', async () => {
    const { status } = await students.http('GET', `/students/${randomUUID()}`);
    expect(status).toBe(404);
  });

  test('answers 409 for an email or an id that is registered already', async () => {
    const id = await newStudent();

    const sameEmail = await students.http('POST', '/students', {
      name: 'Other',
      email: `${id}@example.test`,
    });
    expect(sameEmail.status).toBe(409);
    expect(sameEmail.body.message).toContain('email');

    const sameId = await students.http('POST', '/students', {
      id,
      name: 'Other',
      email: `${randomUUID()}@example.test`,
    });
    expect(sameId.status).toBe(409);
    expect(sameId.body.message).toContain(id);
  });
});
