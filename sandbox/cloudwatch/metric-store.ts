/**
 * CloudWatch metrics as the sandbox keeps them: one series per (namespace, metric name,
 * dimension set), each a list of datapoints in time order.
 */

export interface Dimension {
  Name: string;
  Value: string;
}

export interface MetricSeries {
  namespace: string;
  metricName: string;
  /** Sorted by name. */
  dimensions: Dimension[];
  times: number[];
  values: number[];
}

export type Statistic = "Sum" | "SampleCount" | "Average" | "Minimum" | "Maximum";
export const STATISTICS: readonly Statistic[] = ["Sum", "SampleCount", "Average", "Minimum", "Maximum"];

export function seriesKey(namespace: string, metricName: string, dimensions: readonly Dimension[]): string {
  const dims = [...dimensions]
    .sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0))
    .map((d) => `${d.Name}=${d.Value}`)
    .join("\u0001");
  return `${namespace}\u0000${metricName}\u0000${dims}`;
}

export class MetricStore {
  private readonly series = new Map<string, MetricSeries>();
  /** Dimension arrays seen before: publishers reuse theirs, so their part of the key is worked out once. */
  private readonly dimensionKeys = new WeakMap<readonly Dimension[], string>();

  /** Adds one datapoint (datapoints of a series must come in time order). */
  put(
    namespace: string,
    metricName: string,
    dimensions: readonly Dimension[],
    timeMs: number,
    value: number,
  ): void {
    let dimensionKey = this.dimensionKeys.get(dimensions);
    if (dimensionKey === undefined) {
      dimensionKey = seriesKey("", "", dimensions).slice(1);
      this.dimensionKeys.set(dimensions, dimensionKey);
    }
    const key = `${namespace}\u0000${metricName}${dimensionKey}`;
    let s = this.series.get(key);
    if (!s) {
      s = {
        namespace,
        metricName,
        dimensions: [...dimensions].sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0)),
        times: [],
        values: [],
      };
      this.series.set(key, s);
    }
    s.times.push(timeMs);
    s.values.push(value);
  }

  get(namespace: string, metricName: string, dimensions: readonly Dimension[]): MetricSeries | undefined {
    return this.series.get(seriesKey(namespace, metricName, dimensions));
  }

  /** Every series, in the order they first got data. */
  all(): MetricSeries[] {
    return [...this.series.values()];
  }

  get size(): number {
    return this.series.size;
  }

  /** Drops datapoints older than `beforeMs` (CloudWatch keeps 1-minute data for 15 days). */
  prune(beforeMs: number): void {
    for (const s of this.series.values()) {
      let drop = 0;
      while (drop < s.times.length && s.times[drop] < beforeMs) drop++;
      if (drop > 0) {
        s.times.splice(0, drop);
        s.values.splice(0, drop);
      }
    }
  }
}

/**
 * Aggregates a series over [startMs, endMs) in periods from `startMs`: one value per period
 * that has datapoints, oldest first.
 */
export function aggregate(
  s: MetricSeries | undefined,
  startMs: number,
  endMs: number,
  periodMs: number,
  statistic: Statistic,
): { times: number[]; values: number[] } {
  const times: number[] = [];
  const values: number[] = [];
  if (!s) return { times, values };
  let lo = 0;
  let hi = s.times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (s.times[mid] < startMs) lo = mid + 1;
    else hi = mid;
  }
  let bucket = -1;
  let sum = 0;
  let count = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  const flush = () => {
    if (bucket < 0 || count === 0) return;
    times.push(startMs + bucket * periodMs);
    values.push(
      statistic === "Sum"
        ? sum
        : statistic === "SampleCount"
          ? count
          : statistic === "Average"
            ? sum / count
            : statistic === "Minimum"
              ? min
              : max,
    );
  };
  for (let i = lo; i < s.times.length && s.times[i] < endMs; i++) {
    const b = Math.floor((s.times[i] - startMs) / periodMs);
    if (b !== bucket) {
      flush();
      bucket = b;
      sum = 0;
      count = 0;
      min = Number.POSITIVE_INFINITY;
      max = Number.NEGATIVE_INFINITY;
    }
    const v = s.values[i];
    sum += v;
    count++;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  flush();
  return { times, values };
}
