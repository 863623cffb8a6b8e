import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { subscriptions } from '../src/catalog.js';
import { delivery, ingressPaths, isoDurationMs, knativeContract, triggersYaml } from '../src/knative.js';

const contract = knativeContract({
  generation: 7,
  bootstrapServers: '127.0.0.1:9092',
  namespace: 'soundgood',
  receiverUrl: 'http://127.0.0.1:8080',
  subscriberUrl: (service) => `http://${service}.test`,
});
const [brokerResource, sinkResource] = contract.resources;

describe('Knative derived from the catalog', () => {
  it('matches the committed Triggers (npm run triggers -w @soundgood/event-catalog)', () => {
    const committed = readFileSync(
      new URL('../../../k8s/base/eventing/triggers.yaml', import.meta.url),
      'utf8',
    );
    expect(committed).toBe(triggersYaml());
  });

  it('converts ISO-8601 delivery durations to milliseconds and refuses anything else', () => {
    expect(isoDurationMs('PT0.5S')).toBe(500);
    expect(isoDurationMs('PT2S')).toBe(2000);
    expect(isoDurationMs('PT1M30S')).toBe(90_000);
    expect(isoDurationMs('P1DT1H')).toBe(90_000_000);
    for (const bad of ['500', 'PT', 'P', '0.5S', 'PT-1S']) expect(() => isoDurationMs(bad)).toThrow(bad);
  });

  it('gives the broker one egress per subscription, with its own consumer group, filter and subscriber', () => {
    expect(brokerResource.ingress.path).toBe('/soundgood/default');
    expect(brokerResource.topics).toEqual(['knative-broker-soundgood-default']);
    expect(brokerResource.egresses.map((e) => e.reference.name)).toEqual(subscriptions.map((s) => s.name));
    expect(new Set(brokerResource.egresses.map((e) => e.consumerGroup)).size).toBe(subscriptions.length);
    expect(new Set(brokerResource.egresses.map((e) => e.uid)).size).toBe(subscriptions.length);
    const [first] = brokerResource.egresses;
    expect(first).toMatchObject({
      consumerGroup: 'knative-trigger-soundgood-students-slot-reserve',
      destination: 'http://students.test/events',
      filter: { attributes: { type: 'dev.soundgood.students.slot.reserve.v1' } },
      deliveryOrder: 'UNORDERED',
      replyToOriginalTopic: {},
      egressConfig: {
        retry: 6,
        backoffPolicy: 'Exponential',
        backoffDelay: '500',
        deadLetter: 'http://127.0.0.1:8080/soundgood/dead-letters',
      },
    });
  });

  it('serves the dead-letter KafkaSink as a second resource of the same receiver, writing its topic', () => {
    expect(sinkResource.ingress.path).toBe(ingressPaths('soundgood').deadLetters);
    expect(sinkResource.topics).toEqual([delivery.deadLetterSink.topic]);
    expect(sinkResource.egresses).toBeUndefined();
  });

  it('names paths, topics and groups after the namespace, so runs on one Kafka stay apart', () => {
    const other = knativeContract({
      generation: 1,
      bootstrapServers: 'x:1',
      namespace: 'e2e-1234',
      deadLetterTopic: 'e2e.1234.dead-letters',
      receiverUrl: 'http://r',
      subscriberUrl: () => 'http://s',
      deliveryOrder: 'ORDERED',
    });
    const [b, sink] = other.resources;
    expect(b.topics).toEqual(['knative-broker-e2e-1234-default']);
    expect(sink.topics).toEqual(['e2e.1234.dead-letters']);
    expect(b.egresses.every((e) => e.consumerGroup.startsWith('knative-trigger-e2e-1234-'))).toBe(true);
    expect(b.egresses.every((e) => e.deliveryOrder === 'ORDERED')).toBe(true);
    expect(b.uid).not.toBe(brokerResource.uid);
  });
});
