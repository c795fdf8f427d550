import { describe, expect, it } from "vitest";
import { type Baseline, buildBaselines, rulesUsed, scoreBaseline } from "../../bench/baselines.ts";
import { checkTargets, referenceRows, type SamplerRow, withCriticalPinned } from "../../bench/evaluate.ts";
import { generateScenario } from "../../sandbox/scenario-generator.ts";
import type { WindowScore } from "../../shared/domain/scoring.ts";

function score(spendRatio: number, capture: number, criticalMet = true): WindowScore {
  return {
    monthlyTraces: 0,
    monthlyUsd: 0,
    budgetUsd: 1,
    spendRatio,
    faultCapture: capture,
    errorCapture: capture,
    coverage: capture,
    rareCoverage: capture,
    critical: [],
    criticalMet,
    counts: { faultHours: 1, errorHours: 1, trafficHours: 1, rareEndpoints: 0 },
  };
}

function baseline(
  id: string,
  form: "deployable" | "per-endpoint",
  spendRatio: number,
  capture: number,
): SamplerRow {
  return {
    id,
    label: id,
    kind: "baseline",
    form,
    score: score(spendRatio, capture),
    withinBudget: spendRatio <= 1.05,
  };
}

const rows: SamplerRow[] = [
  { id: "governor", label: "governor", kind: "governor", score: score(0.95, 0.8), withinBudget: true },
  baseline("uniform", "deployable", 1.04, 0.7),
  baseline("greedy-over-budget", "deployable", 1.2, 0.99),
  baseline("fit/per-endpoint", "per-endpoint", 1.0, 0.81),
];

describe("benchmark targets", () => {
  it("compare at the quota with the best deployable baseline within 105% of the budget", () => {
    const references = referenceRows(rows, "quota");

    expect(references.map((r) => r.id)).toEqual(["uniform"]);
    const checks = checkTargets(rows[0], references, { slack: 0 });
    expect(checks.every((c) => c.pass)).toBe(true);
    expect(checks.find((c) => c.name === "coverage")?.reference).toBe("uniform");
  });

  it("compare with room for all with the best per-endpoint baseline less 2 points", () => {
    const references = referenceRows(rows, "room-for-all");

    const within = checkTargets(rows[0], references, { slack: 0.02 });
    const strict = checkTargets(rows[0], references, { slack: 0 });

    expect(within.find((c) => c.name === "faultCapture")?.pass).toBe(true);
    expect(strict.find((c) => c.name === "faultCapture")?.pass).toBe(false);
  });

  it("fail the governor over 100% of the budget or with a critical rate unmet", () => {
    const over: SamplerRow = { ...rows[0], score: score(1.01, 0.9) };
    const unmet: SamplerRow = { ...rows[0], score: score(0.9, 0.9, false) };

    expect(checkTargets(over, [], { slack: 0 }).find((c) => c.name.startsWith("spend"))?.pass).toBe(false);
    expect(checkTargets(unmet, [], { slack: 0 }).find((c) => c.name.startsWith("critical"))?.pass).toBe(
      false,
    );
  });
});

describe("baselines held to the critical minimums", () => {
  it("meet them, pay for them first and give up a rule slot to them, as the governor must", () => {
    // Prepare: a budget that the critical checkout takes a large share of.
    const generated = generateScenario({ seed: 102, endpoints: 60, budgetFraction: 0.002 });
    const { snapshot, future, config } = generated;

    // Act: the baselines sized to the budget (Jaeger at 1/s ignores it).
    const sized = (b: Baseline) => b.form === "deployable" && b.id !== "current" && b.family !== "jaeger-1s";
    const plain = buildBaselines(snapshot, config).filter(sized);
    const pinned = buildBaselines(withCriticalPinned(snapshot, config), config).filter(sized);

    // Assess
    for (const b of plain) expect(scoreBaseline(b, future, config).criticalMet, b.id).toBe(false);
    for (const b of pinned) {
      const score = scoreBaseline(b, future, config);
      expect(score.criticalMet, b.id).toBe(true);
      expect(rulesUsed(b), b.id).toBeLessThanOrEqual(config.ruleQuota);
      const same = plain.find((p) => p.id === b.id);
      if (same) expect(score.coverage, b.id).toBeLessThan(scoreBaseline(same, future, config).coverage);
    }
  });
});
