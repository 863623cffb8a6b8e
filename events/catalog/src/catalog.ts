/**
 * The Soundgood event catalog: every CloudEvent type the services exchange, declared once.
 *
 * - `events` names each type, its source, its producer and the schema of its data. Commands are
 *   imperative (`...slot.reserve.v1`), facts are past tense (`...slot.reserved.v1`).
 * - `subscriptions` is the one list of (event, consuming service) pairs. Each becomes a Knative
 *   Trigger in the cluster (k8s/base/eventing) and a Kafka consumer group locally; tests check both
 *   against this list.
 *
 * Every event of a rental carries the rental id as its `partitionkey` extension, so that all the
 * events of one saga keep their order on one partition.
 */
import { z } from 'zod';

export const services = ['rentals', 'students', 'inventory', 'billing', 'notifications'] as const;
export type ServiceName = (typeof services)[number];

/**
 * Producers outside the services. `school-clock` is the daily tick: the Knative PingSource
 * `school-day` in the cluster (k8s/base/eventing/school-day.yaml), scripts/school-clock.ts locally.
 * `monthly-report` is the OpenFaaS function functions/monthly-report (k8s/functions), which publishes
 * its report to the broker directly (no outbox).
 */
export const externalProducers = ['school-clock', 'monthly-report'] as const;
export type Producer = ServiceName | (typeof externalProducers)[number];

export type EventKind = 'command' | 'fact';

export interface EventDefinition<Schema extends z.ZodType = z.ZodType> {
  /** CloudEvents `type`: reverse-DNS, versioned. */
  readonly type: string;
  /** CloudEvents `source` of every event of this type. */
  readonly source: string;
  readonly kind: EventKind;
  readonly producer: Producer;
  readonly description: string;
  /** Schema of the `data` attribute, validated at publish and at receive. */
  readonly schema: Schema;
}

export type EventData<E extends EventDefinition> = z.infer<E['schema']>;

/**
 * `domain` is the service whose language the event speaks (`students` for `slot.reserve`), which
 * names the type; `producer` is who sends it, which names the source. Commands are sent by the
 * rentals orchestrator into a participant's domain; facts are sent by their own domain.
 */
function defineEvent<const Domain extends ServiceName, const Name extends string, Schema extends z.ZodType>(
  domain: Domain,
  name: Name,
  kind: EventKind,
  description: string,
  schema: Schema,
): EventDefinition<Schema> & { readonly type: `dev.soundgood.${Domain}.${Name}.v1` } {
  const producer: ServiceName = kind === 'command' ? 'rentals' : domain;
  return {
    type: `dev.soundgood.${domain}.${name}.v1` as const,
    source: `/soundgood/${producer}`,
    kind,
    producer,
    description,
    schema,
  };
}

const id = z.uuid();
const reason = z.string().min(1).describe('machine-readable reason, e.g. QUOTA_EXCEEDED');
const message = z.string().describe('human-readable explanation');
const money = { amountCents: z.int().nonnegative(), currency: z.string().length(3) };

const rentalRef = { rentalId: id, studentId: id };
/** The month of a rental a charge is for: 1 is charged at confirmation. */
const month = z.int().min(1).max(12);

const count = z.int().nonnegative();
const byStatus = z.record(z.string(), count);
const monthlyReport = z.object({
  month: z
    .string()
    .regex(/^\d{4}-\d{2}$/)
    .describe('YYYY-MM'),
  timeZone: z.string().min(1),
  period: z.object({ from: z.iso.date(), to: z.iso.date().describe('exclusive') }),
  generatedAt: z.iso.datetime(),
  rentals: z.object({
    started: count,
    ended: count,
    active: count,
    activeByStatus: byStatus,
    endedByStatus: byStatus,
    /** Why the month's ended rentals ended: ENDED (on their date), PAYMENT_OVERDUE, TERMINATED_EARLY. */
    endedByReason: byStatus,
    /** Active rentals in arrears when the report was made. */
    inArrears: count,
  }),
  money: z.array(
    z.object({
      instrumentType: z.string(),
      currency: money.currency,
      charges: count,
      revenueCents: money.amountCents,
      refunds: count,
      refundsCents: money.amountCents,
      netCents: z.int(),
    }),
  ),
  utilisation: z.array(
    z.object({
      instrumentType: z.string(),
      instruments: count,
      rentedDays: count,
      availableDays: count,
      utilisation: z.number().min(0).max(1),
    }),
  ),
});

