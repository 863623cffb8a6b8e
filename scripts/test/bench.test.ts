// The benchmark's smoke run (`node scripts/bench.ts --smoke`) against the real Kafka and PostgreSQL:
// it keeps the benchmark working. It checks the shape of the results, never how fast anything is.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { BenchResults } from '../bench/results.ts';

const bench = resolve(import.meta.dirname, '..', 'bench.ts');

function requireInfrastructure(): void {
  for (const name of ['KAFKA_BROKERS', 'DATABASE_URL']) {
    if (!process.env[name]) {
      throw new Error(
        `${name} is not set: run the tests with \`npm test\` at the repository root, which starts Kafka and PostgreSQL`,
      );
    }
  }
}

describe('the benchmark smoke run', () => {
  it('reports throughput, ordered latency percentiles, the floor, the naive ratio and the broker beside Kafka', async () => {
    requireInfrastructure();
    const out = join(mkdtempSync(join(tmpdir(), 'soundgood-bench-test-')), 'results.json');
    await promisify(execFile)(process.execPath, [bench, '--smoke', '--out', out], {
      env: process.env,
      // About 3 minutes on two quiet cores; over 280 s at a load average of 16-20 (three JVM starts).
      timeout: 570_000,
      maxBuffer: 16 * 2 ** 20,
    });
    const results = JSON.parse(readFileSync(out, 'utf8')) as BenchResults;

    expect(results.smoke).toBe(true);
    expect(results.phases.map((p) => `${p.configuration} ${p.kind}`)).toEqual([
      'reliable open',
      'reliable closed',
      'naive open',
      'naive closed',
      'knative open',
    ]);
    for (const phase of results.phases) {
      const where = `${phase.configuration} ${phase.kind}`;
      expect(phase.confirmed, where).toBeGreaterThan(0);
      expect(phase.throughput, where).toBeGreaterThan(0);
      const { p50, p95, p99, max } = phase.latencyMs;
      expect(p50, where).toBeGreaterThan(0);
      expect([p50, p95, p99, max], where).toEqual([p50, p95, p99, max].sort((a, b) => a - b));
      expect(phase.stepsMs.RESERVE_SLOT?.count, where).toBe(phase.confirmed);
    }
    expect(results.phases[0]?.outboxLagMs?.count).toBeGreaterThan(0);
    expect(results.phases[2]?.outboxLagMs).toBeNull();

    expect(results.floor?.chain.p50).toBeGreaterThan(0);
    expect(results.floor?.hops).toBe(7);
    expect(results.comparisons.floor[0]?.ratio).toBeGreaterThan(0);
    const closed = results.comparisons.naive.find((c) => c.load.startsWith('closed'));
    expect(closed?.throughputRatio).toBeGreaterThan(0);
    expect(Number.isFinite(closed?.p50Ratio)).toBe(true);
    // Issue 13's six targets, each with a value; the closed loop's CPU per saga is measured in the smoke run too.
    expect(results.targets.map((t) => t.target)).toHaveLength(6);
    const reliableClosed = results.phases[1];
    expect(reliableClosed?.cpuMsPerSaga?.total).toBeGreaterThan(0);
    expect(reliableClosed?.cpuMsPerSaga?.byGroup.postgres).toBeGreaterThan(0);
    expect(results.targets[0]?.value).toMatch(/^\d+(\.\d+)? ms \(/);
    // Through the broker: its two JVMs are measured, and it stands beside direct Kafka.
    const knative = results.phases.find((p) => p.configuration === 'knative' && p.kind === 'open');
    expect(knative?.resources.processes.knative?.processes).toBe(2);
    const [transport] = results.comparisons.transport;
    expect(transport?.load).toBe('5/s');
    expect(transport?.throughput.kafka).toBeGreaterThan(0);
    // The smoke run's broker configuration is the catalog's: UNORDERED Triggers; ORDERED is not run.
    expect(transport?.throughput.unordered).toBeGreaterThan(0);
    expect(transport?.p50.unordered).toBeGreaterThan(0);
    expect(transport?.throughput.ordered).toBeNull();
    expect(readFileSync(join(out, '..', 'latency.svg'), 'utf8')).toMatch(/^<svg /);
    expect(existsSync(out)).toBe(true);
  }, 600_000);
});
