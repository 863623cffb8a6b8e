/**
 * A crashed consumer's member stays in its group until its session expires, and a new member's join
 * waits for it. removeFormerMembers takes the crashed predecessor out at once (kafka.group.ts).
 * The predecessor is a real process killed with SIGKILL, against the real Kafka.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import kafkajs, { type Consumer, type Kafka } from 'kafkajs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { removeFormerMembers } from '../src/kafka/kafka.group.js';
import { groupTimings } from '../src/kafka/kafka.subscriber.js';
import { createTopics, requireEnv, waitFor } from '../src/testing.js';

const { logLevel } = kafkajs;
const brokers = requireEnv('KAFKA_BROKERS');
const topic = `test.group.${randomUUID()}`;
const kafkajsPath = createRequire(import.meta.url).resolve('kafkajs');
let admin: ReturnType<Kafka['admin']>;
const running: { child?: ChildProcess; consumer?: Consumer } = {};

beforeAll(async () => {
  const kafka = new kafkajs.Kafka({
    clientId: 'soundgood-test',
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
  });
  await createTopics(kafka, [topic]);
  admin = kafka.admin();
  await admin.connect();
  return async () => {
    await admin.disconnect();
  };
});

afterEach(async () => {
  running.child?.kill('SIGKILL');
  await running.consumer?.disconnect();
});

/** A consumer in `groupId` as `clientId`, in a process of its own, that prints "joined" once in. */
function startPredecessor(groupId: string, clientId: string): Promise<ChildProcess> {
  const script = `
    const { Kafka, logLevel } = require(${JSON.stringify(kafkajsPath)});
    const kafka = new Kafka({ clientId: ${JSON.stringify(clientId)}, brokers: ${JSON.stringify(brokers.split(','))}, logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: ${JSON.stringify(groupId)}, ...${JSON.stringify(groupTimings)} });
    consumer.on(consumer.events.GROUP_JOIN, () => console.log('joined'));
    (async () => {
      await consumer.connect();
      await consumer.subscribe({ topic: ${JSON.stringify(topic)}, fromBeginning: true });
      await consumer.run({ eachMessage: async () => {} });
    })();
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  running.child = child;
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('joined')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`the predecessor exited with ${code}`)));
  });
}

/** How long a new consumer of the group, as `clientId`, takes to join. */
async function joinMs(groupId: string, clientId: string): Promise<number> {
  const kafka = new kafkajs.Kafka({ clientId, brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId, ...groupTimings });
  running.consumer = consumer;
  const started = Date.now();
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async () => {} });
  await joined;
  return Date.now() - started;
}

const members = async (groupId: string) =>
  (await admin.describeGroups([groupId])).groups[0]?.members.map((m) => m.clientId) ?? [];

describe('a crashed consumer in its group', () => {
  it('is removed by its successor, which then joins without waiting out the session', async () => {
    const groupId = `${topic}.removed`;
    const clientId = `soundgood-test@host:${randomUUID().slice(0, 4)}`;
    const predecessor = await startPredecessor(groupId, clientId);
    predecessor.kill('SIGKILL');
    expect(await members(groupId)).toEqual([clientId]);

    expect(await removeFormerMembers(kafkaOf(clientId), [groupId], clientId)).toEqual([groupId]);
    expect(await members(groupId)).toEqual([]);
    const took = await joinMs(groupId, clientId);
    expect(took, `joined after ${took} ms`).toBeLessThan(groupTimings.sessionTimeout - 1_000);
  });

  it('is waited for, a session long, when its successor does not remove it', async () => {
    const groupId = `${topic}.waited`;
    const clientId = `soundgood-test@host:${randomUUID().slice(0, 4)}`;
    const predecessor = await startPredecessor(groupId, clientId);
    const killed = Date.now();
    predecessor.kill('SIGKILL');
    await joinMs(groupId, clientId);
    // The join completed only once the dead member's session was over.
    expect(Date.now() - killed).toBeGreaterThanOrEqual(groupTimings.sessionTimeout - 1_000);
  });

  it('keeps the members of other instances', async () => {
    const groupId = `${topic}.others`;
    const predecessor = await startPredecessor(groupId, 'soundgood-test@host:other');
    await removeFormerMembers(kafkaOf('soundgood-test@host:mine'), [groupId], 'soundgood-test@host:mine');
    expect(await members(groupId)).toEqual(['soundgood-test@host:other']);
    predecessor.kill('SIGKILL');
    await waitFor(
      async () => ((await members(groupId)).length === 0 ? true : undefined),
      'the session to end',
      20_000,
    );
  });
});

function kafkaOf(clientId: string): Kafka {
  return new kafkajs.Kafka({ clientId, brokers: brokers.split(','), logLevel: logLevel.NOTHING });
}
