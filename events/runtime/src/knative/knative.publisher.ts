import { readFile } from 'node:fs/promises';
import { type CloudEvent, HTTP } from 'cloudevents';
import type { EventPublisher } from '../publisher.js';
import { publishing } from '../telemetry/tracing.js';

export interface KnativePublisherOptions {
  timeoutMs?: number;
  /**
   * A projected ServiceAccount token whose audience is the broker's (K_SINK_TOKEN_FILE), sent as
   * `Authorization: Bearer`: with Knative's `authentication-oidc` the broker ingress answers 401
   * without it, and its EventPolicies authorize the token's subject (docs/security.md, Events).
   * None locally: the local data plane runs without OIDC.
   */
  tokenFile?: string;
  /** How long a token read from the file is reused before the file is read again. */
  tokenMaxAgeMs?: number;
}

/**
 * A token file the kubelet rewrites before the token expires (at 80% of its lifetime, at least 8 of
 * its 10 minutes): re-read once a minute, and at once after the ingress answered 401.
 * https://kubernetes.io/docs/concepts/storage/projected-volumes/#serviceaccounttoken
 */
export class ProjectedToken {
  private cached: { value: string; readAt: number } | undefined;

  constructor(
    readonly path: string,
    private readonly maxAgeMs = 60_000,
  ) {}

  async value(): Promise<string> {
    if (this.cached && performance.now() - this.cached.readAt < this.maxAgeMs) return this.cached.value;
    const value = (await readFile(this.path, 'utf8')).trim();
    if (!value) throw new Error(`the token file ${this.path} is empty`);
    this.cached = { value, readAt: performance.now() };
    return value;
  }

  /** The next value() reads the file again (the ingress refused the token: it may have rotated). */
  forget(): void {
    this.cached = undefined;
  }
}

/**
 * Publishes to the Knative broker ingress (`K_SINK`) by HTTP POST in binary content mode, one event
 * at a time to keep their order. Only 202 Accepted counts: anything else is an error, retried by the
 * outbox relay.
 * https://knative.dev/docs/eventing/reference/data-plane/ (event ingress)
 */
export class KnativePublisher implements EventPublisher {
  private readonly timeoutMs: number;
  private readonly token: ProjectedToken | undefined;

  constructor(
    private readonly sink: string,
    options: KnativePublisherOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.token = options.tokenFile ? new ProjectedToken(options.tokenFile, options.tokenMaxAgeMs) : undefined;
  }

  async connect(): Promise<void> {
    // Fail at start, naming the file, rather than at the first event.
    await this.token?.value();
  }

  async publish(events: readonly CloudEvent<unknown>[]): Promise<void> {
    for (const event of events) {
      await publishing([event], 'knative', this.sink, ([hop]) => this.post(event, hop ?? {}));
    }
  }

  private async post(event: CloudEvent<unknown>, hop: Record<string, string>): Promise<void> {
    const message = HTTP.binary(event);
    const authorization: Record<string, string> = this.token
      ? { authorization: `Bearer ${await this.token.value()}` }
      : {};
    const response = await fetch(this.sink, {
      method: 'POST',
      headers: { ...(message.headers as Record<string, string>), ...hop, ...authorization },
      body: typeof message.body === 'string' ? message.body : JSON.stringify(message.body),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (response.status !== 202) {
      if (response.status === 401) this.token?.forget();
      const text = await response.text().catch(() => '');
      // 401: no valid token for the broker's audience; 403: no EventPolicy lets this sender send this type.
      throw new Error(
        `broker ingress ${this.sink} answered ${response.status} for ${event.type} ${event.id}: ${text}`,
      );
    }
  }

  async disconnect(): Promise<void> {}
}
