/** The shape of docs/benchmarks/results.json. Latencies in milliseconds. */
import type { FloorResult } from './floor.ts';
import type { ProfileSummary } from './profile.ts';
import type { Summary } from './stats.ts';

export interface ConfigurationReport {
  name: string;
  description: string;
  env: Record<string, string>;
  startupS: number;
  seedS: number;
  seeded: number;
  /** Mean bytes of a record on the events topic (key + value + headers). */
  recordBytes: number;
  otlp?: { requests: number; bytes: number };
  /** Offered rates not run because a lower one was not sustained. */
  skippedRates?: number[];
}

export interface PhaseReport {
  configuration: string;
  kind: 'open' | 'closed';
  offeredRate?: number;
  concurrency?: number;
  windowS: number;
  /** Sagas of earlier phases still in flight when this one started (the drain gave up). */
  backlogAtStart: number;
  requested: number;
  confirmed: number;
  rejected: number;
  errors: number;
  /** Not ended within the drain time after the load stopped. */
  incomplete: number;
  /**
   * Sagas confirmed per second. Open loop: all confirmed / (last confirmation - first send).
   * Closed loop: confirmed within the window / the window.
   */
  throughput: number;
  /** Intended send time -> rental.confirmed observed (confirmed sagas). */
  latencyMs: Summary;
  /** POST /rentals answered 202 -> rental.confirmed observed. */
  acceptedToEndMs: Summary;
  /** post: intended send -> 202; the saga's steps from its history; confirm: charged -> observed. */
  stepsMs: Record<string, Summary>;
  /** soundgood_outbox_lag_seconds of all services over the phase (from the histogram buckets). */
  outboxLagMs: { count: number; mean: number; p50: number; p99: number } | null;
  /**
   * CPU milliseconds per saga ended (confirmed or rejected) over the phase, load and drain included: the
   * Soundgood processes, Kafka, the broker's data plane and PostgreSQL (not the load generator), in total
   * and per group.
   */
  cpuMsPerSaga: { total: number; byGroup: Record<string, number> } | null;
  resources: {
    processes: Record<string, { cpuPercent: number; cpuSeconds: number; rssMiB: number; processes: number }>;
    machine: { cpuPercent: number; otherPercent: number; loadAverage: number[] };
  };
  exhausted?: boolean;
  errorSamples: string[];
}

/** One number per transport; null where that configuration did not run at that load. */
export interface TransportTriple {
  kafka: number | null;
  ordered: number | null;
  unordered: number | null;
}

export interface BenchResults {
  startedAt: string;
  finishedAt: string;
  smoke: boolean;
  /** The --quick preset: the headline figures only. Absent in results written before it existed. */
  quick?: boolean;
  options: {
    rates: number[];
    durationS: number;
    closedS: number;
    concurrency: number;
    floorIterations: number;
    tracingRate: number;
  };
  machine: {
    cpus: number;
    cpuModel: string;
    memoryGiB: number;
    node: string;
    kafka: string;
    postgres: string;
    kafkaBrokers: string;
  };
  configurations: ConfigurationReport[];
  phases: PhaseReport[];
  floor: FloorResult | undefined;
  comparisons: {
    floor: { offeredRate: number; sagaP50: number; floorP50: number; ratio: number }[];
    naive: { load: string; throughputRatio: number; p50Ratio: number; p99Ratio: number }[];
    tracing: {
      load: string;
      throughput: { off: number; made: number | null; exported: number };
      p50: { off: number; made: number | null; exported: number };
      p99: { off: number; made: number | null; exported: number };
    }[];
    /** Direct Kafka (`reliable`) against Knative's broker with ORDERED and UNORDERED Triggers. */
    transport: {
      load: string;
      throughput: TransportTriple;
      p50: TransportTriple;
      p99: TransportTriple;
    }[];
  };
  targets: { target: string; value: string; met: boolean | null }[];
  profiles: ProfileSummary[];
}