export const events = {
  // students: the rental quota (at most two active rentals per student)
  reserveSlot: defineEvent(
    'students',
    'slot.reserve',
    'command',
    'Take one of the student’s two rental slots for a rental.',
    z.object({ ...rentalRef }),
  ),
  slotReserved: defineEvent(
    'students',
    'slot.reserved',
    'fact',
    'A slot is held for the rental.',
    z.object({ ...rentalRef, activeRentals: z.int().min(1) }),
  ),
  slotRejected: defineEvent(
    'students',
    'slot.rejected',
    'fact',
    'No slot could be held (unknown student, quota reached).',
    z.object({ ...rentalRef, reason, message }),
  ),
  releaseSlot: defineEvent(
    'students',
    'slot.release',
    'command',
    'Free the rental’s slot (compensation or termination). Idempotent.',
    z.object({ ...rentalRef }),
  ),
  slotReleased: defineEvent(
    'students',
    'slot.released',
    'fact',
    'The rental holds no slot (any more).',
    z.object({ ...rentalRef }),
  ),

  // inventory: instruments and their reservations
  reserveInstrument: defineEvent(
    'inventory',
    'instrument.reserve',
    'command',
    'Reserve an instrument for a rental.',
    z.object({ ...rentalRef, instrumentId: id }),
  ),
  instrumentReserved: defineEvent(
    'inventory',
    'instrument.reserved',
    'fact',
    'The instrument is held for the rental; carries its monthly fee.',
    z.object({
      ...rentalRef,
      instrumentId: id,
      monthlyFeeCents: money.amountCents,
      currency: money.currency,
    }),
  ),
  instrumentRejected: defineEvent(
    'inventory',
    'instrument.rejected',
    'fact',
    'The instrument could not be reserved (unknown, already rented).',
    z.object({ ...rentalRef, instrumentId: id, reason, message }),
  ),
  releaseInstrument: defineEvent(
    'inventory',
    'instrument.release',
    'command',
    'Free the instrument held by the rental (compensation or termination). Idempotent.',
    z.object({ ...rentalRef, instrumentId: id }),
  ),
  instrumentReleased: defineEvent(
    'inventory',
    'instrument.released',
    'fact',
    'The rental holds the instrument no more.',
    z.object({ ...rentalRef, instrumentId: id }),
  ),

  // billing: charges and refunds
  chargePayment: defineEvent(
    'billing',
    'payment.charge',
    'command',
    'Charge one month’s fee of a rental (month 1 at confirmation, month N on its (N-1)th monthly anniversary). Idempotent per (rental, month).',
    z.object({ ...rentalRef, month, ...money, description: z.string() }),
  ),
  paymentCharged: defineEvent(
    'billing',
    'payment.charged',
    'fact',
    'The month’s fee was charged (or had been already).',
    z.object({ ...rentalRef, month, ...money, chargeId: id }),
  ),
  paymentDeclined: defineEvent(
    'billing',
    'payment.declined',
    'fact',
    'The payment provider declined the month’s charge, or the rental was already refunded.',
    z.object({ ...rentalRef, month, reason, message }),
  ),
  refundPayment: defineEvent(
    'billing',
    'payment.refund',
    'command',
    'Refund whatever was charged for the rental, and refuse any later charge for it. Idempotent.',
    z.object({ ...rentalRef }),
  ),
  paymentRefunded: defineEvent(
    'billing',
    'payment.refunded',
    'fact',
    'Nothing is charged for the rental any more (amount 0 when nothing had been charged).',
    z.object({ ...rentalRef, ...money }),
  ),

  // rentals: outcomes of the rent-instrument saga and of termination
  rentalConfirmed: defineEvent(
    'rentals',
    'rental.confirmed',
    'fact',
    'The rental is active: slot, instrument and first month’s fee are all taken.',
    z.object({
      ...rentalRef,
      instrumentId: id,
      months: z.int().min(1).max(12),
      startsOn: z.iso.date(),
      endsOn: z.iso.date(),
      ...money,
    }),
  ),
  rentalRejected: defineEvent(
    'rentals',
    'rental.rejected',
    'fact',
    'The rental was refused; everything the saga had taken was given back.',
    z.object({ ...rentalRef, instrumentId: id, reason, message }),
  ),
  rentalTerminated: defineEvent(
    'rentals',
    'rental.terminated',
    'fact',
    'An active rental ended; its instrument and slot are being freed. Reason: ENDED (its end date came), PAYMENT_OVERDUE (a month stayed unpaid past the grace period) or TERMINATED_EARLY (by request).',
    z.object({
      ...rentalRef,
      instrumentId: id,
      terminatedAt: z.iso.datetime(),
      reason: z.enum(['ENDED', 'PAYMENT_OVERDUE', 'TERMINATED_EARLY']),
    }),
  ),
  paymentMissed: defineEvent(
    'rentals',
    'payment.missed',
    'fact',
    'A monthly charge of an active rental was declined: the rental is in arrears until a daily retry succeeds, and ends with PAYMENT_OVERDUE after the grace period.',
    z.object({
      ...rentalRef,
      instrumentId: id,
      month,
      dueOn: z.iso.date(),
      graceEndsOn: z.iso.date().describe('the school date on which the rental ends if still unpaid'),
      reason,
      message,
    }),
  ),

  // the daily tick that drives monthly charges and the end of rentals
  schoolDayStarted: {
    type: 'dev.knative.sources.ping',
    // What Knative's PingSource adapter sets: /apis/v1/namespaces/<namespace>/pingsources/<name>
    // (knative/eventing pkg/apis/sources/v1 PingSourceSource); the local clock sends the same.
    source: '/apis/v1/namespaces/soundgood/pingsources/school-day',
    kind: 'fact',
    producer: 'school-clock',
    description:
      'A school day began: the daily tick, at 00:05 in the school’s time zone. Its CloudEvents `time` says when; the day is its date in SCHOOL_TIME_ZONE. Rentals processes every day up to it not yet processed, each once.',
    schema: z.object({ timeZone: z.string().min(1).describe('the IANA zone the tick is scheduled in') }),
  },

  // the monthly report (functions/monthly-report), for whoever subscribes: nothing in Soundgood does
  reportPublished: {
    type: 'dev.soundgood.reports.report.published.v1',
    source: '/soundgood/monthly-report',
    kind: 'fact',
    producer: 'monthly-report',
    description:
      'The report of a month of the school’s calendar: rentals started, ended and active, revenue and refunds by instrument type, instrument utilisation. Published by the monthly-report function on the 1st (and on demand), at most once per run; partitionkey is the month.',
    schema: monthlyReport,
  },
} as const satisfies Record<string, EventDefinition>;

