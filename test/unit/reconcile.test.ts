import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseConfig, type SamplingRule } from "../../shared/domain/formats.ts";
import { ownershipOf } from "../../shared/domain/ownership.ts";
import {
  applyOperation,
  applyOperations,
  ReconcileError,
  type RuleOperation,
  reconcileRules,
  sameRuleSet,
} from "../../shared/domain/reconcile.ts";
import { defaultRule, samplingRule } from "../../shared/domain/sampling-rule.ts";

const config = parseConfig({ budget: { monthlyUsd: 100 }, ruleQuota: 25 });
const OWNER = { Key: "xray-governor:managed", Value: "true" };

const rule = (name: string, fields: Partial<SamplingRule> = {}) =>
  samplingRule({ RuleName: name, ...fields });
const managed = (name: string, fields: Partial<SamplingRule> = {}) =>
  rule(`xgov-${name}`, { Tags: [OWNER], ...fields });
const names = (ops: RuleOperation[]) => ops.map((op) => `${op.type} ${op.ruleName}`);

describe("reconcileRules", () => {
  it("does nothing when the account already holds the desired rules, within float tolerance", () => {
    // Prepare
    const current = [defaultRule(), managed("a", { FixedRate: 0.3 }), rule("people-rule", { Priority: 5 })];
    const desired = [
      defaultRule(),
      managed("a", { FixedRate: 0.1 + 0.2 }),
      rule("people-rule", { Priority: 5 }),
    ];
    // Act
    const ops = reconcileRules(current, desired, config);
    // Assess
    expect(ops).toEqual([]);
  });

  it("changes only Default's rate and reservoir, with only the changed fields", () => {
    const ops = reconcileRules([defaultRule()], [defaultRule({ FixedRate: 0.01, ReservoirSize: 0 })], config);
    expect(ops).toEqual([
      {
        type: "update",
        ruleName: "Default",
        changes: { FixedRate: 0.01, ReservoirSize: 0 },
        before: defaultRule(),
      },
    ]);
  });

  it("refuses to change Default's patterns or to leave Default out", () => {
    expect(() => reconcileRules([defaultRule()], [defaultRule({ URLPath: "/x" })], config)).toThrow(
      /only FixedRate and ReservoirSize of Default can change.*URLPath/,
    );
    expect(() => reconcileRules([defaultRule(), managed("a")], [managed("a")], config)).toThrow(
      /has no Default rule/,
    );
  });

  it("refuses, naming the rule, when the desired set changes, drops, adopts or creates an unmanaged rule", () => {
    const people = rule("people-rule", { Priority: 5 });
    // Has the governor's prefix but not its tag: a person's rule all the same.
    const lookalike = rule("xgov-by-hand", { Priority: 6 });
    const current = [defaultRule(), people, lookalike];
    const cases: [SamplingRule[], RegExp][] = [
      [[defaultRule(), { ...people, FixedRate: 1 }, lookalike], /people-rule: .*changes its FixedRate/],
      [[defaultRule(), lookalike], /people-rule: .*leaves it out/],
      [[defaultRule(), people, { ...lookalike, Tags: [OWNER] }], /xgov-by-hand: .*take it over/],
      [[defaultRule(), people, lookalike, rule("other")], /other: .*only creates rules it owns/],
      // Tagged but without the prefix: still not the governor's.
      [
        [defaultRule(), people, lookalike, rule("mine", { Tags: [OWNER] })],
        /mine: .*only creates rules it owns/,
      ],
    ];
    for (const [desired, message] of cases) {
      expect(() => reconcileRules(current, desired, config)).toThrow(ReconcileError);
      expect(() => reconcileRules(current, desired, config)).toThrow(message);
    }
  });

  it("refuses a desired set larger than the quota, and invalid rules, naming the field", () => {
    const small = { ...config, ruleQuota: 2 };
    expect(() => reconcileRules([defaultRule()], [defaultRule(), managed("a"), managed("b")], small)).toThrow(
      /3 rules, more than the rule quota of 2/,
    );
    expect(() =>
      reconcileRules([defaultRule()], [defaultRule(), managed("a", { FixedRate: 1.5 })], config),
    ).toThrow(/xgov-a: FixedRate: must be between 0 and 1/);
  });

  it("creates a replacement before deleting the rule it replaces when the quota has room", () => {
    // Prepare: the old checkout rule goes, a new one with another name takes its traffic.
    const current = [defaultRule(), managed("old", { URLPath: "/checkout", FixedRate: 1 })];
    const desired = [defaultRule(), managed("new", { URLPath: "/checkout", FixedRate: 1 })];
    // Act
    const ops = reconcileRules(current, desired, config);
    // Assess: no moment where /checkout falls through to Default.
    expect(names(ops)).toEqual(["create xgov-new", "delete xgov-old"]);
  });

  it("deletes first when the quota is full, rearmost rule first", () => {
    const current = [defaultRule(), managed("a", { Priority: 1000 }), managed("b", { Priority: 2000 })];
    const desired = [defaultRule(), managed("c", { Priority: 1500 }), managed("d", { Priority: 2500 })];
    const ops = reconcileRules(current, desired, { ...config, ruleQuota: 3 });
    expect(names(ops)).toEqual(["delete xgov-b", "create xgov-c", "delete xgov-a", "create xgov-d"]);
  });

  it("establishes rules front to back so a broad new rule never catches a narrower one's traffic", () => {
    const current = [defaultRule()];
    const desired = [
      defaultRule({ FixedRate: 0.01 }),
      managed("broad", { Priority: 2000, URLPath: "/api/*" }),
      managed("narrow", { Priority: 1000, URLPath: "/api/checkout" }),
    ];
    const ops = reconcileRules(current, desired, config);
    expect(names(ops)).toEqual(["create xgov-narrow", "create xgov-broad", "update Default"]);
  });

  it("fixes tags of managed rules without touching AWS's own tags", () => {
    const current = [
      defaultRule(),
      managed("a", { Tags: [OWNER, { Key: "team", Value: "x" }, { Key: "aws:cf", Value: "1" }] }),
    ];
    const desired = [defaultRule(), managed("a", { Tags: [OWNER, { Key: "env", Value: "prod" }] })];
    const ops = reconcileRules(current, desired, config);
    expect(ops).toMatchObject([
      { type: "tag", ruleName: "xgov-a", tags: [{ Key: "env", Value: "prod" }] },
      { type: "untag", ruleName: "xgov-a", tagKeys: ["team"] },
    ]);
  });

  it("replaces (delete then create) a rule whose SamplingRateBoost must be removed", () => {
    const current = [
      defaultRule(),
      managed("a", { SamplingRateBoost: { MaxRate: 0.5, CooldownWindowMinutes: 10 } }),
    ];
    const desired = [defaultRule(), managed("a")];
    expect(names(reconcileRules(current, desired, config))).toEqual(["delete xgov-a", "create xgov-a"]);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

const ruleFields = fc.record({
  Priority: fc.integer({ min: 1, max: 9999 }),
  FixedRate: fc.constantFrom(0, 0.01, 0.05, 0.5, 1),
  ReservoirSize: fc.integer({ min: 0, max: 5 }),
  URLPath: fc.constantFrom("*", "/api/*", "/checkout", "/health"),
  HTTPMethod: fc.constantFrom("*", "GET", "POST"),
  withBoost: fc.boolean(),
  extraTag: fc.constantFrom(undefined, "a", "b"),
});
type Fields = typeof ruleFields extends fc.Arbitrary<infer T> ? T : never;

function build(name: string, f: Fields, owned: boolean): SamplingRule {
  return rule(name, {
    Priority: f.Priority,
    FixedRate: f.FixedRate,
    ReservoirSize: f.ReservoirSize,
    URLPath: f.URLPath,
    HTTPMethod: f.HTTPMethod,
    SamplingRateBoost: f.withBoost ? { MaxRate: 0.5, CooldownWindowMinutes: 5 } : undefined,
    Tags: [...(owned ? [OWNER] : []), ...(f.extraTag ? [{ Key: "note", Value: f.extraTag }] : [])],
  });
}

/** An account and a desired set that keeps the account's unmanaged rules, with a quota that fits both. */
const scenario = fc
  .record({
    unmanaged: fc.uniqueArray(fc.tuple(fc.constantFrom("p1", "p2", "p3", "xgov-untagged"), ruleFields), {
      selector: ([n]) => n,
      maxLength: 4,
    }),
    managedBefore: fc.uniqueArray(fc.tuple(fc.integer({ min: 0, max: 15 }), ruleFields), {
      selector: ([n]) => n,
      maxLength: 12,
    }),
    managedAfter: fc.uniqueArray(fc.tuple(fc.integer({ min: 0, max: 15 }), ruleFields), {
      selector: ([n]) => n,
      maxLength: 12,
    }),
    defaultBefore: fc.tuple(fc.constantFrom(0, 0.05, 0.1), fc.integer({ min: 0, max: 2 })),
    defaultAfter: fc.tuple(fc.constantFrom(0, 0.05, 0.1), fc.integer({ min: 0, max: 2 })),
    slack: fc.integer({ min: 0, max: 3 }),
    accountOverQuota: fc.boolean(),
  })
  .map((s) => {
    const unmanaged = s.unmanaged.map(([n, f]) => build(n, f, n === "xgov-untagged"));
    const current = [
      defaultRule({ FixedRate: s.defaultBefore[0], ReservoirSize: s.defaultBefore[1] }),
      ...unmanaged,
      ...s.managedBefore.map(([n, f]) => build(`xgov-r${n}`, f, true)),
    ];
    const desired = [
      defaultRule({ FixedRate: s.defaultAfter[0], ReservoirSize: s.defaultAfter[1] }),
      ...unmanaged,
      ...s.managedAfter.map(([n, f]) => build(`xgov-r${n}`, f, true)),
    ];
    // Normally the account fits the quota; sometimes the configured quota is stale (lower).
    const ruleQuota = s.accountOverQuota
      ? desired.length + s.slack
      : Math.max(desired.length, current.length) + s.slack;
    return { current, desired, quotaConfig: { ...config, ruleQuota } };
  });

describe("reconcileRules properties", () => {
  it("never has more rules than the quota (or than the account already had) at any step", () => {
    fc.assert(
      fc.property(scenario, ({ current, desired, quotaConfig }) => {
        const ops = reconcileRules(current, desired, quotaConfig);
        const limit = Math.max(quotaConfig.ruleQuota, current.length);
        let state = current;
        for (const op of ops) {
          state = applyOperation(state, op);
          expect(state.length).toBeLessThanOrEqual(limit);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("never names an unmanaged rule in any operation", () => {
    fc.assert(
      fc.property(scenario, ({ current, desired, quotaConfig }) => {
        const ops = reconcileRules(current, desired, quotaConfig);
        const unmanaged = new Set(
          current.filter((r) => ownershipOf(r, quotaConfig) === "unmanaged").map((r) => r.RuleName),
        );
        for (const op of ops) {
          expect(unmanaged.has(op.ruleName)).toBe(false);
          if (op.ruleName === "Default") expect(op.type).toBe("update");
        }
      }),
      { numRuns: 500 },
    );
  });

  it("applying the operations to the account yields the desired set, and then nothing is left to do", () => {
    fc.assert(
      fc.property(scenario, ({ current, desired, quotaConfig }) => {
        const ops = reconcileRules(current, desired, quotaConfig);
        const after = applyOperations(current, ops);
        expect(sameRuleSet(after, desired)).toBe(true);
        expect(reconcileRules(after, desired, quotaConfig)).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  it("an apply interrupted after any operation converges when reconciled again", () => {
    fc.assert(
      fc.property(scenario, fc.nat(), ({ current, desired, quotaConfig }, cut) => {
        const ops = reconcileRules(current, desired, quotaConfig);
        const partial = applyOperations(current, ops.slice(0, ops.length === 0 ? 0 : cut % ops.length));
        const rest = reconcileRules(partial, desired, quotaConfig);
        expect(sameRuleSet(applyOperations(partial, rest), desired)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
