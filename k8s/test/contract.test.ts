/**
 * The cluster's Triggers and the local broker's contract cannot drift apart: the data plane contract
 * that `npm start` and the tests run (`knativeContract` of the event catalog) is checked field by
 * field against the Triggers, Broker and KafkaSink that kustomize builds for each environment, the
 * way the Kafka controller turns them into a contract (eventing-kafka-broker control-plane
 * pkg/reconciler/trigger and pkg/core/config/utils.go at knative-v1.23.0).
 */
import { isoDurationMs, type KnativeContract, knativeContract } from '@soundgood/event-catalog';
import { describe, expect, it } from 'vitest';
import { environments, isKind, type K8sObject, kustomize } from './lib/manifests.js';

/** Where a KafkaSink is served in a cluster; locally the broker's receiver serves it. */
const sinkIngress = 'http://kafka-sink-ingress.knative-eventing.svc.cluster.local';

/** What the controller resolves a Service ref to (Knative's Addressable resolution of a v1 Service). */
function serviceUrl(name: string, namespace: string): string {
  return `http://${name}.${namespace}.svc.cluster.local`;
}

function contractFor(namespace: string): KnativeContract {
  return knativeContract({
    generation: 1,
    bootstrapServers: 'unused:9092',
    namespace,
    receiverUrl: sinkIngress,
    subscriberUrl: (service) => serviceUrl(service, namespace),
  });
}

/** Every difference between the Triggers (and Broker, KafkaSink) and the contract, in words. */
function drift(objects: K8sObject[], contract: KnativeContract): string[] {
  const problems: string[] = [];
  const [brokerResource, sinkResource] = contract.resources;
  const broker = objects.find((o) => isKind(o, 'eventing.knative.dev/v1', 'Broker'));
  const namespace = broker?.metadata.namespace as string;
  const sinks = objects.filter((o) => isKind(o, 'eventing.knative.dev/v1alpha1', 'KafkaSink'));
  const triggers = objects.filter((o) => isKind(o, 'eventing.knative.dev/v1', 'Trigger'));
  const egresses = new Map(brokerResource.egresses.map((e) => [e.reference.name, e]));
  const differ = (where: string, field: string, cluster: unknown, local: unknown) => {
    if (JSON.stringify(cluster) !== JSON.stringify(local))
      problems.push(
        `${where} ${field}: cluster ${JSON.stringify(cluster)}, contract ${JSON.stringify(local)}`,
      );
  };
  const delivery = (
    where: string,
    spec: K8sObject['spec']['delivery'],
    config: typeof brokerResource.egressConfig,
  ) => {
    const ref = spec?.deadLetterSink?.ref;
    const sink = sinks.find((s) => s.metadata.name === ref?.name);
    differ(
      where,
      'deadLetterSink',
      ref?.kind === 'KafkaSink' && sink ? `${sinkIngress}/${namespace}/${ref.name}` : ref,
      config?.deadLetter,
    );
    differ(where, 'retry', spec?.retry, config?.retry);
    differ(
      where,
      'backoffPolicy',
      spec?.backoffPolicy === 'linear' ? 'Linear' : 'Exponential',
      config?.backoffPolicy,
    );
    differ(
      where,
      'backoffDelay (ms)',
      spec?.backoffDelay ? isoDurationMs(spec.backoffDelay) : undefined,
      Number(config?.backoffDelay),
    );
  };

  differ('Broker', 'ingress path', `/${namespace}/${broker?.metadata.name}`, brokerResource.ingress.path);
  delivery('Broker', broker?.spec.delivery, brokerResource.egressConfig);
  const deadLetterSink = sinks.find(
    (sink) => `/${sink.metadata.namespace ?? namespace}/${sink.metadata.name}` === sinkResource.ingress.path,
  );
  differ('KafkaSink', 'topic', deadLetterSink?.spec.topic, sinkResource.topics[0]);
  differ(
    'KafkaSink',
    'contentMode',
    deadLetterSink?.spec.contentMode?.toUpperCase(),
    sinkResource.ingress.contentMode,
  );

  for (const trigger of triggers) {
    const name = trigger.metadata.name;
    const egress = egresses.get(name);
    if (!egress) {
      problems.push(`Trigger ${name} has no egress in the contract`);
      continue;
    }
    egresses.delete(name);
    const where = `Trigger ${name}`;
    differ(where, 'broker', trigger.spec.broker, brokerResource.reference.name);
    differ(where, 'consumerGroup', `knative-trigger-${namespace}-${name}`, egress.consumerGroup);
    differ(where, 'filter', trigger.spec.filter?.attributes, egress.filter.attributes);
    const ref = trigger.spec.subscriber?.ref;
    const subscriber =
      ref?.kind === 'Service'
        ? `${serviceUrl(ref.name, ref.namespace ?? namespace)}${trigger.spec.subscriber.uri ?? ''}`
        : trigger.spec.subscriber;
    differ(where, 'subscriber', subscriber, egress.destination);
    // Knative's default delivery order is unordered.
    const order = trigger.metadata.annotations?.['kafka.eventing.knative.dev/delivery.order'] ?? 'unordered';
    differ(where, 'delivery order', order.toUpperCase(), egress.deliveryOrder);
    delivery(where, trigger.spec.delivery, egress.egressConfig);
  }
  for (const name of egresses.keys()) problems.push(`egress ${name} of the contract has no Trigger`);
  return problems;
}

