/**
 * What a user notices about the planner's choices: it reacts to what happened in the last
 * minutes, gives critical, busy and rare endpoints what they need, stays stable between runs,
 * paces the month, and says what a larger rule quota would buy.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { SeededRandom } from "../../sandbox/seeded-random.ts";
import type { Config, Endpoint, Snapshot } from "../../shared/domain/formats.ts";
import type { Plan } from "../../shared/domain/plan.ts";
import { planSampling } from "../../shared/domain/planner.ts";
import { reconcileRules } from "../../shared/domain/reconcile.ts";
import { expectedTracesPerSecond } from "../../shared/domain/sampling.ts";
import { scoreRules } from "../../shared/domain/scoring.ts";
import {
  config,
  defaultRule,
  endpoint,
  samplingRule,
  snapshot,
  steady,
} from "../support/snapshot-builder.ts";

// ---------------------------------------------------------------------------------------------
// A shop: one day of 5-minute periods, from a chatty health check to an admin page used a few
// times a day. Seeded noise, so every run sees the same traffic.

const PERIODS = 288;

function shopEndpoints(): Endpoint[] {
  const random = new SeededRandom(7);
  const traffic = (method: string, path: string, perPeriod: number, errorRate = 0.01, faultRate = 0) => {
    const requests = Array.from({ length: PERIODS }, () => random.poisson(perPeriod));
    const faults = requests.map((r) => random.binomial(r, faultRate));
    const errors = requests.map((r, t) => random.binomial(r - faults[t], errorRate));
    return endpoint({ method, path, requests, errors, faults });
  };
  return [
    traffic("GET", "/health", 3000, 0),
    traffic("GET", "/orders/{id}", 600),
    traffic("GET", "/catalog/items", 300),
    traffic("POST", "/cart", 60, 0.02, 0.001),
    traffic("GET", "/users/{id}", 30),
    traffic("POST", "/checkout", 20, 0.02),
    traffic("GET", "/admin/report", 0.3),
    traffic("DELETE", "/orders/{id}", 2),
  ];
}

const shop = snapshot({ endpoints: shopEndpoints() });

/** What sampling every request of the shop costs per month. */
const sampleEverythingUsd = scoreRules(
  shop,
  [defaultRule({ ReservoirSize: 0, FixedRate: 1 })],
  config(),
).monthlyUsd;

/** A config whose budget is a share of sampling everything. */
function shopConfig(share: number, extra: Partial<Parameters<typeof config>[0]> = {}): Config {
  return config({ budget: { monthlyUsd: sampleEverythingUsd * share }, ...extra });
}

function endpointIn(plan: Plan, method: string, path: string) {
  const found = plan.endpoints.find((e) => e.method === method && e.path === path);
  if (!found) throw new Error(`no projection for ${method} ${path}`);
  return found;
}

function ruleFor(plan: Plan, method: string, path: string) {
  const name = endpointIn(plan, method, path).ruleName;
  const detail = plan.ruleDetails.find((d) => d.rule.RuleName === name);
  if (!detail) throw new Error(`no rule details for ${name}`);
  return detail;
}

/** The shop with faults on one endpoint in its last three periods (the last 15 minutes). */
function withIncident(base: Snapshot, path: string, faultsPerPeriod: number): Snapshot {
  const changed = structuredClone(base);
  const ep = changed.endpoints.find((e) => e.path === path) as Endpoint;
  for (let t = PERIODS - 3; t < PERIODS; t++) {
    ep.faults[t] = faultsPerPeriod;
    ep.errors[t] = Math.min(ep.errors[t], ep.requests[t] - faultsPerPeriod);
  }
  return changed;
}

// ---------------------------------------------------------------------------------------------

