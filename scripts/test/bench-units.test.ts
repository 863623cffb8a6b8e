import { describe, expect, it } from 'vitest';
import { renderChart } from '../bench/plot.ts';
import { packageOf } from '../bench/profile.ts';
import { histogramQuantile, parseHistogram, subtractHistograms } from '../bench/prometheus.ts';
import { percentile, summarize } from '../bench/stats.ts';

describe('benchmark statistics', () => {
  it('takes nearest-rank percentiles', () => {
    const samples = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(samples, 50)).toBe(50);
    expect(percentile(samples, 99)).toBe(99);
    expect(summarize([3, 1, 2])).toMatchObject({ count: 3, p50: 2, p99: 3, max: 3, mean: 2 });
    expect(summarize([]).p50).toBeNaN();
  });

  it('sums a histogram over label sets, subtracts scrapes and estimates quantiles as PromQL does', () => {
    const scrape = (a: number, b: number) =>
      [
        '# TYPE soundgood_outbox_lag_seconds histogram',
        `soundgood_outbox_lag_seconds_bucket{le="0.01",service="x"} ${a}`,
        `soundgood_outbox_lag_seconds_bucket{le="0.1",service="x"} ${b}`,
        `soundgood_outbox_lag_seconds_bucket{le="+Inf",service="x"} ${b}`,
        `soundgood_outbox_lag_seconds_sum{service="x"} 1`,
        `soundgood_outbox_lag_seconds_count{service="x"} ${b}`,
        'soundgood_outbox_lag_seconds_other 5',
      ].join('\n');
    const before = parseHistogram(scrape(10, 10), 'soundgood_outbox_lag_seconds');
    const after = parseHistogram(scrape(10, 30), 'soundgood_outbox_lag_seconds');
    const phase = subtractHistograms(after, before);
    expect(phase.count).toBe(20);
    expect(histogramQuantile(phase, 0.5)).toBeCloseTo(0.055);
    expect(histogramQuantile(before, 0.5)).toBeCloseTo(0.005);
  });

  it('names the package a profiled function comes from', () => {
    expect(packageOf('file:///w/node_modules/@prisma/client/runtime/x.js', 'f')).toBe('@prisma/client');
    expect(packageOf('file:///w/node_modules/kafkajs/src/a.js', 'f')).toBe('kafkajs');
    expect(packageOf('node:internal/streams', 'f')).toBe('node (internals)');
    expect(packageOf('', '(garbage collector)')).toBe('(garbage collector)');
  });

  it('draws the latency chart as an SVG with one polyline per series', () => {
    const svg = renderChart({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      series: [
        {
          label: 'a',
          color: 'red',
          points: [
            { x: 10, y: 50 },
            { x: 50, y: 500 },
          ],
        },
        { label: 'b', color: 'blue', dashed: true, points: [{ x: 10, y: Number.NaN }] },
      ],
      guides: [{ label: 'g', color: 'grey', y: 250 }],
    });
    expect(svg).toMatch(/^<svg /);
    expect(svg.match(/<polyline/g)).toHaveLength(1);
  });
});
