import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { events, subscriptions } from '../src/catalog.js';
import {
  appNamespace,
  broker,
  brokerAudience,
  deadLetterReplay,
  deadLetterReplaySender,
  delivery,
  type EventPolicySender,
  eventPoliciesYaml,
  ingressPaths,
  isoDurationMs,
  knativeContract,
  producers,
  senderOf,
  triggersYaml,
} from '../src/knative.js';

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

/** A policy as parsed from the committed YAML, and what its filters let through (ANDed; any/exact only). */
interface Policy {
  metadata: { name: string };
  spec: {
    to: { ref: { apiVersion: string; kind: string; name: string } }[];
    from: EventPolicySender[];
    filters: Filter[];
  };
}
type Filter = { any?: Filter[]; all?: Filter[]; exact?: Record<string, string> };
const passes = (f: Filter, ce: Record<string, string>): boolean =>
  (f.exact === undefined || Object.entries(f.exact).every(([k, v]) => ce[k] === v)) &&
  (f.any === undefined || f.any.some((g) => passes(g, ce))) &&
  (f.all === undefined || f.all.every((g) => passes(g, ce))) &&
  Object.keys(f).every((k) => ['any', 'all', 'exact'].includes(k));
const allows = (p: Policy, sender: EventPolicySender, ce: Record<string, string>) =>
  p.spec.from.some((f) => JSON.stringify(f) === JSON.stringify(sender)) &&
  p.spec.filters.every((f) => passes(f, ce));

/**
 * What is wrong with a set of policies against the catalog, both ways: a (producer, type) pair not
 * allowed by exactly one policy; a type allowed to another sender, or under another source. The one
 * named exception: the dead-letter replay's account, by its own policy, every catalog type with its
 * catalog source, and nothing else (no other source, no type outside the catalog, no other policy).
 */
function policyProblems(policies: Policy[]): string[] {
  const all = Object.values(events);
  const problems: string[] = [];
  const replay = deadLetterReplaySender();
  const others = [
    ...producers().map(senderOf),
    { sub: `system:serviceaccount:${appNamespace}:notifications` },
    replay,
  ];
  const same = (a: EventPolicySender, b: EventPolicySender) => JSON.stringify(a) === JSON.stringify(b);
  const replayed = (p: Policy, sender: EventPolicySender, type: string, source: string) =>
    p.metadata.name === deadLetterReplay.policy &&
    same(sender, replay) &&
    all.some((e) => e.type === type && e.source === source);
  for (const e of all) {
    const own = senderOf(e.producer);
    const by = policies.filter((p) => allows(p, own, { type: e.type, source: e.source }));
    if (by.length !== 1) problems.push(`${e.type} from ${e.producer} is allowed by ${by.length} policies`);
    const byReplay = policies.filter((p) => allows(p, replay, { type: e.type, source: e.source }));
    if (byReplay.length !== 1 || byReplay[0]?.metadata.name !== deadLetterReplay.policy)
      problems.push(
        `${e.type} replayed is allowed by [${byReplay.map((p) => p.metadata.name).join(', ')}], not ${deadLetterReplay.policy} alone`,
      );
    for (const sender of [own, replay])
      if (policies.some((p) => allows(p, sender, { type: e.type, source: '/evil' })))
        problems.push(`${e.type} is allowed under source /evil`);
    for (const sender of others.filter((o) => !same(o, own)))
      for (const source of new Set(all.map((o) => o.source)))
        for (const p of policies.filter(
          (q) => allows(q, sender, { type: e.type, source }) && !replayed(q, sender, e.type, source),
        ))
          problems.push(
            `${p.metadata.name} allows ${e.type} (source ${source}) from ${JSON.stringify(sender)}`,
          );
  }
  for (const sender of others)
    for (const p of policies.filter((q) =>
      allows(q, sender, { type: 'dev.soundgood.unknown.v1', source: '/soundgood/rentals' }),
    ))
      problems.push(`${p.metadata.name} allows a type outside the catalog from ${JSON.stringify(sender)}`);
  return problems;
}

