/**
 * `npm run bench -- --sweep N`: random generated scenarios, each scored like the named ones.
 */
import { describe, expect, it } from "vitest";
import { runSweep, sweepCase, sweepMisses, sweepTable } from "../../bench/sweep.ts";

describe("the benchmark sweep", () => {
  it("leaves out a scenario whose hand-made rules alone overspend the budget, and says why", () => {
    // Seed 500: 40 endpoints, 1% of everything, three hand-made rules that sample far more.
    const { info } = sweepCase(0, 500);

    expect(info.skipped).toMatch(/hand-made rules alone cost \d+(\.\d)?% of the budget/);
  });

  it("scores every other scenario at the quota and counts how often each target was met", () => {
    const cases = runSweep(2, 500, ["quota"]);

    expect(cases[0].variants).toEqual([]);
    expect(cases[1].variants).toHaveLength(1);
    const [quota] = cases[1].variants;
    expect(quota.targets.map((t) => t.name)).toEqual([
      "spend/budget ≤ 100%",
      "critical rates met",
      "faultCapture",
      "errorCapture",
      "coverage",
    ]);
    const table = sweepTable(cases);
    expect(table).toMatch(/\| quota\s+\|\s+1 \(0 budget-only\)\s+\|\s+[01] \((0|100)\.0%\)/);
    expect(sweepMisses(cases)).toMatch(/seed 500: left out/);
  });
});
