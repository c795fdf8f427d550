import { describe, expect, it } from "vitest";
import { endpointOutcome, SECONDS_PER_MONTH, scoreOutcome, scoreRules } from "../../shared/domain/scoring.ts";
import { config, defaultRule, endpoint, samplingRule, snapshot } from "../support/snapshot-builder.ts";

/**
 * A two-hour window of 30-minute periods (two periods an hour):
 * - /a: 200 requests (busy: more than one a minute), 5xx in both hours, a 4xx in the second;
 *   its rule samples 10% with no reservoir, so every request has p = 0.1;
 * - /b: one request in the first hour (rare), its rule samples 50%.
 */
function twoHourWindow() {
  return snapshot({
    periodSeconds: 1800,
    endpoints: [
      endpoint({ path: "/a", requests: [100, 0, 40, 60], errors: [0, 0, 1, 0], faults: [1, 0, 0, 2] }),
      endpoint({ path: "/b", requests: [1, 0, 0, 0] }),
    ],
    rules: [
      samplingRule({ RuleName: "rule-a", Priority: 1, URLPath: "/a", ReservoirSize: 0, FixedRate: 0.1 }),
      samplingRule({ RuleName: "rule-b", Priority: 2, URLPath: "/b", ReservoirSize: 0, FixedRate: 0.5 }),
      defaultRule({ ReservoirSize: 0, FixedRate: 0 }),
    ],
  });
}

describe("scoreRules on a hand-computed window", () => {
  const window = twoHourWindow();
  const settings = config({
    budget: { monthlyUsd: 0.05 },
    critical: [
      { method: "GET", path: "/a", minFixedRate: 0.2 },
      { path: "/b", minFixedRate: 0.5 },
    ],
  });

  it("catches a fault with the chance of sampling at least one 5xx per endpoint-hour", () => {
    // Act
    const score = scoreRules(window, window.rules, settings);

    // Assess: hour 1 has one fault (1 − 0.9), hour 2 has two (1 − 0.9²).
    expect(score.counts.faultHours).toBe(2);
    expect(score.faultCapture).toBeCloseTo((0.1 + 0.19) / 2, 12);
  });

  it("counts 4xx and 5xx together for error capture", () => {
    const score = scoreRules(window, window.rules, settings);

    // Hour 1: one 5xx; hour 2: one 4xx and two 5xx.
    expect(score.counts.errorHours).toBe(2);
    expect(score.errorCapture).toBeCloseTo((1 - 0.9 + (1 - 0.9 ** 3)) / 2, 12);
  });

  it("averages coverage over endpoint-hours with traffic, and rare coverage over rare endpoints", () => {
    const score = scoreRules(window, window.rules, settings);

    // /a has traffic in both hours (100 and 100 requests), /b only in the first.
    expect(score.counts.trafficHours).toBe(3);
    expect(score.coverage).toBeCloseTo((2 * (1 - 0.9 ** 100) + 0.5) / 3, 12);
    expect(score.counts.rareEndpoints).toBe(1);
    expect(score.rareCoverage).toBeCloseTo(0.5, 12);
  });

  it("scales the window's traces to a 30-day month at $5 per million", () => {
    const score = scoreRules(window, window.rules, settings);

    // 0.1 × 200 + 0.5 × 1 = 20.5 traces in 7,200 s; a month is 360 such windows.
    expect(SECONDS_PER_MONTH).toBe(2_592_000);
    expect(score.monthlyTraces).toBeCloseTo(20.5 * 360, 6);
    expect(score.monthlyUsd).toBeCloseTo((7380 * 5) / 1e6, 12);
    expect(score.spendRatio).toBeCloseTo(0.0369 / 0.05, 9);
  });

  it("reports each critical entry's sampled share and whether it meets its minimum", () => {
    const score = scoreRules(window, window.rules, settings);

    expect(score.critical.map((c) => [c.rate, c.met])).toEqual([
      [expect.closeTo(0.1, 12), false],
      [expect.closeTo(0.5, 12), true],
    ]);
    expect(score.critical[0].worstEndpoint).toContain("/a");
    expect(score.criticalMet).toBe(false);
  });
});

describe("scoreRules with a reservoir shared by endpoints", () => {
  it("gives every endpoint a rule matches the same probability from the rule's total traffic", () => {
    // Prepare: two endpoints at 1 request/s each under one rule of 1 trace/s and no rate.
    const window = snapshot({
      periodSeconds: 300,
      endpoints: [
        endpoint({ path: "/x", requests: [300, 300] }),
        endpoint({ path: "/y", requests: [300, 300] }),
      ],
      rules: [defaultRule({ ReservoirSize: 1, FixedRate: 0 })],
    });
    const settings = config({ budget: { monthlyUsd: 100 }, critical: [{ path: "/y", minFixedRate: 0.5 }] });

    // Act
    const score = scoreRules(window, window.rules, settings);

    // Assess: lambda = 2, the reservoir takes E[min(N, 1)] = 1 − e^{−2} per second.
    const taken = 1 - Math.exp(-2);
    expect(score.monthlyTraces).toBeCloseTo(taken * SECONDS_PER_MONTH, 3);
    expect(score.critical[0].rate).toBeCloseTo(taken / 2, 12);
  });
});

describe("scoreOutcome", () => {
  it("counts an hour sampled at 100% as certainly caught, and a window with no faults as fully captured", () => {
    const window = snapshot({
      periodSeconds: 3600,
      endpoints: [endpoint({ path: "/a", requests: [5, 0, 7], errors: [2, 0, 0] })],
    });

    const score = scoreOutcome(window, { probabilities: () => [1, 1, 0] }, config());

    expect(score.errorCapture).toBe(1);
    expect(score.faultCapture).toBe(1);
    expect(score.counts.faultHours).toBe(0);
    expect(score.coverage).toBeCloseTo(0.5, 12);
  });

  it("scores endpoints that share one rule's probabilities and endpoints with rows of their own alike", () => {
    // Prepare: 6,000 endpoints of one request each (more rows of their own than scoring keeps),
    // half sharing one row object, half with a fresh row per call.
    const count = 6000;
    const window = snapshot({
      periodSeconds: 3600,
      endpoints: Array.from({ length: count }, (_, i) => endpoint({ path: `/e${i}`, requests: [1] })),
    });
    const shared = [0.3];
    const own = (e: number) => ((e % 97) + 1) / 100;

    // Act
    const score = scoreOutcome(window, { probabilities: (e) => (e % 2 === 0 ? shared : [own(e)]) }, config());

    // Assess: one request an hour is covered with its probability.
    let expected = 0;
    for (let e = 0; e < count; e++) expected += e % 2 === 0 ? 0.3 : own(e);
    expect(score.counts.trafficHours).toBe(count);
    expect(score.coverage).toBeCloseTo(expected / count, 12);
  });
});

describe("endpointOutcome", () => {
  it("keeps traffic a person's rule takes with that rule and gives the rest its own probability", () => {
    const window = snapshot({
      periodSeconds: 3600,
      endpoints: [endpoint({ path: "/mine", requests: [10] }), endpoint({ path: "/other", requests: [10] })],
    });
    const theirs = samplingRule({ RuleName: "ops", URLPath: "/mine", ReservoirSize: 0, FixedRate: 0.3 });

    const outcome = endpointOutcome(
      window,
      [theirs, defaultRule()],
      (ep) => (ep.path === "/other" ? 0.8 : 0),
      0,
    );

    expect(Array.from(outcome.probabilities(0))).toEqual([expect.closeTo(0.3, 12)]);
    expect(Array.from(outcome.probabilities(1))).toEqual([0.8]);
  });
});
