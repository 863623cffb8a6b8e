import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { asyncApiYaml } from '../src/asyncapi.js';
import { consumersOf, events, findEvent, type ServiceName, services, subscriptions } from '../src/catalog.js';

/** The types the services exchange; the others (the PingSource's tick, the monthly report's) are checked on their own below. */
const all = Object.values(events).filter((e) => services.includes(e.producer as ServiceName));

describe('event catalog', () => {
  it('names every type reverse-DNS and versioned, once', () => {
    for (const event of all) expect(event.type).toMatch(/^dev\.soundgood\.[a-z]+\.[a-z-]+\.[a-z]+\.v\d+$/);
    expect(new Set(all.map((e) => e.type)).size).toBe(all.length);
  });

  it('uses the imperative for commands and the past tense for facts', () => {
    for (const event of all) {
      const verb = event.type.split('.').at(-2) as string;
      if (event.kind === 'fact') expect(verb, event.type).toMatch(/ed$/);
      else expect(verb, event.type).not.toMatch(/ed$/);
    }
  });

  it('gives every event a consumer and every subscription a unique name', () => {
    for (const event of all) expect(consumersOf(event.type), event.type).not.toHaveLength(0);
    expect(new Set(subscriptions.map((s) => s.name)).size).toBe(subscriptions.length);
  });

  it('lets a service subscribe to a type at most once (the inbox keys on the event alone)', () => {
    const pairs = subscriptions.map((s) => `${s.service} ${s.event.type}`);
    expect(new Set(pairs).size).toBe(pairs.length);
  });

  it('has every command consumed by the service whose domain names it', () => {
    for (const event of all.filter((e) => e.kind === 'command')) {
      const domain = event.type.split('.')[2];
      expect(consumersOf(event.type)).toEqual([domain]);
    }
  });

  it('gives every service something to do', () => {
    for (const service of services)
      expect(
        subscriptions.some((s) => s.service === service),
        service,
      ).toBe(true);
  });

  it('declares the daily tick as Knative’s PingSource `school-day` sends it', () => {
    // knative/eventing pkg/adapter/mtping/runner.go: type sourcesv1.PingSourceEventType, source
    // PingSourceSource(namespace, name), data the PingSource's `data` (k8s/base/eventing/school-day.yaml).
    expect(events.schoolDayStarted).toMatchObject({
      type: 'dev.knative.sources.ping',
      source: '/apis/v1/namespaces/soundgood/pingsources/school-day',
      producer: 'school-clock',
    });
    expect(consumersOf('dev.knative.sources.ping')).toEqual(['rentals']);
    expect(events.schoolDayStarted.schema.safeParse({ timeZone: 'Europe/Stockholm' }).success).toBe(true);
  });

  it('declares the monthly report as the monthly-report function publishes it, for subscribers outside Soundgood', () => {
    expect(events.reportPublished).toMatchObject({
      type: 'dev.soundgood.reports.report.published.v1',
      source: '/soundgood/monthly-report',
      kind: 'fact',
      producer: 'monthly-report',
    });
    expect(consumersOf(events.reportPublished.type)).toEqual([]);
    expect(events.reportPublished.schema.safeParse({ month: '2026-11' }).success).toBe(false);
  });

  it('validates data against the schema of its type', () => {
    const event = findEvent('dev.soundgood.students.slot.reserve.v1');
    expect(event).toBeDefined();
    const ok = event?.schema.safeParse({
      rentalId: '0b9c2d44-5c43-4c87-8d6f-0f6f9f6b7e11',
      studentId: '5e0f8c55-8a1f-4b0e-9a5f-0d4c7c1d9a22',
    });
    expect(ok?.success).toBe(true);
    const bad = event?.schema.safeParse({ rentalId: 'not-a-uuid' });
    expect(bad?.success).toBe(false);
    expect(bad?.error?.issues.map((i) => i.path.join('.'))).toEqual(['rentalId', 'studentId']);
  });

  it('matches the committed AsyncAPI document (npm run asyncapi -w @soundgood/event-catalog)', () => {
    const committed = readFileSync(new URL('../asyncapi.yaml', import.meta.url), 'utf8');
    expect(committed).toBe(asyncApiYaml());
  });

  it('describes every type and every subscription in the AsyncAPI document', () => {
    const yaml = asyncApiYaml();
    expect(yaml).toContain('asyncapi: 3.0.0');
    for (const event of Object.values(events)) expect(yaml).toContain(`address: ${event.type}`);
    for (const subscription of subscriptions) expect(yaml).toContain(`${subscription.name}:`);
  });
});
