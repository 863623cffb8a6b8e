export {
  AnyRole,
  CurrentPrincipal,
  ensureActsFor,
  OwnerOrStaff,
  Public,
  Roles,
  StudentOrStaff,
} from './auth/access.js';
export type { Principal, Role } from './auth/principal.js';
export { RateLimited } from './auth/rate-limit.js';
export { runService, type ServiceOptions } from './bootstrap.js';
export {
  type BaseConfig,
  baseConfigSchema,
  ConfigError,
  configOrExit,
  defineConfig,
  duration,
  loadConfig,
  positiveInt,
} from './config.js';
export { EVENTING_DATABASE, type EventingDatabase, type SqlExecutor } from './database.js';
export {
  type DeadLetter,
  listDeadLetters,
  originalEvent,
  originalRecord,
} from './dead-letters/dead-letters.js';
export { type DispatchResult, EventContext, EventDispatcher } from './dispatcher.js';
export { EventingModule } from './eventing.module.js';
export {
  createEvent,
  type EventOptions,
  ForeignSourceError,
  fromStructured,
  InvalidEventError,
  PermanentEventError,
  toStructured,
  validateIncoming,
} from './events.js';
export { Inbox } from './inbox/inbox.js';
export { KafkaPublisher } from './kafka/kafka.publisher.js';
export { fromKafkaRecord, headerText, toKafkaRecord } from './kafka/kafka.records.js';
export {
  type ConsumerGroupMode,
  consumerGroupsOf,
  defaultConsumerGroupMode,
  KafkaSubscriber,
  maxEventsPerTransaction,
} from './kafka/kafka.subscriber.js';
export { KnativePublisher } from './knative/knative.publisher.js';
export { EventingMetrics } from './metrics.js';
export { Outbox } from './outbox/outbox.js';
export { OutboxRelay } from './outbox/outbox.relay.js';
export { databaseFor, isUniqueViolation } from './prisma.js';
export type { EventPublisher } from './publisher.js';
export { Retention, type RetentionTable } from './retention/retention.js';
export { EventingServer } from './server.js';
export { TracingLogger } from './telemetry/logger.js';
export { startTelemetry, stopTelemetry } from './telemetry/telemetry.js';
export { contextFrom, currentTraceContext, inSpan, tracer } from './telemetry/tracing.js';
export { CONFIG } from './tokens.js';
export { validationPipe } from './validation.js';
