/**
 * Invariants every plan must keep, on arbitrary small accounts: the rule quota, the budget,
 * no shadowed managed rule, people's rules and Default left alone, X-Ray's field limits, a
 * valid plan@1 document, and determinism.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SeededRandom } from "../../sandbox/seeded-random.ts";
import {
  type Config,
  DEFAULT_RULE_NAME,
  type Endpoint,
  parseConfig,
  parsePlan,
  parseSnapshot,
  type SamplingRule,
  SamplingRuleSchema,
  SNAPSHOT_FORMAT,
  type Snapshot,
} from "../../shared/domain/formats.ts";
import { ownershipOf } from "../../shared/domain/ownership.ts";
import type { Plan } from "../../shared/domain/plan.ts";
import { planSampling } from "../../shared/domain/planner.ts";
import {
  evaluationOrder,
  firstMatches,
  isUsedBySdks,
  requestOf,
  ruleMatches,
} from "../../shared/domain/sampling.ts";
import { SECONDS_PER_MONTH, scoreRules } from "../../shared/domain/scoring.ts";
import { defaultRule, OWNER_TAG, samplingRule } from "../support/snapshot-builder.ts";

// ---------------------------------------------------------------------------------------------
// Arbitrary accounts

const SERVICES = ["orders-api", "users-api", "catalog"];
const METHODS = ["GET", "POST", "PUT", "DELETE"];
const SEGMENTS = ["orders", "users", "items", "health", "v1", "checkout", "search"];
const PARAMETERS = ["{id}", "{userId}", "{sku}"];

/** Route templates from a small vocabulary, so that prefixes are shared and `{param}`s common. */
const routeTemplate = fc
  .tuple(
    fc.constantFrom(...SEGMENTS),
    fc.array(
      fc.oneof(
        { weight: 2, arbitrary: fc.constantFrom(...SEGMENTS) },
        { weight: 1, arbitrary: fc.constantFrom(...PARAMETERS) },
      ),
      { maxLength: 3 },
    ),
  )
  .map(([first, rest]) => `/${[first, ...rest].join("/")}`);

interface EndpointShape {
  service: string;
  method: string;
  path: string;
  host?: string;
  serviceType?: string;
  /** log10 of the mean requests per period; undefined: an endpoint with no traffic at all. */
  logRate?: number;
  errorRate: number;
  faultRate: number;
  /** A burst of faults: first period (as a share of the window), length in periods, fault share. */
  burst?: { at: number; periods: number; share: number };
  seed: number;
}

const endpointShape: fc.Arbitrary<EndpointShape> = fc.record(
  {
    service: fc.constantFrom(...SERVICES),
    method: fc.constantFrom(...METHODS),
    // A few routes common to many endpoints: the same path under several methods and services.
    path: fc.oneof(
      { weight: 2, arbitrary: routeTemplate },
      { weight: 1, arbitrary: fc.constantFrom("/orders", "/orders/{id}", "/cart") },
    ),
    host: fc.constantFrom("api.example.com", "admin.example.com"),
    serviceType: fc.constant("AWS::Lambda::Function"),
    logRate: fc.option(fc.double({ min: -2, max: 4, noNaN: true }), { freq: 8 }).map((v) => v ?? undefined),
    errorRate: fc.constantFrom(0, 0, 0.001, 0.02, 0.2),
    faultRate: fc.constantFrom(0, 0, 0, 0.0005, 0.01),
    burst: fc
      .option(
        fc.record({
          at: fc.double({ min: 0, max: 1, noNaN: true }),
          periods: fc.integer({ min: 1, max: 12 }),
          share: fc.constantFrom(0.05, 0.5, 1),
        }),
        { freq: 4 },
      )
      .map((v) => v ?? undefined),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  },
  { requiredKeys: ["service", "method", "path", "errorRate", "faultRate", "seed"] },
);

