import { describe, expect, it } from "vitest";
import {
  type Baseline,
  baselineOutcome,
  budgetShare,
  buildBaselines,
  dynsamplerSampleRates,
  scoreBaseline,
} from "../../bench/baselines.ts";
import { generateScenario } from "../../sandbox/scenario-generator.ts";
import { parseConfig, type SamplingRule } from "../../shared/domain/formats.ts";
import { endpointKey } from "../../shared/domain/sampling.ts";

const scenario = generateScenario({ seed: 31, endpoints: 150, unmanagedRules: 3, budgetFraction: 0.15 });
const { snapshot, config } = scenario;
const baselines = buildBaselines(snapshot, config);
const find = (id: string): Baseline => {
  const b = baselines.find((x) => x.id === id);
  if (!b) throw new Error(`no baseline ${id}`);
  return b;
};
const total = (s: number[]) => s.reduce((a, b) => a + b, 0);

describe("baselines sized to the budget", () => {
  it("uniform at budget spends the budget on the snapshot", () => {
    expect(scoreBaseline(find("uniform"), snapshot, config).spendRatio).toBeCloseTo(1, 6);
  });

  it("per-endpoint Jaeger fit spends the budget on the snapshot", () => {
    expect(scoreBaseline(find("jaeger-fit/per-endpoint"), snapshot, config).spendRatio).toBeCloseTo(1, 4);
  });

  it("per-endpoint dynsampler spends nearly the budget and not more", () => {
    const spend = scoreBaseline(find("dynsampler/per-endpoint"), snapshot, config).spendRatio;
    expect(spend).toBeLessThanOrEqual(1.0001);
    expect(spend).toBeGreaterThan(0.98);
  });

  it("the deployable forms spend about what the per-endpoint forms spend", () => {
    for (const family of ["jaeger-fit", "dynsampler", "jaeger-1s"]) {
      const perEndpoint = scoreBaseline(find(`${family}/per-endpoint`), snapshot, config).spendRatio;
      const deployable = scoreBaseline(find(`${family}/deployable`), snapshot, config).spendRatio;
      expect(deployable / perEndpoint, family).toBeGreaterThan(0.9);
      expect(deployable / perEndpoint, family).toBeLessThan(1.1);
    }
  });

  it("Jaeger 1/s gives an endpoint with q requests a second the probability 1/q, whatever the budget", () => {
    const share = budgetShare(snapshot, config);
    const busy = [...share.free].sort((a, b) => b.requests - a.requests)[0];
    const qps = busy.requests / share.windowSeconds;
    const baseline = find("jaeger-1s/per-endpoint");
    if (baseline.form !== "per-endpoint") throw new Error("wrong form");

    expect(qps).toBeGreaterThan(1);
    expect(baseline.probabilities.get(busy.key)).toBeCloseTo(1 / qps, 9);
  });
});

describe("deployable forms under the rule quota", () => {
  it("use at most the quota: the unmanaged rules, K − 1 exact rules and Default", () => {
    const unmanaged = snapshot.rules.filter((r) => r.RuleName !== "Default").length;
    for (const b of baselines) {
      if (b.form !== "deployable" || b.id === "current") continue;
      expect(b.rules.length, b.id).toBeLessThanOrEqual(config.ruleQuota);
    }
    const fit = find("jaeger-fit/deployable");
    if (fit.form !== "deployable") throw new Error("wrong form");
    expect(fit.rules.length).toBe(config.ruleQuota);
    expect(fit.rules.filter((r) => r.RuleName.startsWith("bl-"))).toHaveLength(
      config.ruleQuota - unmanaged - 1,
    );
  });

  it("give every endpoint its own rule when the quota has room for all", () => {
    const roomy = { ...config, ruleQuota: snapshot.endpoints.length + 10 };
    const fit = buildBaselines(snapshot, roomy).find((b) => b.id === "jaeger-fit/deployable");
    const perEndpoint = find("jaeger-fit/per-endpoint");
    if (fit?.form !== "deployable" || perEndpoint.form !== "per-endpoint") throw new Error("wrong form");

    const outcome = baselineOutcome(fit, snapshot);
    const reference = baselineOutcome(perEndpoint, snapshot);
    // Shared prefixes make some exact patterns match more than their own endpoint; most match one.
    let same = 0;
    snapshot.endpoints.forEach((_, e) => {
      if (Math.abs(outcome.probabilities(e)[0] - reference.probabilities(e)[0]) < 1e-9) same++;
    });
    expect(same / snapshot.endpoints.length).toBeGreaterThan(0.9);
  });
});