describe("the planner reacts to the recent past", () => {
  it("samples an endpoint that started failing in the last 15 minutes more, and says it is failing now", () => {
    // Prepare
    const settings = shopConfig(0.05);
    const calm = planSampling(shop, settings);

    // Act
    const failing = planSampling(withIncident(shop, "/catalog/items", 4), settings);

    // Assess
    const before = endpointIn(calm, "GET", "/catalog/items");
    const after = endpointIn(failing, "GET", "/catalog/items");
    expect(after.probability).toBeGreaterThan(before.probability * 1.1);
    const rule = ruleFor(failing, "GET", "/catalog/items");
    expect(rule.reason).toBe("fault-prone");
    expect(rule.explanation).toMatch(/failing right now/);
    expect(ruleFor(calm, "GET", "/catalog/items").explanation).not.toMatch(/failing right now/);
  });

  // BUG (reported): an endpoint that starts failing is sampled LESS than before its incident,
  // while its rule's explanation says "failing right now". Here /users/{id} (30 requests per
  // 5 minutes, 2% budget) goes from 39% to 37% with 2 faults in each of the last 3 periods.
  // The value model sees many faults per hour as easy to catch at any rate; a user sees the
  // governor turn sampling down on the endpoint that is failing. If that is intended, invert
  // this test and say so in the explanation.
  it("does not sample an endpoint failing right now less than before its incident", () => {
    const settings = shopConfig(0.02);
    const calm = planSampling(shop, settings);

    const failing = planSampling(withIncident(shop, "/users/{id}", 2), settings);

    expect(ruleFor(failing, "GET", "/users/{id}").explanation).toMatch(/failing right now/);
    expect(endpointIn(failing, "GET", "/users/{id}").probability).toBeGreaterThanOrEqual(
      endpointIn(calm, "GET", "/users/{id}").probability,
    );
  });

  it("bounds what an endpoint whose traffic spiked tenfold in the last periods can cost", () => {
    // Prepare
    const settings = shopConfig(0.05);
    const calm = planSampling(shop, settings);
    const spiking = structuredClone(shop);
    const cart = spiking.endpoints.find((e) => e.path === "/cart") as Endpoint;
    for (let t = PERIODS - 3; t < PERIODS; t++) cart.requests[t] *= 10;

    // Act
    const plan = planSampling(spiking, settings);

    // Assess: should the spike grow tenfold again, the new rule records fewer traces a second
    // than the calm plan's rule would, and the plan holds the budget on the spiking traffic.
    const spikeRate = (10 * 10 * 60) / spiking.periodSeconds;
    const tracesPerSecond = (p: Plan) => {
      const { rule } = ruleFor(p, "POST", "/cart");
      return expectedTracesPerSecond(spikeRate, rule.ReservoirSize, rule.FixedRate);
    };
    expect(tracesPerSecond(plan)).toBeLessThan(tracesPerSecond(calm));
    expect(scoreRules(spiking, plan.rules, settings).monthlyUsd).toBeLessThanOrEqual(
      settings.budget.monthlyUsd,
    );
  });
});

