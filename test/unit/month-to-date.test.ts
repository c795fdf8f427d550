import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  accumulateWindows,
  monthToDateOf,
  type StatisticWindow,
  tracesInWindow,
} from "../../shared/domain/month-to-date.ts";

const at = (iso: string) => new Date(iso);
function window(ruleName: string, timestamp: string, sampledCount: number, borrowCount = 0): StatisticWindow {
  return { ruleName, timestamp, requestCount: sampledCount * 10, sampledCount, borrowCount };
}

describe("accumulateWindows", () => {
  it("counts sampled plus borrowed traces of finished windows, once each", () => {
    // Prepare
    const windows = [
      window("xgov-a", "2026-11-17T10:00:00Z", 5, 1),
      window("xgov-a", "2026-11-17T10:00:10Z", 3),
      window("Default", "2026-11-17T10:00:10Z", 2),
    ];
    // Act
    const first = accumulateWindows(undefined, windows, { now: at("2026-11-17T10:00:30Z") });
    const again = accumulateWindows(first.state, windows, { now: at("2026-11-17T10:00:40Z") });
    // Assess
    expect(first.state.tracesRecorded).toBe(11);
    expect(first.state.since).toBe("2026-11-17T10:00:00.000Z");
    expect(again.addedTraces).toBe(0);
    expect(again.state.tracesRecorded).toBe(11);
    expect(again.skipped.map((s) => s.reason)).toEqual([
      "already counted",
      "already counted",
      "already counted",
    ]);
  });

  it("waits for an open window to finish, then counts it on a later run", () => {
    const open = [window("xgov-a", "2026-11-17T10:00:25Z", 4)];
    const early = accumulateWindows(undefined, open, { now: at("2026-11-17T10:00:30Z") });
    expect(early.state.tracesRecorded).toBe(0);
    expect(early.skipped[0].reason).toBe("not finished");
    const later = accumulateWindows(early.state, [window("xgov-a", "2026-11-17T10:00:25Z", 7)], {
      now: at("2026-11-17T10:00:40Z"),
    });
    expect(later.state.tracesRecorded).toBe(7);
  });

  it("survives a missed run: windows still kept by X-Ray are counted on the next one", () => {
    const run1 = accumulateWindows(undefined, [window("r", "2026-11-17T10:00:00Z", 1)], {
      now: at("2026-11-17T10:00:10Z"),
    });
    // The run at 10:15 was missed; at 10:30 X-Ray still reports the last windows.
    const run3 = accumulateWindows(
      run1.state,
      [
        window("r", "2026-11-17T10:00:00Z", 1),
        window("r", "2026-11-17T10:20:00Z", 4),
        window("r", "2026-11-17T10:29:00Z", 2),
      ],
      { now: at("2026-11-17T10:30:00Z") },
    );
    expect(run3.state.tracesRecorded).toBe(7);
    expect(run3.state.windowsCounted).toBe(3);
  });

  it("starts again from zero in a new month, counting since the month's start, and ignores last month's windows", () => {
    const october = accumulateWindows(undefined, [window("r", "2026-10-31T23:59:40Z", 100)], {
      now: at("2026-10-31T23:59:55Z"),
    });
    const november = accumulateWindows(
      october.state,
      [window("r", "2026-10-31T23:59:50Z", 100), window("r", "2026-11-01T00:00:00Z", 3)],
      { now: at("2026-11-01T00:00:15Z") },
    );
    expect(november.state).toMatchObject({
      month: "2026-11",
      since: "2026-11-01T00:00:00.000Z",
      tracesRecorded: 3,
    });
    expect(november.skipped.map((s) => s.reason)).toEqual(["another month"]);
  });

  it("skips malformed windows instead of corrupting the total", () => {
    const result = accumulateWindows(
      undefined,
      [{ ...window("r", "2026-11-17T10:00:00Z", 1), sampledCount: -3 }, window("r", "not a time", 1)],
      { now: at("2026-11-17T11:00:00Z") },
    );
    expect(result.state.tracesRecorded).toBe(0);
    expect(result.skipped.map((s) => s.reason)).toEqual(["invalid", "invalid"]);
  });

  it("counts every finished window exactly once however the reads overlap, repeat or reorder", () => {
    const windowArb = fc.record({
      ruleName: fc.constantFrom("a", "b", "Default"),
      second: fc.integer({ min: 0, max: 599 }).map((n) => n * 10),
      sampledCount: fc.integer({ min: 0, max: 50 }),
      borrowCount: fc.integer({ min: 0, max: 2 }),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(windowArb, { selector: (w) => `${w.ruleName}@${w.second}` }),
        fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 6 }),
        (all, cuts) => {
          const windows: StatisticWindow[] = all.map((w) => ({
            ruleName: w.ruleName,
            timestamp: new Date(Date.UTC(2026, 10, 17, 10) + w.second * 1000).toISOString(),
            requestCount: w.sampledCount,
            sampledCount: w.sampledCount,
            borrowCount: w.borrowCount,
          }));
          // Runs at increasing times, each reading every window already started (X-Ray's
          // recent windows), in shuffled order and with repeats.
          let state: ReturnType<typeof accumulateWindows>["state"] | undefined;
          let elapsed = 0;
          for (const cut of cuts) {
            elapsed += cut * 60;
            const now = new Date(Date.UTC(2026, 10, 17, 10) + elapsed * 1000);
            const visible = windows.filter((w) => Date.parse(w.timestamp) < now.getTime());
            state = accumulateWindows(state, [...visible].reverse().concat(visible), { now }).state;
          }
          const end = Date.UTC(2026, 10, 17, 10) + elapsed * 1000;
          const expected = windows
            .filter((w) => Date.parse(w.timestamp) + 10_000 <= end)
            .reduce((sum, w) => sum + tracesInWindow(w), 0);
          expect(state?.tracesRecorded).toBe(expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("monthToDateOf", () => {
  it("reports this month's total, zero after a month change, and nothing when it never counted", () => {
    const { state } = accumulateWindows(undefined, [window("r", "2026-11-17T10:00:00Z", 9)], {
      now: at("2026-11-17T10:01:00Z"),
    });
    expect(monthToDateOf(state, at("2026-11-20T00:00:00Z"))).toEqual({
      tracesRecorded: 9,
      since: "2026-11-17T10:00:00.000Z",
    });
    expect(monthToDateOf(state, at("2026-12-02T00:00:00Z"))).toEqual({
      tracesRecorded: 0,
      since: "2026-12-01T00:00:00.000Z",
    });
    expect(monthToDateOf(state, at("2027-02-02T00:00:00Z"))).toBeUndefined();
    expect(monthToDateOf(undefined, at("2026-11-20T00:00:00Z"))).toBeUndefined();
  });
});
