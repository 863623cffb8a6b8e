import { randomUUID } from 'node:crypto';
import { events } from '@soundgood/event-catalog';
import { createEvent } from '@soundgood/eventing';
import { startTestService, type TestService } from '@soundgood/eventing/testing';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { configSchema } from '../src/config.js';
import { Database } from '../src/database.js';
import { NotificationChannel } from '../src/notification-channel/notification-channel.port.js';
import { NotificationsModule } from '../src/notifications.module.js';

let notifications: TestService<Database>;
let channel: NotificationChannel;

beforeAll(async () => {
  notifications = await startTestService({
    service: 'notifications',
    configSchema,
    database: Database,
    module: NotificationsModule,
  });
  channel = notifications.app.get(NotificationChannel);
});

afterEach(() => {
  vi.restoreAllMocks();
});

afterAll(async () => {
  await notifications?.stop();
});

function rental(studentId = randomUUID()) {
  return { rentalId: randomUUID(), studentId, instrumentId: randomUUID() };
}

const confirmed = (ref: ReturnType<typeof rental>) =>
  createEvent(
    events.rentalConfirmed,
    { ...ref, months: 3, startsOn: '2026-12-01', endsOn: '2027-03-01', amountCents: 2500, currency: 'EUR' },
    { partitionKey: ref.rentalId },
  );
const rejected = (ref: ReturnType<typeof rental>) =>
  createEvent(
    events.rentalRejected,
    { ...ref, reason: 'ALREADY_RENTED', message: 'the instrument is rented by someone else' },
    { partitionKey: ref.rentalId },
  );
const terminated = (ref: ReturnType<typeof rental>) =>
  createEvent(
    events.rentalTerminated,
    { ...ref, terminatedAt: '2027-01-15T09:30:00.000Z', reason: 'TERMINATED_EARLY' },
    { partitionKey: ref.rentalId },
  );

const stored = (eventId: string) => notifications.db.notification.findMany({ where: { eventId } });

describe('notify student', () => {
  test.each([
    ['confirmed', confirmed, 'CONFIRMED', 'is confirmed for 3 months'],
    ['rejected', rejected, 'REJECTED', 'the instrument is rented by someone else (ALREADY_RENTED)'],
    ['terminated', terminated, 'TERMINATED', 'ended on 2027-01-15'],
  ] as const)(
    'records a rental %s notification, sends it through the channel and replies nothing',
    async (_, build, kind, text) => {
      const send = vi.spyOn(channel, 'send');
      const ref = rental();
      const event = build(ref);

      const { status, reply } = await notifications.send(event);

      expect(status).toBe(204);
      expect(reply).toBeUndefined();
      const rows = await stored(event.id);
      expect(rows).toEqual([
        expect.objectContaining({ studentId: ref.studentId, rentalId: ref.rentalId, kind, channel: 'log' }),
      ]);
      expect(rows[0]?.message).toContain(text);
      expect(send).toHaveBeenCalledExactlyOnceWith({
        id: rows[0]?.id,
        studentId: ref.studentId,
        rentalId: ref.rentalId,
        kind,
        message: rows[0]?.message,
      });
    },
  );

  test('notifies a redelivered event once', async () => {
    const send = vi.spyOn(channel, 'send');
    const event = confirmed(rental());

    const results = [await notifications.send(event), await notifications.send(event)];

    expect(results.map((result) => result.status)).toEqual([204, 204]);
    expect(await stored(event.id)).toHaveLength(1);
    expect(send).toHaveBeenCalledOnce();
  });

  test('a channel failure answers 500 and records nothing; the redelivered event is then notified', async () => {
    const send = vi.spyOn(channel, 'send').mockRejectedValueOnce(new Error('mail server unreachable'));
    const event = rejected(rental());

    const failed = await notifications.send(event);
    expect(failed.status).toBe(500);
    expect(failed.error).toContain('mail server unreachable');
    expect(await stored(event.id)).toEqual([]);

    expect((await notifications.send(event)).status).toBe(204);
    expect(await stored(event.id)).toHaveLength(1);
    expect(send).toHaveBeenCalledTimes(2);
  });
});

describe('HTTP API', () => {
  test('lists a student’s notifications, newest first', async () => {
    const studentId = randomUUID();
    const first = rental(studentId);
    const second = rental(studentId);
    await notifications.send(confirmed(first));
    await notifications.send(rejected(second));
    await notifications.send(terminated(first));
    await notifications.send(confirmed(rental()));

    const { status, body } = await notifications.http<{ kind: string; rentalId: string }[]>(
      'GET',
      `/students/${studentId}/notifications`,
    );

    expect(status).toBe(200);
    expect(body.map(({ kind, rentalId }) => ({ kind, rentalId }))).toEqual([
      { kind: 'TERMINATED', rentalId: first.rentalId },
      { kind: 'REJECTED', rentalId: second.rentalId },
      { kind: 'CONFIRMED', rentalId: first.rentalId },
    ]);
  });

  test('answers an empty list for a student never notified', async () => {
    const { status, body } = await notifications.http('GET', `/students/${randomUUID()}/notifications`);
    expect(status).toBe(200);
    expect(body).toEqual([]);
  });

  test('answers 400 naming a malformed student id', async () => {
    const { status, body } = await notifications.http('GET', '/students/ada/notifications');
    expect(status).toBe(400);
    expect(body.errors).toEqual([{ field: 'id', message: expect.any(String) }]);
  });
});