describe("the planner gives each kind of endpoint what it needs", () => {
  it("keeps room in the budget for a spike and a new endpoint, and says how much", () => {
    const settings = shopConfig(0.05);

    const plan = planSampling(shop, settings);

    expect(plan.budget.exposureUsd).toBeGreaterThan(0);
    expect(plan.projection.monthlyUsd + plan.budget.exposureUsd).toBeLessThanOrEqual(
      plan.budget.targetUsd * 1.001,
    );
  });

  it("gives scarce rule slots to the busiest endpoints when that lets Default sample every rare one", () => {
    // Prepare: four chatty endpoints and forty rare ones that fail now and then; six rule slots.
    const random = new SeededRandom(11);
    const traffic = (method: string, path: string, perPeriod: number, errorRate: number) => {
      const requests = Array.from({ length: PERIODS }, () => random.poisson(perPeriod));
      const errors = requests.map((r) => random.binomial(r, errorRate));
      return endpoint({ method, path, requests, errors, faults: requests.map(() => 0) });
    };
    const chatty = Array.from({ length: 4 }, (_, i) => traffic("GET", `/feed${i}`, 1500 + 200 * i, 0.001));
    const rare = Array.from({ length: 40 }, (_, i) => traffic("POST", `/admin${i}`, 0.3 + 0.05 * i, 0.05));
    const account = snapshot({ endpoints: [...chatty, ...rare] });
    const everything = scoreRules(account, [defaultRule({ ReservoirSize: 0, FixedRate: 1 })], config());
    const settings = config({ budget: { monthlyUsd: everything.monthlyUsd * 0.01 }, ruleQuota: 7 });

    // Act
    const plan = planSampling(account, settings);

    // Assess: each chatty endpoint has a rule of its own, so Default can take every rare one.
    for (let i = 0; i < 4; i++) expect(ruleFor(plan, "GET", `/feed${i}`).reason).not.toBe("catch-all");
    for (const ep of plan.endpoints.filter((e) => e.path.startsWith("/admin")))
      expect(ep.probability, ep.label).toBeGreaterThanOrEqual(0.9);
    expect(plan.projection.coverage).toBeGreaterThanOrEqual(0.99);
  });

  it("gives a route that many services serve one rule for all of them, not one per service", () => {
    // Prepare: twelve services, each with a chatty health check and four rare endpoints that
    // fail now and then; four rule slots, far fewer than the twelve health checks.
    const random = new SeededRandom(13);
    const traffic = (service: string, method: string, path: string, perPeriod: number, errorRate: number) => {
      const requests = Array.from({ length: PERIODS }, () => random.poisson(perPeriod));
      const errors = requests.map((r) => random.binomial(r, errorRate));
      return { ...endpoint({ method, path, requests, errors, faults: requests.map(() => 0) }), service };
    };
    const services = Array.from({ length: 12 }, (_, i) => `team-${i}-api`);
    const health = services.map((s, i) => traffic(s, "GET", "/health", 900 + 40 * i, 0));
    const rare = services.flatMap((s, i) =>
      Array.from({ length: 4 }, (_, j) => traffic(s, "POST", `/jobs/${i}-${j}`, 0.2 + 0.05 * (i + j), 0.05)),
    );
    const account = snapshot({ endpoints: [...health, ...rare] });
    const everything = scoreRules(account, [defaultRule({ ReservoirSize: 0, FixedRate: 1 })], config());
    const settings = config({ budget: { monthlyUsd: everything.monthlyUsd * 0.01 }, ruleQuota: 4 });

    // Act
    const plan = planSampling(account, settings);

    // Assess: one rule takes every health check, below Default's rate, and says why.
    const checks = plan.endpoints.filter((e) => e.path === "/health");
    expect(checks).toHaveLength(12);
    expect(new Set(checks.map((e) => e.ruleName)).size).toBe(1);
    const shared = plan.ruleDetails.find((d) => d.rule.RuleName === checks[0].ruleName);
    expect(shared?.rule).toMatchObject({ ServiceName: "*", HTTPMethod: "GET", URLPath: "/health" });
    expect(shared?.reason).toBe("bulk traffic");
    expect(shared?.explanation).toContain("12 endpoints of GET /health across services");
    const busiest = Math.max(...checks.map((e) => e.probability));
    for (const ep of plan.endpoints.filter((e) => e.path.startsWith("/jobs")))
      expect(ep.probability, ep.label).toBeGreaterThan(5 * busiest);
  });

  it("samples critical endpoints at least at their minimum rate", () => {
    // Prepare
    const settings = shopConfig(0.05, {
      critical: [
        { method: "POST", path: "/checkout", minFixedRate: 1 },
        { path: "/cart", minFixedRate: 0.5 },
      ],
    });

    // Act
    const plan = planSampling(shop, settings);

    // Assess
    expect(endpointIn(plan, "POST", "/checkout").probability).toBeGreaterThanOrEqual(1 - 1e-9);
    expect(endpointIn(plan, "POST", "/cart").probability).toBeGreaterThanOrEqual(0.5);
    expect(ruleFor(plan, "POST", "/checkout").reason).toBe("critical");
    expect(ruleFor(plan, "POST", "/checkout").rule.FixedRate).toBe(1);
    expect(ruleFor(plan, "POST", "/cart").rule.FixedRate).toBeGreaterThanOrEqual(0.5);
    expect(plan.projection.criticalMet).toBe(true);
    expect(plan.warnings).toEqual([]);
  });

  it("gives a busy endpoint a rule of its own, sampled below Default's rate, as bulk traffic", () => {
    const plan = planSampling(shop, shopConfig(0.05));

    const health = ruleFor(plan, "GET", "/health");
    const defaultRate = plan.rules.find((r) => r.RuleName === "Default")?.FixedRate ?? 0;
    expect(health.rule.RuleName).not.toBe("Default");
    expect(health.reason).toBe("bulk traffic");
    expect(health.endpointCount).toBe(1);
    expect(endpointIn(plan, "GET", "/health").probability).toBeLessThan(defaultRate);
  });

  it("samples nearly everything when the budget is well above what sampling everything costs", () => {
    const plan = planSampling(shop, shopConfig(3));

    for (const ep of plan.endpoints) expect(ep.probability, ep.label).toBeGreaterThanOrEqual(0.95);
    expect(plan.projection.coverage).toBeGreaterThanOrEqual(0.999);
  });

  it("keeps within a budget too small for the critical minimums, and says so", () => {
    const settings = shopConfig(0.001, { critical: [{ path: "/orders/*", minFixedRate: 1 }] });

    const plan = planSampling(shop, settings);

    expect(scoreRules(shop, plan.rules, settings).monthlyUsd).toBeLessThanOrEqual(settings.budget.monthlyUsd);
    expect(plan.projection.criticalMet).toBe(false);
    expect(plan.warnings.join("\n")).toMatch(/critical/);
  });

  it("holds such a budget on the next day too, when the critical endpoint spikes tenfold for two hours", () => {
    // Prepare: the minimums scaled down are the planner's choice, so it keeps room for a spike.
    const settings = shopConfig(0.02, { critical: [{ path: "/orders/*", minFixedRate: 1 }] });
    const nextDay = structuredClone(shop);
    const orders = nextDay.endpoints.find((e) => e.method === "GET" && e.path === "/orders/{id}") as Endpoint;
    for (let t = 100; t < 124; t++) orders.requests[t] *= 10;

    // Act
    const plan = planSampling(shop, settings);

    // Assess
    expect(plan.warnings.join("\n")).toMatch(/cannot pay the critical minimum/);
    expect(scoreRules(nextDay, plan.rules, settings).monthlyUsd).toBeLessThanOrEqual(
      settings.budget.monthlyUsd,
    );
  });
});

