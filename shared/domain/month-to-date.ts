/**
 * Month-to-date traces recorded, accumulated from X-Ray's per-rule sampling statistics
 * (GetSamplingStatisticSummaries). X-Ray only keeps recent statistic windows, so the governor
 * adds each window to a running monthly total as it sees it; this module is the rule for that,
 * the state store persists the result.
 *
 * - A window counts once: per rule, the state keeps the start of the newest window counted
 *   (a watermark) and counts only windows after it. The same windows read again, by a retried
 *   or overlapping run, add nothing.
 * - Only finished windows count (start + window length ≤ now); an open window is still
 *   growing and is counted on a later run.
 * - The total belongs to a calendar month (UTC). A window from another month never counts, and
 *   the first accumulation in a new month starts again from zero. `since` says from when the total
 *   counts: the month's start if the governor was already counting last month, otherwise its
 *   first window (a governor started mid-month cannot know what was recorded before).
 * - Traces per window are SampledCount + BorrowCount: OTel samplers count borrowed traces in
 *   both, X-Ray SDKs only in BorrowCount, so the sum is the conservative (higher) estimate.
 */

/** One rule's statistics for one window, as GetSamplingStatisticSummaries reports it. */
export interface StatisticWindow {
  ruleName: string;
  /** Start of the window, ISO 8601. */
  timestamp: string;
  requestCount: number;
  sampledCount: number;
  borrowCount: number;
}

export interface MonthToDateState {
  /** The UTC calendar month the total belongs to, `YYYY-MM`. */
  month: string;
  /** Since when the total counts: the month's start, or the first window if the governor started later. */
  since: string;
  tracesRecorded: number;
  windowsCounted: number;
  /** Per rule, the start of the newest window counted (ISO 8601). */
  lastWindowByRule: Record<string, string>;
  updatedAt: string;
}

export type SkipReason = "already counted" | "not finished" | "another month" | "invalid";

export interface Accumulation {
  state: MonthToDateState;
  counted: StatisticWindow[];
  skipped: { window: StatisticWindow; reason: SkipReason }[];
  /** Traces this accumulation added. */
  addedTraces: number;
}

/** X-Ray's statistic windows are 10 seconds long. */
export const STATISTIC_WINDOW_SECONDS = 10;

/** Watermarks older than this are dropped: X-Ray keeps statistics for far less time. */
const WATERMARK_RETENTION_MS = 24 * 3_600_000;

export function monthOf(at: Date): string {
  return at.toISOString().slice(0, 7);
}

export function monthStart(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
}

export function tracesInWindow(window: Pick<StatisticWindow, "sampledCount" | "borrowCount">): number {
  return window.sampledCount + window.borrowCount;
}

/**
 * Adds the finished, not yet counted windows of this month to the state; starts a new month's
 * state when `state` belongs to an earlier month (or is missing).
 */
export function accumulateWindows(
  state: MonthToDateState | undefined,
  windows: readonly StatisticWindow[],
  options: { now: Date; windowSeconds?: number },
): Accumulation {
  const { now } = options;
  const windowMs = (options.windowSeconds ?? STATISTIC_WINDOW_SECONDS) * 1000;
  const month = monthOf(now);
  const continuing = state?.month === month;
  const previousMonthCovered = state?.month === previousMonthOf(now);

  const lastWindowByRule: Record<string, string> = continuing ? { ...state.lastWindowByRule } : {};
  const counted: StatisticWindow[] = [];
  const skipped: Accumulation["skipped"] = [];

  const sorted = [...windows].sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp));
  for (const window of sorted) {
    const start = Date.parse(window.timestamp);
    if (
      !Number.isFinite(start) ||
      ![window.sampledCount, window.borrowCount].every((n) => Number.isInteger(n) && n >= 0)
    ) {
      skipped.push({ window, reason: "invalid" });
      continue;
    }
    if (monthOf(new Date(start)) !== month) {
      skipped.push({ window, reason: "another month" });
      continue;
    }
    if (start + windowMs > now.getTime()) {
      skipped.push({ window, reason: "not finished" });
      continue;
    }
    const last = lastWindowByRule[window.ruleName];
    if (last !== undefined && start <= Date.parse(last)) {
      skipped.push({ window, reason: "already counted" });
      continue;
    }
    lastWindowByRule[window.ruleName] = new Date(start).toISOString();
    counted.push(window);
  }

  for (const [rule, last] of Object.entries(lastWindowByRule)) {
    if (now.getTime() - Date.parse(last) > WATERMARK_RETENTION_MS) delete lastWindowByRule[rule];
  }

  const addedTraces = counted.reduce((sum, w) => sum + tracesInWindow(w), 0);
  const since = continuing
    ? state.since
    : previousMonthCovered
      ? monthStart(now).toISOString() // the governor ran last month, so it has counted since the month began
      : counted.length > 0
        ? new Date(Date.parse(counted[0].timestamp)).toISOString()
        : now.toISOString();

  return {
    state: {
      month,
      since,
      tracesRecorded: (continuing ? state.tracesRecorded : 0) + addedTraces,
      windowsCounted: (continuing ? state.windowsCounted : 0) + counted.length,
      lastWindowByRule,
      updatedAt: now.toISOString(),
    },
    counted,
    skipped,
    addedTraces,
  };
}

/**
 * The snapshot's `monthToDate` for `now`. A state from last month means the governor has been
 * counting all along: zero since this month's start. No state, or an older one, means nothing
 * is known: undefined (the planner then does not pace).
 */
export function monthToDateOf(
  state: MonthToDateState | undefined,
  now: Date,
): { tracesRecorded: number; since: string } | undefined {
  if (state?.month === monthOf(now)) return { tracesRecorded: state.tracesRecorded, since: state.since };
  if (state?.month === previousMonthOf(now))
    return { tracesRecorded: 0, since: monthStart(now).toISOString() };
  return undefined;
}

function previousMonthOf(now: Date): string {
  return monthOf(new Date(monthStart(now).getTime() - 1));
}
