import { describe, expect, it } from "vitest";
import { joinDays, rollingSnapshot, runClosedLoop } from "../../bench/closed-loop.ts";
import { generateScenario } from "../../sandbox/scenario-generator.ts";
import { parseSnapshot } from "../../shared/domain/formats.ts";
import { endpointKey } from "../../shared/domain/sampling.ts";

describe("the closed loop's rolling snapshot", () => {
  const scenario = generateScenario({ seed: 17, endpoints: 30, periods: 36 });
  const joined = joinDays(scenario.snapshot, scenario.future);

  it("is the end of the snapshot day followed by the elapsed part of the next day", () => {
    // Prepare
    const elapsed = 9;
    const key = endpointKey(scenario.snapshot.endpoints[0]);
    const before = scenario.snapshot.endpoints[0];
    const after = scenario.future.endpoints.find((e) => endpointKey(e) === key);
    if (!after) throw new Error("endpoint missing on the next day");

    // Act
    const rolling = rollingSnapshot(scenario.snapshot, joined, elapsed, scenario.snapshot.rules);

    // Assess
    const row = rolling.endpoints.find((e) => endpointKey(e) === key);
    expect(row?.requests).toEqual([...before.requests.slice(elapsed), ...after.requests.slice(0, elapsed)]);
    expect(row?.faults).toEqual([...before.faults.slice(elapsed), ...after.faults.slice(0, elapsed)]);
    expect(Date.parse(rolling.start)).toBe(Date.parse(scenario.snapshot.start) + elapsed * 300_000);
    expect(Date.parse(rolling.capturedAt)).toBe(Date.parse(rolling.start) + 36 * 300_000);
    expect(() => parseSnapshot(rolling)).not.toThrow();
  });

  it("shows the new endpoint only once it has had traffic, and carries the rules in force", () => {
    const newKey = scenario.events.newEndpoint;
    const rules = scenario.snapshot.rules.map((r) => ({ ...r, FixedRate: 0.5 }));

    const atStart = rollingSnapshot(scenario.snapshot, joined, 0, rules);
    const later = rollingSnapshot(scenario.snapshot, joined, 12, rules);

    expect(atStart.endpoints.some((e) => endpointKey(e) === newKey)).toBe(false);
    expect(later.endpoints.some((e) => endpointKey(e) === newKey)).toBe(true);
    expect(later.rules).toBe(rules);
  });
});

describe("runClosedLoop", () => {
  it("re-plans every 15 minutes through the next day and scores the result on it", () => {
    const scenario = generateScenario({ seed: 18, endpoints: 20, periods: 24 });

    const result = runClosedLoop(scenario, scenario.config);

    expect(result.plans).toBe(8);
    expect(result.maxRules).toBeLessThanOrEqual(scenario.config.ruleQuota);
    expect(result.score.counts.trafficHours).toBeGreaterThan(0);
    expect(result.score.spendRatio).toBeGreaterThan(0);
  });
});