describe("the planner is stable between runs", () => {
  const settings = shopConfig(0.05);
  const first = planSampling(shop, settings);
  /** The shop as the next run sees it: the same traffic, the first plan's rules in force. */
  const applied: Snapshot = { ...shop, rules: first.rules };

  it("changes nothing when re-planning against its own rules with the same traffic", () => {
    const again = planSampling(applied, settings);

    expect(again.actions).toEqual([]);
    expect(again.rules).toEqual(first.rules);
  });

  it("raises spend on a doubled budget, each existing rule by at most the configured factor", () => {
    // Prepare
    const factor = 1.5;
    const doubled = shopConfig(0.1, { stability: { maxIncreaseFactor: factor } });
    const budgetTraces = doubled.budget.monthlyUsd / 5e-6;
    const tracesBefore = new Map(first.ruleDetails.map((d) => [d.rule.RuleName, d.projectedTracesPerMonth]));

    // Act
    const plan = planSampling(applied, doubled);

    // Assess
    expect(plan.projection.monthlyUsd).toBeGreaterThan(first.projection.monthlyUsd);
    // Capped: less than a plan made from scratch at the doubled budget.
    expect(plan.projection.monthlyUsd).toBeLessThan(planSampling(shop, doubled).projection.monthlyUsd);
    for (const detail of plan.ruleDetails) {
      const before = tracesBefore.get(detail.rule.RuleName);
      if (before === undefined || detail.ownership !== "managed") continue;
      // Increases worth under 1% of the budget are never capped (see planner/stability.ts).
      const limit = Math.max(before * factor, before + 0.01 * budgetTraces);
      expect(detail.projectedTracesPerMonth, detail.rule.RuleName).toBeLessThanOrEqual(limit * 1.05);
    }
  });

  it("cuts at once to a halved budget", () => {
    const halved = shopConfig(0.025);

    const plan = planSampling(applied, halved);

    expect(scoreRules(shop, plan.rules, halved).monthlyUsd).toBeLessThanOrEqual(halved.budget.monthlyUsd);
    expect(plan.projection.monthlyUsd).toBeLessThan(first.projection.monthlyUsd);
  });
});

