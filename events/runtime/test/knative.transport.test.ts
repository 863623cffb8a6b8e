import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { events } from '@soundgood/event-catalog';
import { CloudEvent, HTTP } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEvent } from '../src/index.js';
import { type FakeBroker, postEvent, postRaw, startFakeBroker, waitFor } from '../src/testing.js';
import { count, fixture, fixtureDatabase, startFixture } from './fixture/fixture.js';

let broker: FakeBroker;
let database: Awaited<ReturnType<typeof fixtureDatabase>>;
let app: INestApplication;
let url: string;

beforeAll(async () => {
  broker = await startFakeBroker();
  database = await fixtureDatabase();
  const started = await startFixture({
    EVENT_TRANSPORT: 'knative',
    K_SINK: broker.url,
    DATABASE_URL: database.url,
  });
  app = started.app;
  url = `http://127.0.0.1:${started.port}/events`;
});

afterAll(async () => {
  await app?.close();
  await broker?.close();
  await database?.drop();
});

const reserve = (rentalId = randomUUID(), studentId = randomUUID()) =>
  createEvent(events.reserveSlot, { rentalId, studentId }, { partitionKey: rentalId });

const effects = (rentalId: string) =>
  count(database.url, 'SELECT "times" AS n FROM "effects" WHERE "rental_id" = $1', rentalId);
const inboxSize = () => count(database.url, 'SELECT count(*) AS n FROM "inbox"');

describe('knative transport: receiving', () => {
  it('handles a binary-mode event and answers 200 with the reply event', async () => {
    const event = reserve();
    const result = await postEvent(url, event, 'binary');
    expect(result.status).toBe(200);
    expect(result.reply?.type).toBe(events.slotReserved.type);
    expect(result.reply?.source).toBe(events.slotReserved.source);
    expect(result.reply?.partitionkey).toBe(event.partitionkey);
    expect(result.reply?.data).toMatchObject({ rentalId: (event.data as { rentalId: string }).rentalId });
    expect(await effects((event.data as { rentalId: string }).rentalId)).toBe(1);
  });

  it('handles a structured-mode event the same way', async () => {
    const event = reserve();
    const result = await postEvent(url, event, 'structured');
    expect(result.status).toBe(200);
    expect(result.reply?.type).toBe(events.slotReserved.type);
  });

  it('acknowledges a redelivered event with the same reply and applies its effect once', async () => {
    const event = reserve();
    const first = await postEvent(url, event);
    const again = await Promise.all([postEvent(url, event), postEvent(url, event)]);
    for (const result of again) {
      expect(result.status).toBe(200);
      expect(result.reply?.id).toBe(first.reply?.id);
    }
    expect(await effects((event.data as { rentalId: string }).rentalId)).toBe(1);
  });

  it('publishes what a handler writes to the outbox to K_SINK, and answers 204 without a reply', async () => {
    const rentalId = randomUUID();
    const release = createEvent(
      events.releaseSlot,
      { rentalId, studentId: randomUUID() },
      { partitionKey: rentalId },
    );
    const result = await postEvent(url, release);
    expect(result.status).toBe(204);
    const published = await waitFor(
      () => broker.events.find((e) => e.type === events.slotReleased.type && e.partitionkey === rentalId),
      'slot.released at the fake broker',
    );
    expect(published.source).toBe(events.slotReleased.source);
    expect(published.data).toMatchObject({ rentalId });
  });

  it('answers 500 when the handler fails, so that Knative retries', async () => {
    fixture.failing = true;
    try {
      const result = await postEvent(url, reserve(randomUUID(), fixture.poisonStudentId));
      expect(result.status).toBe(500);
      expect(result.error).toContain('simulated handler failure');
    } finally {
      fixture.failing = false;
    }
  });
});

describe('knative transport: bad input gets a 4xx naming the problem and writes nothing', () => {
  const bad: [string, () => Promise<Awaited<ReturnType<typeof postRaw>>>, number, RegExp][] = [
    [
      'a body that is not a CloudEvent',
      () => postRaw(url, { 'content-type': 'application/json' }, '{"hello":"world"}'),
      400,
      /not a valid CloudEvent/,
    ],
    [
      'a binary event without ce-source',
      () => {
        const { headers, body } = HTTP.binary(reserve());
        const { 'ce-source': _source, ...rest } = headers as Record<string, string>;
        return postRaw(url, rest, body as string);
      },
      400,
      /source/,
    ],
    [
      'an unknown type',
      () => {
        const event = new CloudEvent({ type: 'dev.soundgood.nobody.thing.v1', source: '/test', data: {} });
        return postEvent(url, event);
      },
      400,
      /unknown event type "dev\.soundgood\.nobody\.thing\.v1"/,
    ],
    [
      'a catalog type this service does not consume',
      () => {
        const rentalId = randomUUID();
        return postEvent(
          url,
          createEvent(events.slotReleased, { rentalId, studentId: randomUUID() }, { partitionKey: rentalId }),
        );
      },
      400,
      /students does not consume events of type dev\.soundgood\.students\.slot\.released\.v1/,
    ],
    [
      'data failing its schema',
      () => {
        const event = new CloudEvent({
          type: events.reserveSlot.type,
          source: events.reserveSlot.source,
          datacontenttype: 'application/json',
          data: { rentalId: 'not-a-uuid' },
        });
        return postEvent(url, event);
      },
      400,
      /rentalId: .*studentId: /,
    ],
    [
      'batched content mode',
      () =>
        postRaw(url, { 'content-type': 'application/cloudevents-batch+json' }, JSON.stringify([reserve()])),
      415,
      /batched content mode is not supported/,
    ],
  ];

  for (const [what, send, status, message] of bad) {
    it(`rejects ${what} with ${status}`, async () => {
      const before = await inboxSize();
      const result = await send();
      expect(result.status).toBe(status);
      expect(result.error).toMatch(message);
      expect(await inboxSize()).toBe(before);
    });
  }

  it('rejects other methods than POST with 405', async () => {
    const response = await fetch(url, { method: 'GET' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });
});

describe('knative transport: publishing', () => {
  it('keeps an event in the outbox until the broker answers 202', async () => {
    broker.status = 503;
    const rentalId = randomUUID();
    try {
      const release = createEvent(
        events.releaseSlot,
        { rentalId, studentId: randomUUID() },
        { partitionKey: rentalId },
      );
      expect((await postEvent(url, release)).status).toBe(204);
      await new Promise((r) => setTimeout(r, 600));
      expect(
        await count(database.url, 'SELECT count(*) AS n FROM "outbox" WHERE "published_at" IS NULL'),
      ).toBeGreaterThan(0);
    } finally {
      broker.status = 202;
    }
    await waitFor(
      () => broker.events.find((e) => e.partitionkey === rentalId),
      'the event after the broker recovered',
    );
    expect(await count(database.url, 'SELECT count(*) AS n FROM "outbox" WHERE "published_at" IS NULL')).toBe(
      0,
    );
  });
});