describe("unmanaged rules", () => {
  it("keep their traffic in every baseline, and their cost comes off the budget first", () => {
    // Prepare: the health check is switched off by hand; a second scenario also keeps a busy path whole.
    const health = snapshot.endpoints.findIndex((e) => endpointKey(e) === scenario.events.healthEndpoint);
    const keepAll: SamplingRule = {
      ...snapshot.rules[0],
      RuleName: "team-keep-everything",
      Priority: 5,
      HTTPMethod: "GET",
      URLPath: "/search*",
      FixedRate: 1,
      ReservoirSize: 0,
      Tags: [{ Key: "owner", Value: "search-team" }],
    };
    const withKeepAll = { ...snapshot, rules: [...snapshot.rules, keepAll] };

    // Act
    const uniformBefore = buildBaselines(snapshot, config).find((b) => b.id === "uniform");
    const uniformAfter = buildBaselines(withKeepAll, config).find((b) => b.id === "uniform");

    // Assess
    for (const b of baselines) {
      if (b.id === "current") continue;
      expect(baselineOutcome(b, snapshot).probabilities(health)[0], b.id).toBe(0);
    }
    const rateOf = (b: Baseline | undefined) =>
      b?.form === "deployable" ? b.rules.find((r) => r.RuleName === "Default")?.FixedRate : undefined;
    expect(rateOf(uniformAfter)).toBeLessThan(rateOf(uniformBefore) ?? 0);
    expect(scoreBaseline(uniformAfter as Baseline, withKeepAll, config).spendRatio).toBeCloseTo(1, 6);
  });
});

describe("dynsampler log10 split", () => {
  it("allocates the goal by log10 of the counts, passing unused shares on in key order", () => {
    // Goal 30 over counts 1, 10, 1000: log10 sum 4, so 7.5 events per unit of log10.
    // a keeps its 1 event (share 1); b's share 7.5 → rate ceil(10/7.5) = 2, leaving 2.5;
    // c's share 22.5 + 2.5 = 25 → rate ceil(1000/25) = 40.
    const rates = dynsamplerSampleRates(
      new Map([
        ["c", 1000],
        ["a", 1],
        ["b", 10],
      ]),
      30,
    );

    expect(Object.fromEntries(rates)).toEqual({ a: 1, b: 2, c: 40 });
  });

  it("keeps everything when the goal covers every event", () => {
    const rates = dynsamplerSampleRates(
      new Map([
        ["a", 5],
        ["b", 50],
      ]),
      1000,
    );
    expect([...rates.values()]).toEqual([1, 1]);
  });

  it("samples rare endpoints more than busy ones", () => {
    const dyn = find("dynsampler/per-endpoint");
    if (dyn.form !== "per-endpoint") throw new Error("wrong form");
    const byTraffic = snapshot.endpoints
      .filter((e) => dyn.probabilities.has(endpointKey(e)))
      .sort((a, b) => total(a.requests) - total(b.requests));
    const rare = dyn.probabilities.get(endpointKey(byTraffic[0])) ?? 0;
    const busy = dyn.probabilities.get(endpointKey(byTraffic[byTraffic.length - 1])) ?? 1;
    expect(rare).toBeGreaterThan(busy * 10);
  });
});

describe("budget larger than everything", () => {
  it("every budget-sized baseline samples every endpoint the unmanaged rules leave, under the budget", () => {
    const rich = parseConfig({ budget: { monthlyUsd: 1_000_000 } });
    const free = new Set(budgetShare(snapshot, rich).free.map((f) => f.key));
    for (const b of buildBaselines(snapshot, rich)) {
      if (b.family === "current" || b.family === "jaeger-1s") continue;
      const outcome = baselineOutcome(b, snapshot);
      snapshot.endpoints.forEach((endpoint, e) => {
        if (free.has(endpointKey(endpoint))) expect(outcome.probabilities(e)[0], b.id).toBe(1);
      });
      expect(scoreBaseline(b, snapshot, rich).spendRatio, b.id).toBeLessThan(1);
    }
  });
});