describe("month-to-date pacing", () => {
  it("plans to spend less when the month is running hot", () => {
    // Prepare: by 17 November, 80% of the month's budget is already recorded.
    const settings = shopConfig(0.05);
    const recorded = (0.8 * settings.budget.monthlyUsd) / 5e-6;
    const hot: Snapshot = {
      ...shop,
      monthToDate: { tracesRecorded: Math.round(recorded), since: "2026-11-01T00:00:00.000Z" },
    };

    // Act
    const paced = planSampling(hot, settings);

    // Assess
    const unpaced = planSampling(shop, settings);
    expect(paced.projection.monthlyUsd).toBeLessThan(unpaced.projection.monthlyUsd);
    expect(paced.budget.pacing?.affordableMonthlyUsd).toBeLessThan(settings.budget.monthlyUsd);
    // What is left (20% of the budget over the 14 days to go) is a monthly rate it keeps under.
    const affordable = paced.budget.pacing?.affordableMonthlyUsd ?? 0;
    expect(paced.projection.monthlyUsd).toBeLessThanOrEqual(affordable);
  });

  // Once a bug: the plan warned that people's rules spent the budget, in an account with none.
  it("says the month's budget is spent, not that people's rules spend it", () => {
    const settings = shopConfig(0.05);
    const spent: Snapshot = {
      ...shop,
      monthToDate: {
        tracesRecorded: Math.round((1.5 * settings.budget.monthlyUsd) / 5e-6),
        since: "2026-11-01T00:00:00.000Z",
      },
    };

    const plan = planSampling(spent, settings);

    expect(plan.warnings.join("\n")).not.toMatch(/does not manage/);
    expect(plan.warnings.join("\n")).toMatch(/month/);
  });
});