function endpointFrom(shape: EndpointShape, periods: number): Endpoint {
  const random = new SeededRandom(shape.seed);
  const requests: number[] = [];
  const errors: number[] = [];
  const faults: number[] = [];
  const burstStart = shape.burst ? Math.floor(shape.burst.at * periods) : -1;
  for (let t = 0; t < periods; t++) {
    const mean =
      shape.logRate === undefined ? 0 : 10 ** shape.logRate * (1 + 0.5 * Math.sin((2 * Math.PI * t) / 288));
    const r = random.poisson(mean);
    const inBurst = shape.burst && t >= burstStart && t < burstStart + shape.burst.periods;
    const f = random.binomial(r, inBurst && shape.burst ? shape.burst.share : shape.faultRate);
    requests.push(r);
    faults.push(f);
    errors.push(random.binomial(r - f, shape.errorRate));
  }
  return {
    service: shape.service,
    method: shape.method,
    path: shape.path,
    ...(shape.host ? { host: shape.host } : {}),
    ...(shape.serviceType ? { serviceType: shape.serviceType } : {}),
    requests,
    errors,
    faults,
  };
}

/** A person's rule: any priority, a pattern that may cover some endpoints, maybe ignored by SDKs. */
const personsRule = (name: string, paths: string[]) =>
  fc
    .record({
      Priority: fc.integer({ min: 1, max: 9999 }),
      URLPath: fc.oneof(
        fc.constant("*"),
        fc.constantFrom(...paths).map((p) => p.replace(/\{[^}]*\}/g, "*")),
        fc.constantFrom(...SEGMENTS).map((s) => `/${s}*`),
      ),
      HTTPMethod: fc.constantFrom("*", "GET", "POST"),
      ServiceName: fc.constantFrom("*", ...SERVICES),
      FixedRate: fc.constantFrom(0, 0.001, 0.05, 0.5, 1),
      ReservoirSize: fc.integer({ min: 0, max: 5 }),
      sdkIgnored: fc.constantFrom(undefined, undefined, undefined, "arn", "attributes"),
      // Owner-tagged without the prefix, or prefixed without the tag: still a person's rule.
      tagged: fc.boolean(),
    })
    .map(({ sdkIgnored, tagged, ...fields }) =>
      samplingRule({
        RuleName: name,
        ...fields,
        ...(sdkIgnored === "arn" ? { ResourceARN: "arn:aws:lambda:us-east-1:123456789012:function:x" } : {}),
        ...(sdkIgnored === "attributes" ? { Attributes: { tier: "gold" } } : {}),
        Tags: tagged && !name.startsWith("xgov-") ? [OWNER_TAG] : [{ Key: "team", Value: "ops" }],
      }),
    );

/** What sampling every request of a window would cost per month, at $5 per million. */
function sampleEverythingUsd(endpoints: Endpoint[], periodSeconds: number): number {
  const periods = endpoints[0]?.requests.length ?? 0;
  let requests = 0;
  for (const e of endpoints) for (const r of e.requests) requests += r;
  return ((requests * SECONDS_PER_MONTH) / Math.max(1, periods * periodSeconds)) * 5e-6;
}

interface Account {
  snapshot: Snapshot;
  config: Config;
}