describe('EventPolicies derived from the catalog’s producers', () => {
  const committed = readFileSync(
    new URL('../../../k8s/base/eventing/event-policies.yaml', import.meta.url),
    'utf8',
  );
  const policies = parseAllDocuments(committed).map((d) => d.toJS() as Policy);

  it('matches the committed EventPolicies (npm run triggers -w @soundgood/event-catalog)', () => {
    expect(committed).toBe(eventPoliciesYaml());
  });

  it('applies every policy to the Broker only, never to the whole namespace', () => {
    for (const p of policies)
      expect(p.spec.to, p.metadata.name).toEqual([
        { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: broker.name } },
      ]);
  });

  it('allows every type from its producer by exactly one policy, and no type from anyone else or under another source', () => {
    expect(policyProblems(policies)).toEqual([]);
  });

  it('names each service by its ServiceAccount’s OIDC subject, and the broker by Knative’s audience', () => {
    expect(senderOf('rentals')).toEqual({ sub: 'system:serviceaccount:soundgood:rentals' });
    expect(brokerAudience()).toBe('eventing.knative.dev/broker/soundgood/default');
    expect(() => senderOf('nobody')).toThrow(/nobody has no sender identity/);
    // notifications produces nothing: no policy lets it send.
    expect(policies.map((p) => p.metadata.name)).not.toContain('events-from-notifications');
  });

  it('reports a type allowed to a second sender, a type left out, a duplicate policy and a filter without source', () => {
    const reserve = events.reserveSlot;
    const students = { sub: `system:serviceaccount:${appNamespace}:students` };
    const widened = structuredClone(policies);
    widened.find((p) => p.metadata.name === 'events-from-rentals')?.spec.from.push(students);
    expect(policyProblems(widened)).toContain(
      `events-from-rentals allows ${reserve.type} (source /soundgood/rentals) from ${JSON.stringify(students)}`,
    );

    const narrowed = structuredClone(policies);
    const rentals = narrowed.find((p) => p.metadata.name === 'events-from-rentals') as Policy;
    rentals.spec.filters = [{ any: rentals.spec.filters[0]?.any?.slice(1) ?? [] }];
    expect(policyProblems(narrowed)).toEqual([`${reserve.type} from rentals is allowed by 0 policies`]);

    expect(policyProblems([...policies, policies[0] as Policy])).toContain(
      `${reserve.type} from rentals is allowed by 2 policies`,
    );

    const replayPolicy = (ps: Policy[]) =>
      ps.find((p) => p.metadata.name === deadLetterReplay.policy) as Policy;
    const replay = deadLetterReplaySender();
    const otherSource = structuredClone(policies);
    replayPolicy(otherSource).spec.filters[0]?.any?.push({
      exact: { type: reserve.type, source: '/soundgood/students' },
    });
    expect(policyProblems(otherSource)).toEqual([
      `${deadLetterReplay.policy} allows ${reserve.type} (source /soundgood/students) from ${JSON.stringify(replay)}`,
    ]);
    const outside = structuredClone(policies);
    replayPolicy(outside).spec.filters = [{ any: [{ exact: { source: '/soundgood/rentals' } }] }];
    expect(policyProblems(outside)).toContain(
      `${deadLetterReplay.policy} allows a type outside the catalog from ${JSON.stringify(replay)}`,
    );
    const replayElsewhere = structuredClone(policies);
    replayElsewhere.find((p) => p.metadata.name === 'events-from-rentals')?.spec.from.push(replay);
    expect(policyProblems(replayElsewhere)).toContain(
      `${reserve.type} replayed is allowed by [events-from-rentals, ${deadLetterReplay.policy}], not ${deadLetterReplay.policy} alone`,
    );
    const replayWidened = structuredClone(policies);
    replayPolicy(replayWidened).spec.from.push(students);
    expect(policyProblems(replayWidened)).toContain(
      `${deadLetterReplay.policy} allows ${reserve.type} (source /soundgood/rentals) from ${JSON.stringify(students)}`,
    );

    const sourceless = structuredClone(policies);
    const first = sourceless[0]?.spec.filters[0]?.any?.[0];
    if (first?.exact) delete first.exact.source;
    expect(policyProblems(sourceless)).toContain(`${reserve.type} is allowed under source /evil`);
  });
});
