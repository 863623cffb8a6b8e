/**
 * Histograms from the services' Prometheus text: the buckets summed over every label set, and the
 * difference of two scrapes, so a phase's numbers do not include the phases before it.
 */
export interface Histogram {
  /** Cumulative counts by upper bound (seconds), ascending; the last bound is +Inf. */
  buckets: [number, number][];
  count: number;
  sum: number;
}

const empty = (): Histogram => ({ buckets: [], count: 0, sum: 0 });

export function parseHistogram(text: string, name: string, labels: Record<string, string> = {}): Histogram {
  const byBound = new Map<number, number>();
  const histogram = empty();
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^(\w+)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!match) continue;
    const [, metric, labelText = '', valueText] = match;
    const parsed = Object.fromEntries(
      [...labelText.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).some(([key, value]) => parsed[key] !== value)) continue;
    const value = Number(valueText);
    if (metric === `${name}_bucket`) {
      const bound = parsed.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(parsed.le);
      byBound.set(bound, (byBound.get(bound) ?? 0) + value);
    } else if (metric === `${name}_count`) histogram.count += value;
    else if (metric === `${name}_sum`) histogram.sum += value;
  }
  histogram.buckets = [...byBound.entries()].sort((a, b) => a[0] - b[0]);
  return histogram;
}

export function addHistograms(a: Histogram, b: Histogram): Histogram {
  const byBound = new Map(a.buckets);
  for (const [bound, count] of b.buckets) byBound.set(bound, (byBound.get(bound) ?? 0) + count);
  return {
    buckets: [...byBound.entries()].sort((x, y) => x[0] - y[0]),
    count: a.count + b.count,
    sum: a.sum + b.sum,
  };
}

export function subtractHistograms(after: Histogram, before: Histogram): Histogram {
  const earlier = new Map(before.buckets);
  return {
    buckets: after.buckets.map(([bound, count]) => [bound, count - (earlier.get(bound) ?? 0)]),
    count: after.count - before.count,
    sum: after.sum - before.sum,
  };
}

/** As PromQL's histogram_quantile: linear within the bucket; the bucket bound when it is the last. */
export function histogramQuantile(histogram: Histogram, q: number): number {
  if (histogram.count <= 0) return Number.NaN;
  const target = q * histogram.count;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [bound, count] of histogram.buckets) {
    if (count >= target) {
      if (bound === Number.POSITIVE_INFINITY) return lowerBound;
      const inBucket = count - lowerCount;
      return inBucket > 0 ? lowerBound + ((bound - lowerBound) * (target - lowerCount)) / inBucket : bound;
    }
    lowerBound = bound;
    lowerCount = count;
  }
  return lowerBound;
}
