/**
 * Per-rule sampling statistics in 10-second windows, as X-Ray aggregates what clients report
 * (and what GetSamplingStatisticSummaries returns): requests matched, traces sampled, traces
 * borrowed. Only recent windows are kept.
 */

export const STATISTICS_WINDOW_MS = 10_000;

export interface StatisticSummary {
  RuleName: string;
  /** Start of the window, seconds since the epoch. */
  Timestamp: number;
  RequestCount: number;
  SampledCount: number;
  BorrowCount: number;
}

interface Window {
  ruleName: string;
  start: number;
  requests: number;
  sampled: number;
  borrowed: number;
}

export class SamplingStatistics {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly retentionMs: number) {}

  /** Adds counts to the window of `atMs`. */
  record(ruleName: string, atMs: number, requests: number, sampled: number, borrowed = 0): void {
    if (requests === 0 && sampled === 0 && borrowed === 0) return;
    const start = Math.floor(atMs / STATISTICS_WINDOW_MS) * STATISTICS_WINDOW_MS;
    const key = `${start}|${ruleName}`;
    let window = this.windows.get(key);
    if (!window) {
      window = { ruleName, start, requests: 0, sampled: 0, borrowed: 0 };
      this.windows.set(key, window);
    }
    window.requests += requests;
    window.sampled += sampled;
    window.borrowed += borrowed;
  }

  /** Windows within the retention before `nowMs`, oldest first, then by rule name. */
  summaries(nowMs: number): StatisticSummary[] {
    this.prune(nowMs);
    return [...this.windows.values()]
      .filter((w) => w.start <= nowMs)
      .sort((a, b) => a.start - b.start || (a.ruleName < b.ruleName ? -1 : a.ruleName > b.ruleName ? 1 : 0))
      .map((w) => ({
        RuleName: w.ruleName,
        Timestamp: w.start / 1000,
        RequestCount: w.requests,
        SampledCount: w.sampled,
        BorrowCount: w.borrowed,
      }));
  }

  prune(nowMs: number): void {
    const oldest = nowMs - this.retentionMs;
    for (const [key, w] of this.windows)
      if (w.start + STATISTICS_WINDOW_MS <= oldest) this.windows.delete(key);
  }
}
