/**
 * Prometheus metrics of a service, served on their own port (`http-metrics`). One registry per
 * service process; the service adds its own metrics to it.
 */
import { createServer, type Server } from 'node:http';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export type ConsumeOutcome = 'success' | 'duplicate' | 'error' | 'invalid';

export class EventingMetrics {
  readonly registry = new Registry();

  /** Flagger's event-handling success rate: (success + duplicate) / all. */
  readonly consumed = new Counter({
    name: 'soundgood_events_consumed_total',
    help: 'Events handled, by type and outcome (error = will be retried, invalid = never retried).',
    labelNames: ['event_type', 'outcome'] as const,
    registers: [this.registry],
  });

  /**
   * Events refused because their `source` is not their type's producer (ForeignSourceError), by type
   * (a catalog type: unknown types are refused before, as invalid). Also counted as `invalid` above.
   */
  readonly refused = new Counter({
    name: 'soundgood_events_refused_total',
    help: 'Events refused because their source is not the catalog producer of their type, by type.',
    labelNames: ['event_type'] as const,
    registers: [this.registry],
  });

  readonly published = new Counter({
    name: 'soundgood_events_published_total',
    help: 'Events published by the outbox relay, by type.',
    labelNames: ['event_type'] as const,
    registers: [this.registry],
  });

  readonly outboxLag = new Histogram({
    name: 'soundgood_outbox_lag_seconds',
    help: 'Time from the commit of an outbox row to its publication.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly retentionDeleted = new Counter({
    name: 'soundgood_retention_deleted_rows_total',
    help: 'Published outbox rows and processed inbox rows deleted after their retention window, by table.',
    labelNames: ['table'] as const,
    registers: [this.registry],
  });

  readonly deadLettered = new Counter({
    name: 'soundgood_dead_letters_total',
    help: 'Events sent to the dead-letter topic, by type and subscription.',
    labelNames: ['event_type', 'subscription'] as const,
    registers: [this.registry],
  });

  readonly consumerLag = new Gauge({
    name: 'soundgood_consumer_lag',
    help: 'Records of the events topic not yet consumed by a subscription, per partition (kafka transport).',
    labelNames: ['subscription', 'partition'] as const,
    registers: [this.registry],
  });

  readonly handleDuration = new Histogram({
    name: 'soundgood_event_handle_duration_seconds',
    help: 'Time to handle one event, including its transaction.',
    labelNames: ['event_type'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  /**
   * Relevant events the kafka transport handled together in one transaction (a chunk of a
   * partition's fetched batch; 1 = handled alone, as every event on Knative).
   */
  readonly batchSize = new Histogram({
    name: 'soundgood_events_batch_size',
    help: 'Events handled in one transaction by the kafka transport, per chunk of a fetched batch.',
    buckets: [1, 2, 5, 10, 20, 50],
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'http_server_request_duration_seconds',
    help: 'HTTP requests served, by method, route and status code.',
    labelNames: ['http_request_method', 'http_route', 'http_response_status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  constructor(service: string) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry });
  }

  serve(port: number): Promise<Server> {
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || req.url !== '/metrics') {
        res.writeHead(404).end('not found: metrics are at GET /metrics\n');
        return;
      }
      this.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        (error: Error) => res.writeHead(500).end(error.message),
      );
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, () => resolve(server));
    });
  }
}
