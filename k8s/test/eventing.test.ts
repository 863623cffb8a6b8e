import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { events, subscriptions } from '@soundgood/event-catalog';
import { describe, expect, it } from 'vitest';
import { followUrl, requestsReachListeners, resolveDestination } from './lib/addressing.js';
import {
  environments,
  fluxCluster,
  isKind,
  type K8sObject,
  kustomize,
  parseYamlObjects,
  repoRoot,
} from './lib/manifests.js';
import { deadLettersGoToKafkaSink, triggerSubscribersExist, triggersAgainstCatalog } from './lib/policies.js';

const fixture = (name: string) =>
  parseYamlObjects(readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8'));

describe.each(environments)('eventing in %s', (env) => {
  const app = kustomize(`k8s/environments/${env}/apps`);

  it('has exactly one Trigger per catalog subscription, filtering on its type and ordered where the catalog says', () => {
    expect(triggersAgainstCatalog(app, subscriptions)).toEqual([]);
    expect(app.filter((o) => o.kind === 'Trigger')).toHaveLength(subscriptions.length);
  });

  it('delivers every Trigger to an existing Service', () => {
    expect(triggerSubscribersExist(app)).toEqual([]);
  });

  it('reaches a port a container listens on from every Knative destination (resolved by Knative) and every in-cluster URL', () => {
    const cluster = fluxCluster(env);
    expect(requestsReachListeners([...cluster.entry, ...cluster.layers.flatMap((l) => l.objects)])).toEqual(
      [],
    );
  });

  it('port-forwards the e2e workflow to ports the Services have', () => {
    const workflow = readFileSync(join(repoRoot, '.github/workflows/e2e.yml'), 'utf8');
    const forwards = [...workflow.matchAll(/port-forward service\/([a-z-]+) \d+:(\d+)/g)];
    expect(forwards.length).toBeGreaterThan(0);
    const cluster = fluxCluster(env);
    const objects = [...cluster.entry, ...cluster.layers.flatMap((l) => l.objects)];
    for (const [, service, port] of forwards) {
      expect(followUrl(`http://${service}.soundgood:${port}/`, 'soundgood', objects)).toEqual([]);
    }
  });

  it('ticks the school day with the PingSource the catalog declares: its type, source and data, to the Broker, daily in the school’s zone', () => {
    const [ping, ...others] = app.filter((o) => isKind(o, 'sources.knative.dev/v1', 'PingSource'));
    expect(others).toEqual([]);
    const tick = events.schoolDayStarted;
    // knative/eventing pkg/apis/sources/v1 PingSourceSource and pkg/adapter/mtping/runner.go makeEvent.
    expect(`/apis/v1/namespaces/${ping?.metadata.namespace}/pingsources/${ping?.metadata.name}`).toBe(
      tick.source,
    );
    expect(tick.type).toBe('dev.knative.sources.ping');
    expect(ping?.spec.contentType).toBe('application/json');
    expect(tick.schema.safeParse(JSON.parse(ping?.spec.data)).success).toBe(true);
    expect(JSON.parse(ping?.spec.data).timeZone).toBe(ping?.spec.timezone);
    expect(ping?.spec.schedule).toMatch(/^\d+ \d+ \* \* \*$/);
    expect(ping?.spec.sink).toEqual({
      ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default' },
    });
    const trigger = app.find((o) => o.kind === 'Trigger' && o.spec.filter.attributes.type === tick.type);
    expect(trigger?.spec.subscriber.ref.name).toBe('rentals');
  });

  it('sends dead letters of the broker and of every Trigger to the soundgood.dead-letters KafkaSink', () => {
    expect(deadLettersGoToKafkaSink(app)).toEqual([]);
  });

  it('points every service at the Kafka broker ingress of its own Broker', () => {
    const broker = app.find((o) => isKind(o, 'eventing.knative.dev/v1', 'Broker')) as K8sObject;
    expect(broker.metadata.annotations?.['eventing.knative.dev/broker.class']).toBe('Kafka');
    const ingress = `http://kafka-broker-ingress.knative-eventing.svc.cluster.local/${broker.metadata.namespace}/${broker.metadata.name}`;
    // The services (the monthly-report function's K_SINK: functions.test.ts).
    for (const d of app.filter((o) => o.kind === 'Deployment' && o.metadata.namespace === 'soundgood')) {
      const env = Object.fromEntries(
        d.spec.template.spec.containers[0].env.map((e: { name: string }) => [e.name, e]),
      );
      expect(env.K_SINK?.value, d.metadata.name).toBe(ingress);
      expect(env.EVENT_TRANSPORT?.value, d.metadata.name).toBe('knative');
    }
  });

  it("probes each canary with an event type the service subscribes to, from the type's catalog source", () => {
    for (const canary of app.filter((o) => o.kind === 'Canary')) {
      const service = canary.metadata.name;
      const consumed = new Set<string>(
        subscriptions.filter((s) => s.service === service).map((s) => s.event.type),
      );
      const commands = canary.spec.analysis.webhooks
        .map((w: { metadata: { cmd: string } }) => w.metadata.cmd)
        .join('\n');
      const types = [...commands.matchAll(/ce-type: ([\w.]+)/g)].map((m) => m[1] as string);
      expect(types.length, service).toBeGreaterThan(0);
      for (const type of types) {
        expect(consumed.has(type), `${service} consumes ${type}`).toBe(true);
        expect(commands).toContain(
          `ce-source: ${Object.values(events).find((e) => e.type === type)?.source}`,
        );
      }
    }
  });
});

describe('the eventing checks catch broken manifests', () => {
  const app = kustomize('k8s/environments/production/apps');

  it('reports a subscription whose Trigger is missing', () => {
    const withoutOne = app.filter(
      (o) => !(o.kind === 'Trigger' && o.metadata.name === 'billing-payment-charge'),
    );
    expect(triggersAgainstCatalog(withoutOne, subscriptions)).toEqual([
      'subscription billing-payment-charge has no Trigger',
    ]);
  });

  it('reports a Trigger that matches no subscription, a wrong type and a missing subscriber', () => {
    const broken = fixture('triggers-broken.yaml');
    const [invented, wrongType] = broken as [K8sObject, K8sObject];
    expect(triggersAgainstCatalog([...app, invented], subscriptions)).toEqual([
      'Trigger billing-payment-invented matches no subscription of the catalog',
    ]);
    const overridden = [...app.filter((o) => o.metadata.name !== 'students-slot-reserve'), wrongType];
    expect(triggersAgainstCatalog(overridden, subscriptions)).toEqual([
      'Trigger students-slot-reserve filters type dev.soundgood.students.slot.reserved.v1, the catalog says dev.soundgood.students.slot.reserve.v1',
    ]);
    expect(triggerSubscribersExist(broken)).toEqual([
      'Trigger billing-payment-invented: subscriber Service payments does not exist',
      'Trigger students-slot-reserve: subscriber Service students does not exist',
    ]);
  });

  it("resolves destinations by Knative's rules: a Service ref has no port, a uri beside a ref is relative", () => {
    const students = { apiVersion: 'v1', kind: 'Service', name: 'students' };
    expect(resolveDestination({ ref: students, uri: '/events' }, 'soundgood')).toBe(
      'http://students.soundgood.svc.cluster.local/events',
    );
    expect(resolveDestination({ ref: { ...students, namespace: 'other' } }, 'soundgood')).toBe(
      'http://students.other.svc.cluster.local',
    );
    const sink = { apiVersion: 'eventing.knative.dev/v1alpha1', kind: 'KafkaSink', name: 'dead-letters' };
    expect(resolveDestination({ ref: sink }, 'soundgood')).toBe(
      'http://kafka-sink-ingress.knative-eventing.svc.cluster.local/soundgood/dead-letters',
    );
    expect(resolveDestination({ uri: 'http://x.y.svc:9000/a' }, 'soundgood')).toBe('http://x.y.svc:9000/a');
    expect(() =>
      resolveDestination({ ref: students, uri: 'http://students:8080/events' }, 'soundgood'),
    ).toThrow('absolute URI is not allowed beside a ref');
    expect(() => resolveDestination({ uri: '/events' }, 'soundgood')).toThrow('URI /events is not absolute');
  });

  it('reports deliveries and URLs that land on a port nothing listens on', () => {
    const flagger = (service: string, canary: string) =>
      `Service ${service} written by Flagger from Canary ${canary}`;
    expect(requestsReachListeners(fixture('ports-broken.yaml'))).toEqual([
      'Trigger ledger-entry-posted subscriber: http://ledger.soundgood.svc.cluster.local/events: Service ledger has no port 80 (ports 8080)',
      `Trigger ledger-entry-posted subscriber: http://ledger.soundgood.svc.cluster.local/events: ${flagger('ledger', 'ledger')} targets port 9000, which no container of ledger declares`,
      'Trigger audit-entry-posted subscriber: absolute URI is not allowed beside a ref',
      `Canary audit: http://audit-canary.soundgood:8080/events: ${flagger('audit-canary', 'audit')} has no port 8080 (ports 80)`,
      'Canary audit: http://audit:8080/readyz: Service audit has no port 8080 (ports 80)',
      `Canary audit: http://audit:8080/readyz: ${flagger('audit', 'audit')} has no port 8080 (ports 80)`,
      'Trigger audit-entry-posted: http://audit.soundgood.svc.cluster.local/events: Service audit targets http = 8080, container app of audit listens on 3000, 9464',
      `Trigger audit-entry-posted: http://audit.soundgood.svc.cluster.local/events: ${flagger('audit', 'audit')} targets http = 8080, container app of audit listens on 3000, 9464`,
    ]);
  });

  it('reports a Trigger without a dead-letter sink', () => {
    expect(deadLettersGoToKafkaSink(fixture('triggers-broken.yaml'))).toEqual([
      'Trigger billing-payment-invented has no KafkaSink as dead-letter sink',
      'Trigger students-slot-reserve has no KafkaSink as dead-letter sink',
    ]);
  });
});
