/**
 * X-Ray's per-rule sampling statistics (GetSamplingStatisticSummaries) as statistic windows
 * for the month-to-date total.
 */
import { paginateGetSamplingStatisticSummaries, type XRayClient } from "@aws-sdk/client-xray";
import type { StatisticWindow } from "../domain/month-to-date.ts";

export async function readStatisticWindows(xray: XRayClient): Promise<StatisticWindow[]> {
  const windows: StatisticWindow[] = [];
  for await (const page of paginateGetSamplingStatisticSummaries({ client: xray }, {})) {
    for (const summary of page.SamplingStatisticSummaries ?? []) {
      if (!summary.RuleName || !summary.Timestamp) continue;
      windows.push({
        ruleName: summary.RuleName,
        timestamp: summary.Timestamp.toISOString(),
        requestCount: summary.RequestCount ?? 0,
        sampledCount: summary.SampledCount ?? 0,
        borrowCount: summary.BorrowCount ?? 0,
      });
    }
  }
  return windows;
}