describe.each(environments)('the local broker contract against the cluster in %s', (env) => {
  const app = kustomize(`k8s/environments/${env}/apps`);
  const namespace = app.find((o) => o.kind === 'Broker')?.metadata.namespace as string;

  it('matches every Trigger field by field: filter, subscriber, order, retry, backoff, dead-letter sink', () => {
    expect(drift(app, contractFor(namespace))).toEqual([]);
    expect(contractFor(namespace).resources[0].egresses).toHaveLength(
      app.filter((o) => o.kind === 'Trigger').length,
    );
  });
});

describe('the contract check catches drift', () => {
  const app = kustomize('k8s/environments/production/apps');
  const contract = contractFor('soundgood');
  const changed = (name: string, change: (t: K8sObject) => void) =>
    app.map((o) => {
      if (o.kind !== 'Trigger' || o.metadata.name !== name) return o;
      const copy = structuredClone(o);
      change(copy);
      return copy;
    });

  it('reports a Trigger whose delivery or filter differs from the contract', () => {
    const broken = changed('billing-payment-charge', (t) => {
      t.spec.delivery.retry = 5;
      t.spec.delivery.backoffDelay = 'PT1S';
      t.spec.filter.attributes.type = 'dev.soundgood.billing.payment.charged.v1';
      t.metadata.annotations = { 'kafka.eventing.knative.dev/delivery.order': 'ordered' };
      t.spec.subscriber.uri = '/';
    });
    expect(drift(broken, contract)).toEqual([
      'Trigger billing-payment-charge filter: cluster {"type":"dev.soundgood.billing.payment.charged.v1"}, contract {"type":"dev.soundgood.billing.payment.charge.v1"}',
      'Trigger billing-payment-charge subscriber: cluster "http://billing.soundgood.svc.cluster.local/", contract "http://billing.soundgood.svc.cluster.local/events"',
      'Trigger billing-payment-charge delivery order: cluster "ORDERED", contract "UNORDERED"',
      'Trigger billing-payment-charge retry: cluster 5, contract 6',
      'Trigger billing-payment-charge backoffDelay (ms): cluster 1000, contract 500',
    ]);
  });

  it('reports a missing dead-letter sink, a missing Trigger and a missing egress', () => {
    const withoutSink = changed('students-slot-reserve', (t) => {
      delete t.spec.delivery.deadLetterSink;
    });
    expect(drift(withoutSink, contract)).toEqual([
      'Trigger students-slot-reserve deadLetterSink: cluster undefined, contract "http://kafka-sink-ingress.knative-eventing.svc.cluster.local/soundgood/dead-letters"',
    ]);
    const withoutTrigger = app.filter((o) => o.metadata.name !== 'rentals-payment-charged');
    expect(drift(withoutTrigger, contract)).toEqual([
      'egress rentals-payment-charged of the contract has no Trigger',
    ]);
    const extra = structuredClone(app.find((o) => o.kind === 'Trigger') as K8sObject);
    extra.metadata.name = 'billing-payment-invented';
    expect(drift([...app, extra], contract)).toEqual([
      'Trigger billing-payment-invented has no egress in the contract',
    ]);
  });
});