describe("what the rule quota costs", () => {
  it("projects the plan at raised quotas when asked", () => {
    // Prepare: a quota of 4 leaves three managed rules for eight endpoints.
    const settings = shopConfig(0.05, { ruleQuota: 4 });

    // Act
    const plan = planSampling(shop, settings, { quotaWhatIf: [50, 100, 3] });

    // Assess
    expect(plan.quota.ruleQuota).toBe(4);
    expect(plan.quota.managedCapacity).toBe(3);
    expect(plan.quota.whatIf.map((w) => [w.ruleQuota, w.managedCapacity])).toEqual([
      [50, 49],
      [100, 99],
    ]);
    for (const w of plan.quota.whatIf) {
      expect(w.projection.monthlyUsd).toBeLessThanOrEqual(settings.budget.monthlyUsd);
      expect(w.projection.budgetUsd).toBe(settings.budget.monthlyUsd);
      expect(w.projection.errorCapture).toBeGreaterThan(0);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Bugs found by these tests, each with a minimal counterexample (fixed ones stay as guards).

describe("planner bugs found by these tests", () => {
  // Once a bug: a person's rule that X-Ray SDKs ignore (ResourceARN other than *, or any
  // Attributes) was left out of plan.rules, so applying the plan failed in reconcile.
  it("keeps a person's rule that the SDKs ignore in the plan's rule set", () => {
    const scoped = samplingRule({
      RuleName: "scoped",
      Priority: 10,
      ResourceARN: "arn:aws:lambda:us-east-1:123456789012:function:x",
    });
    const account = snapshot({
      endpoints: [endpoint({ path: "/a", requests: steady(30, 24) })],
      rules: [scoped, defaultRule()],
    });
    const settings = config({ budget: { monthlyUsd: 10 } });

    const plan = planSampling(account, settings);

    expect(plan.rules).toContainEqual(scoped);
    expect(() => reconcileRules(account.rules, plan.rules, settings)).not.toThrow();
  });

  // Was a bug: two critical entries with one pattern made planSampling loop forever (the second
  // rule's name suffix was cut off by the 32-character limit). Planned in a child process so
  // that a return of the loop fails this test instead of hanging the run.
  it("plans for critical entries that repeat a pattern, in any case, within seconds", () => {
    // Prepare
    const script = `
      import { planSampling } from ${JSON.stringify(new URL("../../shared/domain/planner.ts", import.meta.url).href)};
      import { config, endpoint, snapshot, steady } from ${JSON.stringify(new URL("../support/snapshot-builder.ts", import.meta.url).href)};
      const account = snapshot({ endpoints: [endpoint({ method: "POST", path: "/reports/export", requests: steady(3, 24) })] });
      const plan = planSampling(account, config({ budget: { monthlyUsd: 10 }, critical: [
        { path: "/reports/export", minFixedRate: 0.5 },
        { path: "/reports/export", minFixedRate: 1 },
        { method: "POST", path: "/Reports/Export", minFixedRate: 1 },
      ] }));
      process.stdout.write(JSON.stringify(plan.endpoints[0].probability));
    `;

    // Act
    const run = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      encoding: "utf8",
      timeout: 20_000,
    });

    // Assess
    expect(run.signal, "planSampling did not return within 20 s").toBeNull();
    expect(run.stderr).toBe("");
    expect(Number(run.stdout)).toBeGreaterThanOrEqual(1 - 1e-9);
  });

  /** GET /orders is rare, POST /orders busy; the budget pays for all of GET at 100%. */
  const orders = snapshot({
    endpoints: [
      endpoint({ method: "GET", path: "/orders", requests: steady(30, 48) }),
      endpoint({ method: "POST", path: "/orders", requests: steady(3000, 48) }),
    ],
  });
  const broad = { path: "/orders", minFixedRate: 0.05 };
  const narrow = { method: "GET", path: "/orders", minFixedRate: 1 };

  it("meets a narrow critical minimum listed before a broader entry", () => {
    const plan = planSampling(orders, config({ budget: { monthlyUsd: 12 }, critical: [narrow, broad] }));

    expect(endpointIn(plan, "GET", "/orders").probability).toBeGreaterThanOrEqual(1 - 1e-9);
    expect(plan.projection.criticalMet).toBe(true);
  });

  // Was a bug: listed the other way round, the broader entry's rule came first and took GET
  // /orders too; the narrow entry's rule was never matched and GET /orders got about 5%.
  it("meets a narrow critical minimum listed after a broader entry", () => {
    const plan = planSampling(orders, config({ budget: { monthlyUsd: 12 }, critical: [broad, narrow] }));

    expect(endpointIn(plan, "GET", "/orders").probability).toBeGreaterThanOrEqual(1 - 1e-9);
    expect(plan.projection.criticalMet).toBe(true);
  });
});
