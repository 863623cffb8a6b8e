/**
 * Configuration shared by every service: read once from the environment at start, validated, and
 * fatal with a message naming each missing or invalid variable. Services add theirs with `defineConfig`.
 */
import { z } from 'zod';
import { consumerGroupModes, defaultConsumerGroupMode } from './kafka/kafka.subscriber.js';

export const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const durationUnits = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A duration such as `500ms`, `30s`, `15m`, `24h` or `14d`, in milliseconds. */
export const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const match = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim());
      const ms = match ? Number(match[1]) * durationUnits[match[2] as keyof typeof durationUnits] : 0;
      if (ms > 0 && Number.isSafeInteger(ms)) return ms;
      ctx.addIssue({
        code: 'custom',
        message: `expected a positive duration such as 30s, 15m, 24h or 14d, got "${text}"`,
      });
      return z.NEVER;
    });

/** Who may call the HTTP API (events/runtime/src/auth); also read by the dead-letters CLI. */
export const authShape = {
  /**
   * The OIDC issuer whose bearer tokens the HTTP API accepts (its `iss`, exactly), and the audience
   * they must name. Required to start (runService checks): without them no route but health answers.
   */
  OIDC_ISSUER: z.url().optional(),
  OIDC_AUDIENCE: z.string().min(1).optional(),
  /** The issuer's JWKS; by default discovered from `<OIDC_ISSUER>/.well-known/openid-configuration`. */
  OIDC_JWKS_URI: z.url().optional(),
  /** The signature algorithms accepted, comma-separated: asymmetric only (never `none` or HS*). */
  OIDC_ALGORITHMS: z
    .string()
    .default('RS256')
    .transform((text) => text.split(',').map((alg) => alg.trim()))
    .pipe(
      z
        .array(
          z.enum([
            'RS256',
            'RS384',
            'RS512',
            'PS256',
            'PS384',
            'PS512',
            'ES256',
            'ES384',
            'ES512',
            'EdDSA',
            'Ed25519',
          ]),
        )
        .min(1),
    ),
  /** The claim holding the caller's roles (an array or a space-separated string); dots descend, e.g. realm_access.roles. */
  OIDC_ROLES_CLAIM: z.string().min(1).default('roles'),
  OIDC_STUDENT_ROLE: z.string().min(1).default('student'),
  OIDC_STAFF_ROLE: z.string().min(1).default('staff'),
  OIDC_CLOCK_TOLERANCE_S: z.coerce.number().int().min(0).max(300).default(30),
};

const baseShape = {
  PORT: z.coerce.number().int().min(1).max(65535).default(8080),
  METRICS_PORT: z.coerce.number().int().min(1).max(65535).default(9464),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
  EVENT_TRANSPORT: z.enum(['kafka', 'knative']),
  KAFKA_BROKERS: z.string().min(1).optional(),
  KAFKA_TOPIC: z.string().min(1).default('soundgood.events'),
  KAFKA_DEAD_LETTER_TOPIC: z.string().min(1).default('soundgood.dead-letters'),
  /**
   * `per-service` (default): one consumer group per service for all its subscriptions, with the same
   * filtering and dead letters as one per subscription and far fewer fetches, since every group reads
   * the whole topic (docs/benchmarks.md). `per-subscription`: a group per catalog subscription, as
   * Knative makes one per Trigger in a cluster (where its dispatcher consumes, not the service).
   */
  KAFKA_CONSUMER_GROUPS: z.enum(consumerGroupModes).default(defaultConsumerGroupMode),
  K_SINK: z.url().optional(),
  /**
   * A projected ServiceAccount token with the broker's audience, sent to K_SINK as `Authorization:
   * Bearer` and re-read as the kubelet rotates it (k8s/base/services/*: volume broker-token). Unset
   * locally, where the data plane runs without OIDC (docs/security.md, Events).
   */
  K_SINK_TOKEN_FILE: z.string().min(1).optional(),
  EVENT_MAX_ATTEMPTS: positiveInt(5),
  EVENT_RETRY_BACKOFF_MS: positiveInt(200),
  OUTBOX_POLL_INTERVAL_MS: positiveInt(1000),
  /** How long a published outbox row is kept: only for an operator's look back, nothing re-reads it. */
  OUTBOX_RETENTION: duration('1d'),
  /**
   * How long an inbox row is kept, i.e. how long a redelivery is still recognised. It must outlast
   * every redelivery the broker can still make: events topic and dead-letter topic retention (7 d
   * each by default) and a replayed dead letter (docs/retention.md).
   */
  INBOX_RETENTION: duration('14d'),
  // setInterval takes at most 2^31-1 ms (about 24.8 days); a sweep a day is the sensible ceiling.
  RETENTION_INTERVAL: duration('1m').pipe(z.number().max(86_400_000, 'at most 1d')),
  RETENTION_BATCH_SIZE: positiveInt(500),
  /**
   * `naive` exists only as the benchmark's baseline (scripts/bench): events are published inside the
   * transaction instead of through the outbox, and the inbox is skipped. It can lose and repeat
   * effects; never run it for real.
   */
  EVENT_DELIVERY: z.enum(['reliable', 'naive']).default('reliable'),
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
  DEPLOYMENT_ENVIRONMENT: z.string().default('local'),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  OTEL_SERVICE_NAME: z.string().optional(),
  ...authShape,
  /** Requests per caller (token subject) per window on the rate-limited routes (POST /rentals). */
  RATE_LIMIT: positiveInt(10),
  RATE_LIMIT_WINDOW: duration('1m'),
};

/** A service's config schema: the shared variables plus its own. */
export function defineConfig<Shape extends z.ZodRawShape>(shape: Shape) {
  return z.object({ ...baseShape, ...shape }).superRefine((parsed, ctx) => {
    const config = parsed as { EVENT_TRANSPORT: string; KAFKA_BROKERS?: string; K_SINK?: string };
    if (config.EVENT_TRANSPORT === 'kafka' && !config.KAFKA_BROKERS) {
      ctx.addIssue({
        code: 'custom',
        path: ['KAFKA_BROKERS'],
        message: 'required when EVENT_TRANSPORT=kafka',
      });
    }
    if (config.EVENT_TRANSPORT === 'knative' && !config.K_SINK) {
      ctx.addIssue({ code: 'custom', path: ['K_SINK'], message: 'required when EVENT_TRANSPORT=knative' });
    }
  });
}

export const baseConfigSchema = defineConfig({});
export type BaseConfig = z.infer<typeof baseConfigSchema>;

export class ConfigError extends Error {}

/** Parses the environment; throws a ConfigError that names every bad variable. */
export function loadConfig<Schema extends z.ZodType<BaseConfig>>(
  schema: Schema,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<Schema> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`,
  );
  throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
}

/** For a service's main: the configuration, or the problems printed and exit code 1. */
export function configOrExit<Schema extends z.ZodType<BaseConfig>>(schema: Schema): z.infer<Schema> {
  try {
    return loadConfig(schema);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}
