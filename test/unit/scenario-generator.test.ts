import { describe, expect, it } from "vitest";
import { demoScenario, generatePlanningInput, generateScenario } from "../../sandbox/scenario-generator.ts";
import { type Endpoint, parseConfig, parseSnapshot } from "../../shared/domain/formats.ts";
import { endpointKey } from "../../shared/domain/sampling.ts";

const total = (series: number[]) => series.reduce((a, b) => a + b, 0);
const byKey = (endpoints: Endpoint[]) => new Map(endpoints.map((e) => [endpointKey(e), e]));

describe("generateScenario", () => {
  it("produces a snapshot, a next day and a config that the formats accept", () => {
    // Prepare / Act
    const scenario = generateScenario({ seed: 11, endpoints: 120, unmanagedRules: 6, lateIncident: true });

    // Assess
    expect(() => parseSnapshot(scenario.snapshot)).not.toThrow();
    expect(() => parseSnapshot(scenario.future)).not.toThrow();
    expect(parseConfig(scenario.configDocument)).toEqual(scenario.config);
    expect(scenario.snapshot.endpoints).toHaveLength(120);
    expect(scenario.snapshot.endpoints[0].requests).toHaveLength(288);
    expect(scenario.snapshot.rules).toHaveLength(7);
    expect(Date.parse(scenario.future.start)).toBe(Date.parse(scenario.snapshot.start) + 86_400_000);
  });

  it("gives the same scenario for the same seed and a different one for another seed", () => {
    const a = generateScenario({ seed: 5, endpoints: 40 });
    const b = generateScenario({ seed: 5, endpoints: 40 });
    const c = generateScenario({ seed: 6, endpoints: 40 });

    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    expect(JSON.stringify(c.snapshot.endpoints)).not.toBe(JSON.stringify(a.snapshot.endpoints));
  });

  it("keeps the traffic when only the budget, quota or critical entries change", () => {
    const a = generateScenario({ seed: 9, endpoints: 50 });
    const b = generateScenario({
      seed: 9,
      endpoints: 50,
      budgetUsd: 3,
      ruleQuota: 80,
      critical: [{ path: "/orders*", minFixedRate: 0.5 }],
    });

    expect(b.snapshot.endpoints).toEqual(a.snapshot.endpoints);
    expect(b.future.endpoints).toEqual(a.future.endpoints);
    expect(b.config.budget.monthlyUsd).toBe(3);
    expect(b.config.ruleQuota).toBe(80);
  });

  it("has one POST /checkout, low in traffic, so the default critical entry pins little of the budget", () => {
    // Prepare / Act: 1,200 endpoints over 24 services, where the resource noun "checkout" is
    // common enough that every service could otherwise grow a busy POST /checkout of its own.
    const scenario = generateScenario({ seed: 101, endpoints: 1200, budgetFraction: 0.03 });
    const checkouts = scenario.snapshot.endpoints.filter(
      (e) => e.method === "POST" && e.path === "/checkout",
    );
    const seconds = 288 * scenario.snapshot.periodSeconds;

    // Assess
    expect(checkouts).toHaveLength(1);
    expect(total(checkouts[0].requests) / seconds).toBeLessThan(0.05);
    expect(scenario.snapshot.endpoints.some((e) => e.path.startsWith("/checkout/"))).toBe(true);
  });

  it("puts an endpoint in the next day that the snapshot does not have", () => {
    const scenario = generateScenario({ seed: 3, endpoints: 80 });
    const snapshotKeys = byKey(scenario.snapshot.endpoints);
    const futureKeys = byKey(scenario.future.endpoints);

    const added = [...futureKeys.keys()].filter((k) => !snapshotKeys.has(k));
    expect(added).toEqual([scenario.events.newEndpoint]);
    expect(total(futureKeys.get(added[0])?.requests ?? [])).toBeGreaterThan(1000);
    expect(scenario.future.endpoints).toHaveLength(81);
  });

  it("spikes one endpoint about tenfold for two hours on the next day", () => {
    const scenario = generateScenario({ seed: 4, endpoints: 80 });
    const spike = scenario.events.spike;
    expect(spike).toBeDefined();
    if (!spike) return;
    const before = byKey(scenario.snapshot.endpoints).get(spike.endpoint);
    const after = byKey(scenario.future.endpoints).get(spike.endpoint);
    if (!before || !after) throw new Error("spiked endpoint missing");

    const during = (ep: Endpoint) => total(ep.requests.slice(spike.startPeriod, spike.endPeriod));
    expect(spike.endPeriod - spike.startPeriod).toBe(24);
    const ratio = during(after) / during(before);
    expect(ratio).toBeGreaterThan(7);
    expect(ratio).toBeLessThan(14);
    // Outside the spike the endpoint keeps its usual level.
    const outside = (ep: Endpoint) => total(ep.requests) - during(ep);
    expect(outside(after) / outside(before)).toBeGreaterThan(0.75);
    expect(outside(after) / outside(before)).toBeLessThan(1.33);
  });

  it("has no spike, new endpoint or incidents when they are switched off", () => {
    const scenario = generateScenario({
      seed: 4,
      endpoints: 60,
      spike: false,
      newEndpoint: false,
      incidentIntensity: 0,
    });

    expect(scenario.events.spike).toBeUndefined();
    expect(scenario.events.newEndpoint).toBeUndefined();
    expect(scenario.events.incidents).toEqual([]);
    expect(scenario.future.endpoints.map(endpointKey)).toEqual(scenario.snapshot.endpoints.map(endpointKey));
  });

  it("makes failures where the incidents are, including one in the snapshot's last 15 minutes", () => {
    const scenario = generateScenario({ seed: 8, endpoints: 100, lateIncident: true, incidentIntensity: 2 });
    const future = byKey(scenario.future.endpoints);
    const late = scenario.events.lateIncident;
    if (!late) throw new Error("no late incident");

    const lateEndpoint = byKey(scenario.snapshot.endpoints).get(late.endpoint);
    if (!lateEndpoint) throw new Error("late incident endpoint missing");
    const lastThree = (s: number[]) => total(s.slice(-3));
    expect(late.startPeriod).toBe(285);
    expect(lastThree(lateEndpoint.faults) / Math.max(1, lastThree(lateEndpoint.requests))).toBeGreaterThan(
      0.1,
    );

    const futureIncidents = scenario.events.incidents.filter((i) => i.day === "future");
    expect(futureIncidents.length).toBeGreaterThanOrEqual(4);
    for (const incident of futureIncidents) {
      const ep = future.get(incident.endpoint);
      if (!ep) throw new Error(`incident endpoint ${incident.endpoint} missing`);
      const faults = total(ep.faults.slice(incident.startPeriod, incident.endPeriod));
      const requests = total(ep.requests.slice(incident.startPeriod, incident.endPeriod));
      expect(faults).toBeGreaterThanOrEqual(Math.floor(requests * incident.faultRatio * 0.5));
    }
  });

  it("has heavy-tailed traffic: a chatty health check and a long tail under one request a minute", () => {
    const scenario = generateScenario({ seed: 2, endpoints: 300 });
    const totals = scenario.snapshot.endpoints.map((e) => total(e.requests)).sort((a, b) => b - a);
    const health = byKey(scenario.snapshot.endpoints).get(scenario.events.healthEndpoint);

    expect(total(health?.requests ?? [])).toBeGreaterThan(500_000);
    expect(totals[0]).toBeGreaterThan(100 * totals[Math.floor(totals.length / 2)]);
    const rare = totals.filter((t) => t < 1440).length;
    expect(rare / totals.length).toBeGreaterThan(0.15);
    expect(scenario.snapshot.endpoints.some((e) => e.path.includes("{id}/"))).toBe(true);
  });

  it("sizes the default budget as a share of sampling everything", () => {
    const small = generateScenario({ seed: 1, endpoints: 60, budgetFraction: 0.01 });
    const large = generateScenario({ seed: 1, endpoints: 60, budgetFraction: 1 });

    expect(large.config.budget.monthlyUsd / small.config.budget.monthlyUsd).toBeGreaterThan(90);
    expect(large.config.budget.monthlyUsd / small.config.budget.monthlyUsd).toBeLessThan(110);
  });

  it("refuses bad options with a message naming the option", () => {
    expect(() => generateScenario({ budgetUsd: -1 })).toThrow(/budgetUsd/);
    expect(() => generateScenario({ endpoints: 1.5 })).toThrow(/endpoints must be an integer/);
    expect(() => generateScenario({ periods: 0 })).toThrow(/periods/);
  });

  it("makes hand-made rules that the governor does not own and that have unique names", () => {
    const scenario = generateScenario({ seed: 12, endpoints: 200, unmanagedRules: 20 });
    const names = scenario.snapshot.rules.map((r) => r.RuleName.toLowerCase());

    expect(new Set(names).size).toBe(21);
    expect(
      scenario.snapshot.rules.filter((r) => r.RuleName !== "Default").every((r) => r.Tags.length > 0),
    ).toBe(true);
    expect(
      scenario.snapshot.rules.some((r) => r.Tags.some((t) => t.Key === scenario.config.rules.ownerTag.key)),
    ).toBe(false);
  });
});

describe("demoScenario and generatePlanningInput", () => {
  it("the demo is fixed, about 60 endpoints, with a budget far below sampling everything", () => {
    const demo = demoScenario();

    expect(JSON.stringify(demoScenario().snapshot)).toBe(JSON.stringify(demo.snapshot));
    expect(demo.snapshot.endpoints).toHaveLength(60);
    expect(() => parseSnapshot(demo.snapshot)).not.toThrow();
    const requests = demo.snapshot.endpoints.reduce((sum, e) => sum + total(e.requests), 0);
    const everythingUsd = requests * 30 * 5e-6;
    expect(demo.config.budget.monthlyUsd).toBeLessThan(everythingUsd / 10);
  });

  it("the planning input is the scenario's snapshot and config", () => {
    const full = generateScenario({ seed: 21, endpoints: 30 });
    const input = generatePlanningInput({ seed: 21, endpoints: 30 });

    expect(input.snapshot).toEqual(full.snapshot);
    expect(input.config).toEqual(full.config);
  });
});
