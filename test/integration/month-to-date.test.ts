/**
 * Month-to-date traces recorded, from the sandbox's simulated traffic through the real X-Ray
 * client (GetSamplingStatisticSummaries) into the state table on dynalite: every statistic
 * window counted once across runs, a missed run and a restart.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sandbox, startSandbox } from "../../sandbox/index.ts";
import { readStatisticWindows } from "../../shared/aws/sampling-statistics.ts";
import { StateStore } from "../../shared/aws/state-store.ts";
import { parseSnapshot } from "../../shared/domain/formats.ts";
import { type LocalDynamo, startLocalDynamo } from "../support/dynalite.ts";

const REPO = join(import.meta.dirname, "../..");

let sandbox: Sandbox;
let dynamo: LocalDynamo;
beforeAll(async () => {
  const snapshot = parseSnapshot(
    JSON.parse(readFileSync(join(REPO, "test/fixtures/small.snapshot.json"), "utf8")),
  );
  sandbox = await startSandbox({ scenario: snapshot, region: snapshot.region });
  dynamo = await startLocalDynamo({ tablePrefix: "mtd-" });
});
afterAll(async () => {
  await sandbox?.close();
  await dynamo?.stop();
});

describe("month-to-date from sampling statistics", () => {
  it("counts every finished window exactly once across runs, a missed run and a restart", async () => {
    // Prepare: the test watches every window itself (minute by minute) as the ground truth.
    const truth = new Map<string, number>();
    const watch = () => {
      for (const s of sandbox.statistics.summaries(sandbox.clock.now())) {
        truth.set(`${s.RuleName}@${s.Timestamp}`, s.SampledCount + s.BorrowCount);
      }
    };
    const xray = sandbox.xrayClient();
    let store = new StateStore(dynamo.client, dynamo.tables.StateTable);

    // Act: runs every 15 minutes; the third is missed; the store "restarts" before the fifth.
    for (let run = 1; run <= 6; run++) {
      for (let minute = 0; minute < 15; minute++) {
        sandbox.advance(60);
        watch();
      }
      if (run === 3) continue;
      if (run === 5) store = new StateStore(dynamo.client, dynamo.tables.StateTable);
      const windows = await readStatisticWindows(xray);
      // Read twice, as a retried run would: the second adds nothing.
      await store.recordStatistics(windows, sandbox.clock.date());
      const again = await store.recordStatistics(windows, sandbox.clock.date());
      expect(again.addedTraces).toBe(0);
    }

    // Assess
    const now = sandbox.clock.now();
    const expected = [...truth.entries()]
      .filter(([key]) => Number(key.split("@")[1]) * 1000 + 10_000 <= now)
      .reduce((sum, [, traces]) => sum + traces, 0);
    const state = await store.readMonthToDate();
    expect(expected).toBeGreaterThan(0);
    expect(state?.tracesRecorded).toBe(expected);
    expect(await store.monthToDate(sandbox.clock.date())).toEqual({
      tracesRecorded: expected,
      since: state?.since,
    });
  });
});