const account: fc.Arbitrary<Account> = fc
  .record({
    periods: fc.integer({ min: 24, max: 72 }),
    shapes: fc.uniqueArray(endpointShape, {
      minLength: 1,
      maxLength: 40,
      selector: (s) => `${s.service} ${s.method} ${s.path}`,
    }),
    personsRuleNames: fc.uniqueArray(
      fc.constantFrom("ops-health", "team-a", "legacy", "xgov-handmade", "Manual-Rule", "debug"),
      { maxLength: 6 },
    ),
    staleManaged: fc.integer({ min: 0, max: 2 }),
    defaultSettings: fc.record({
      FixedRate: fc.constantFrom(0, 0.01, 0.05, 1),
      ReservoirSize: fc.integer({ min: 0, max: 3 }),
    }),
    critical: fc.array(
      fc.record({
        pick: fc.nat(),
        method: fc.constantFrom("*", "exact"),
        minFixedRate: fc.constantFrom(0.05, 0.5, 1),
        missing: fc.boolean(),
      }),
      { maxLength: 3 },
    ),
    // Half the budgets in dollars (tiny to huge), half as a share of sampling every request.
    budget: fc.oneof(
      fc.record({ of: fc.constant("dollars" as const), log10: fc.double({ min: -3, max: 4, noNaN: true }) }),
      fc.record({
        of: fc.constant("everything" as const),
        log10: fc.double({ min: -4, max: 0.5, noNaN: true }),
      }),
    ),
    ruleQuota: fc.integer({ min: 2, max: 60 }),
    /** Share of the month's budget already recorded by mid-month. */
    monthToDate: fc.oneof(
      { weight: 3, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.double({ min: 0, max: 1.5, noNaN: true }) },
    ),
  })
  .chain((draw) => {
    const paths = draw.shapes.map((s) => s.path);
    return fc
      .tuple(
        fc.tuple(...draw.personsRuleNames.map((name) => personsRule(name, paths))),
        fc.array(personsRule("unused", paths), {
          minLength: draw.staleManaged,
          maxLength: draw.staleManaged,
        }),
      )
      .map(([persons, stale]) => {
        const endpoints = draw.shapes.map((s) => endpointFrom(s, draw.periods));
        const managedBefore = stale.map((rule, i) => ({
          ...rule,
          RuleName: `xgov-old-${i}`,
          ResourceARN: "*",
          Attributes: {},
          Priority: 1000 + i,
          Tags: [OWNER_TAG],
        }));
        const everything = sampleEverythingUsd(endpoints, 300);
        const monthlyUsd = Math.max(
          1e-3,
          draw.budget.of === "dollars" || everything === 0
            ? 10 ** draw.budget.log10
            : everything * 10 ** draw.budget.log10,
        );
        const start = "2026-11-16T00:00:00.000Z";
        const capturedAt = new Date(Date.parse(start) + draw.periods * 300_000).toISOString();
        const critical = draw.critical
          .map((c) => {
            // The first few endpoints only, so that entries often overlap.
            const target = draw.shapes[c.pick % Math.min(3, draw.shapes.length)];
            return {
              method: c.method === "exact" ? target.method : "*",
              path: c.missing ? "/not-deployed-yet" : target.path.replace(/\{[^}]*\}/g, "*"),
              minFixedRate: c.minFixedRate,
            };
          })
          // Entries may repeat a pattern, in another case too: matching ignores case.
          .map((c, i) =>
            i % 2 === 1 && draw.shapes.length % 2 === 0 ? { ...c, path: c.path.toUpperCase() } : c,
          );
        const snapshot = parseSnapshot({
          format: SNAPSHOT_FORMAT,
          capturedAt,
          region: "us-east-1",
          start,
          periodSeconds: 300,
          endpoints,
          rules: [...persons, ...managedBefore, defaultRule(draw.defaultSettings)],
          ...(draw.monthToDate === null
            ? {}
            : {
                monthToDate: {
                  tracesRecorded: Math.round((draw.monthToDate * monthlyUsd * 1e6) / 5),
                  since: "2026-11-01T00:00:00.000Z",
                },
              }),
        });
        const config = parseConfig({ budget: { monthlyUsd }, ruleQuota: draw.ruleQuota, critical });
        return { snapshot, config };
      });
  });

// ---------------------------------------------------------------------------------------------
// The invariants

/**
 * Cases per invariant, and fixed seeds so that `npm test` is repeatable. To explore further:
 * PLANNER_PROPERTY_RUNS=2000 PLANNER_PROPERTY_SEED=$RANDOM npx vitest run test/unit/planner-properties.test.ts
 */
const RUNS = Number(process.env.PLANNER_PROPERTY_RUNS ?? 100);
const SEED = Number(process.env.PLANNER_PROPERTY_SEED ?? 20261116);

function unmanagedIn(a: Account, rules: SamplingRule[]): SamplingRule[] {
  return rules.filter((r) => ownershipOf(r, a.config) === "unmanaged");
}

function managedIn(a: Account, rules: SamplingRule[]): SamplingRule[] {
  return rules.filter((r) => ownershipOf(r, a.config) === "managed");
}