export type EventName = keyof typeof events;
export type AnyEvent = (typeof events)[EventName];

/** Data type by event type: `@EventPattern<EventMap>(events.x.type)` types the handler's payload. */
export type EventMap = { [E in AnyEvent as E['type']]: EventData<E> };

export interface Subscription {
  /** Unique; the Knative Trigger's name and, locally, the Kafka consumer group's suffix. */
  readonly name: string;
  readonly service: ServiceName;
  readonly event: AnyEvent;
  /**
   * Knative ordered delivery: the Trigger hands over the events of one partition one at a time,
   * holding the partition while one is retried. No subscription needs it today: that order is per
   * Trigger, i.e. per event type, and a saga never has two events of one type in flight (the
   * orchestrator sends one command and waits for its reply), while across Triggers ordered delivery
   * guarantees nothing. The saga stays right through its one-step-at-a-time state machine, the inbox
   * and the version-checked saga row; participants tolerate a release before its reserve. Ordered
   * delivery would cost 650-780 ms p50 per saga step, a command and its reply (two hops; the
   * dispatcher's ordered executor polls on a ~200 ms timer): measured in docs/benchmarks.md
   * ("ORDERED or UNORDERED Triggers").
   */
  readonly ordered: boolean;
}

/** The name defaults to `<service>-<entity>-<verb>` of a Soundgood type. */
function subscribe(service: ServiceName, event: AnyEvent, name?: string): Subscription {
  const [, , , entity, verb] = event.type.split('.');
  return { name: name ?? `${service}-${entity}-${verb}`, service, event, ordered: false };
}

/** Who consumes what: the only place where consumers are declared. */
export const subscriptions: readonly Subscription[] = [
  subscribe('students', events.reserveSlot),
  subscribe('students', events.releaseSlot),

  subscribe('inventory', events.reserveInstrument),
  subscribe('inventory', events.releaseInstrument),

  subscribe('billing', events.chargePayment),
  subscribe('billing', events.refundPayment),

  subscribe('rentals', events.slotReserved),
  subscribe('rentals', events.slotRejected),
  subscribe('rentals', events.slotReleased),
  subscribe('rentals', events.instrumentReserved),
  subscribe('rentals', events.instrumentRejected),
  subscribe('rentals', events.instrumentReleased),
  subscribe('rentals', events.paymentCharged),
  subscribe('rentals', events.paymentDeclined),
  subscribe('rentals', events.paymentRefunded),
  subscribe('rentals', events.schoolDayStarted, 'rentals-school-day'),

  subscribe('notifications', events.rentalConfirmed),
  subscribe('notifications', events.rentalRejected),
  subscribe('notifications', events.rentalTerminated),
  subscribe('notifications', events.paymentMissed),
];

const byType = new Map<string, AnyEvent>(Object.values(events).map((e) => [e.type, e]));

export function findEvent(type: string): AnyEvent | undefined {
  return byType.get(type);
}

export function consumersOf(type: string): ServiceName[] {
  return subscriptions.filter((s) => s.event.type === type).map((s) => s.service);
}

export function subscriptionsOf(service: ServiceName): Subscription[] {
  return subscriptions.filter((s) => s.service === service);
}

export function producedBy(service: Producer): AnyEvent[] {
  return Object.values(events).filter((e) => e.producer === service);
}