/** Checks an invariant on the plan of every arbitrary account (shrinking to a small counterexample). */
function everyPlan(seed: number, check: (a: Account, plan: Plan) => void): void {
  fc.assert(
    fc.property(account, (a) => {
      check(a, planSampling(a.snapshot, a.config));
    }),
    { numRuns: RUNS, seed: SEED + seed },
  );
}

describe("planSampling on arbitrary accounts", () => {
  it("(a) keeps managed, unmanaged and Default rules within the rule quota", () => {
    everyPlan(1, (a, plan) => {
      // Counted from the snapshot: the account keeps every person's rule whatever the plan lists.
      const unmanaged = unmanagedIn(a, a.snapshot.rules).length;
      const managed = managedIn(a, plan.rules).length;
      expect(plan.rules.filter((r) => r.RuleName === DEFAULT_RULE_NAME)).toHaveLength(1);
      // People's rules alone may already fill the quota: then the plan adds none of its own.
      expect(managed + unmanaged + 1).toBeLessThanOrEqual(Math.max(a.config.ruleQuota, unmanaged + 1));
      expect(plan.quota.managedUsed).toBe(managed);
    });
  });

  it("(b) projects spend within the budget on its own snapshot unless people's rules alone exceed it", () => {
    everyPlan(2, (a, plan) => {
      const budget = a.config.budget.monthlyUsd;
      const personsOnly = [
        ...unmanagedIn(a, a.snapshot.rules),
        defaultRule({ ReservoirSize: 0, FixedRate: 0 }),
      ];
      const personsSpend = scoreRules(a.snapshot, personsOnly, a.config).monthlyUsd;
      if (personsSpend > budget) {
        expect(plan.warnings.join("\n")).toMatch(/already spend the whole budget|unmanaged rules need more/);
        return;
      }

      const spend = scoreRules(a.snapshot, plan.rules, a.config).monthlyUsd;

      expect(spend).toBeLessThanOrEqual(budget * (1 + 1e-9));
      expect(plan.projection.monthlyUsd).toBeCloseTo(spend, 9);
    });
  });

  it("(c) shadows no managed rule: each takes some endpoint's requests or is a critical rule", () => {
    everyPlan(3, (a, plan) => {
      const ordered = evaluationOrder(plan.rules);
      const taken = firstMatches(ordered, a.snapshot.endpoints);
      const critical = new Set(
        plan.ruleDetails.filter((d) => d.reason === "critical").map((d) => d.rule.RuleName),
      );
      ordered.forEach((rule, r) => {
        if (ownershipOf(rule, a.config) !== "managed") return;
        const takes = taken.some((t) => t === r);
        if (!critical.has(rule.RuleName)) expect(takes, `${rule.RuleName} takes no endpoint`).toBe(true);
        // No managed rule sits behind another managed rule that takes everything it matches.
        // A critical rule may: a broader entry after a narrower one keeps its rule for traffic
        // the snapshot does not show (whether minimums are met is invariant (h)).
        if (critical.has(rule.RuleName)) return;
        const matched = a.snapshot.endpoints.flatMap((e, i) => (ruleMatches(rule, requestOf(e)) ? [i] : []));
        const byManaged = matched.filter((i) => ownershipOf(ordered[taken[i]], a.config) === "managed");
        if (matched.length > 0 && byManaged.length > 0) {
          expect(takes, `${rule.RuleName} is matched over entirely by earlier managed rules`).toBe(true);
        }
      });
    });
  });

  it("(d) leaves people's rules byte for byte, keeps their traffic with them, and never deletes Default", () => {
    everyPlan(4, (a, plan) => {
      // Rules the SDKs ignore (ResourceARN or Attributes) are checked in planner-behaviour.test.ts.
      const before = unmanagedIn(a, a.snapshot.rules);
      const after = unmanagedIn(a, plan.rules);
      for (const rule of before.filter(isUsedBySdks)) {
        expect(after.map((r) => JSON.stringify(r))).toContain(JSON.stringify(rule));
      }
      for (const rule of after) {
        expect(before.map((r) => JSON.stringify(r))).toContain(JSON.stringify(rule));
      }
      const names = new Set(before.map((r) => r.RuleName.toLowerCase()));
      for (const action of plan.actions) {
        expect(names.has(action.ruleName.toLowerCase()), `action on ${action.ruleName}`).toBe(false);
        if (action.ruleName === DEFAULT_RULE_NAME) expect(action.type).toBe("update");
      }

      // Whatever a person's rule took before, it still takes.
      const personsOrdered = evaluationOrder([...before, defaultRule()]);
      const personsTake = firstMatches(personsOrdered, a.snapshot.endpoints);
      const ordered = evaluationOrder(plan.rules);
      const planTakes = firstMatches(ordered, a.snapshot.endpoints);
      a.snapshot.endpoints.forEach((e, i) => {
        const owner = personsOrdered[personsTake[i]].RuleName;
        if (owner === DEFAULT_RULE_NAME) return;
        expect(ordered[planTakes[i]].RuleName, `${e.method} ${e.path}`).toBe(owner);
      });
    });
  });

  it("(e) makes every rule valid for X-Ray, and managed rules carry the owner tag, the prefix and a band priority", () => {
    everyPlan(5, (a, plan) => {
      const { namePrefix, ownerTag, priorityBand } = a.config.rules;
      const names = plan.rules.map((r) => r.RuleName.toLowerCase());
      expect(new Set(names).size).toBe(names.length);
      for (const rule of plan.rules) {
        const check = SamplingRuleSchema.safeParse(rule);
        expect(check.success, `${rule.RuleName}: ${check.error?.message}`).toBe(true);
      }
      const persons = new Set(unmanagedIn(a, a.snapshot.rules).map((r) => r.RuleName));
      for (const rule of plan.rules) {
        // Every rule that is neither Default nor a person's is the governor's own.
        if (rule.RuleName === DEFAULT_RULE_NAME || persons.has(rule.RuleName)) continue;
        expect(rule.RuleName.startsWith(namePrefix), rule.RuleName).toBe(true);
        expect(rule.Tags).toContainEqual({ Key: ownerTag.key, Value: ownerTag.value });
        expect(rule.Priority).toBeGreaterThanOrEqual(priorityBand.min);
        expect(rule.Priority).toBeLessThanOrEqual(priorityBand.max);
        expect(rule.ResourceARN).toBe("*");
        expect(rule.Attributes).toEqual({});
      }
    });
  });

  it("(f) validates as a plan@1 document, also after a JSON round trip", () => {
    everyPlan(6, (_, plan) => {
      expect(() => parsePlan(plan)).not.toThrow();
      expect(() => parsePlan(JSON.parse(JSON.stringify(plan)))).not.toThrow();
    });
  });

  it("(h) meets every critical minimum unless it says why not", () => {
    // The reasons a plan may give: no slot, a person's rule holds the endpoints, no budget.
    const excuses = /no rule slot|does not manage|held by unmanaged|cannot pay|too small for every floor/;
    everyPlan(8, (a, plan) => {
      if (plan.warnings.some((w) => excuses.test(w))) return;

      const score = scoreRules(a.snapshot, plan.rules, a.config);

      for (const c of score.critical) {
        expect(c.met, `${c.critical.method} ${c.critical.path} at ${c.rate} on ${c.worstEndpoint}`).toBe(
          true,
        );
      }
    });
  });

  it("(g) is deterministic: the same input gives the same plan id and rules", () => {
    fc.assert(
      fc.property(account, (a) => {
        const first = planSampling(structuredClone(a.snapshot), structuredClone(a.config));
        const second = planSampling(structuredClone(a.snapshot), structuredClone(a.config));
        expect(second.planId).toBe(first.planId);
        expect(second.rules).toEqual(first.rules);
        expect(second.actions).toEqual(first.actions);
      }),
      { numRuns: Math.max(10, Math.round(RUNS / 4)), seed: SEED + 7 },
    );
  });
});
