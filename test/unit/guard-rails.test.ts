import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FormatError, parseConfig } from "../../shared/domain/formats.ts";
import { checkGuardRails, type GuardRailInput, type GuardRails } from "../../shared/domain/guard-rails.ts";
import { tuningStepOf } from "../../shared/domain/tuning-run.ts";

const rails: GuardRails = { maxRuleChanges: 3, maxSpendIncrease: 0.25 };

function ops(...names: string[]): GuardRailInput["operations"] {
  return names.map((ruleName) => ({ type: "update" as const, ruleName }));
}

describe("checkGuardRails", () => {
  it("allows a run that changes few rules and adds little spend", () => {
    // Prepare
    const input = {
      operations: ops("xgov-a", "xgov-b"),
      projectedUsd: 60,
      projectedUsdBefore: 50,
      budgetUsd: 100,
    };
    // Act
    const verdict = checkGuardRails(input, rails);
    // Assess
    expect(verdict).toEqual({ allowed: true, reasons: [], rulesChanged: 2, spendIncreaseUsd: 10 });
  });

  it("holds back a run that changes more rules than the cap, naming the setting", () => {
    const input = {
      operations: ops("xgov-a", "xgov-b", "xgov-c", "xgov-d"),
      projectedUsd: 50,
      projectedUsdBefore: 50,
      budgetUsd: 100,
    };

    const verdict = checkGuardRails(input, rails);

    expect(verdict.allowed).toBe(false);
    expect(verdict.reasons).toEqual([
      "4 rules would change, more than guardRails.maxRuleChanges (3) allows in one run",
    ]);
  });

  it("counts a replaced rule (delete then create under the same name) and its tag fix as one rule", () => {
    const input = {
      operations: [
        { type: "delete" as const, ruleName: "xgov-a" },
        { type: "create" as const, ruleName: "xgov-a" },
        { type: "tag" as const, ruleName: "xgov-b" },
        { type: "update" as const, ruleName: "xgov-b" },
        { type: "update" as const, ruleName: "Default" },
      ],
      projectedUsd: 50,
      projectedUsdBefore: 50,
      budgetUsd: 100,
    };

    const verdict = checkGuardRails(input, rails);

    expect(verdict.rulesChanged).toBe(3);
    expect(verdict.allowed).toBe(true);
  });

  it("holds back a run whose projected spend rises by more than the allowed share of the budget", () => {
    const input = { operations: ops("xgov-a"), projectedUsd: 80, projectedUsdBefore: 50, budgetUsd: 100 };

    const verdict = checkGuardRails(input, rails);

    expect(verdict.allowed).toBe(false);
    expect(verdict.spendIncreaseUsd).toBe(30);
    expect(verdict.reasons).toEqual([
      "projected spend would rise by $30.00/month ($50.00 → $80.00), more than guardRails.maxSpendIncrease (0.25 of the $100.00 budget = $25.00) allows in one run",
    ]);
  });

  it("holds back a rise that ends above the budget, even a small one", () => {
    const input = { operations: ops("xgov-a"), projectedUsd: 101, projectedUsdBefore: 99, budgetUsd: 100 };

    const verdict = checkGuardRails(input, rails);

    expect(verdict.allowed).toBe(false);
    expect(verdict.reasons).toEqual([
      "projected spend would rise to $101.00/month, above the $100.00 budget",
    ]);
  });

  it("never holds back a cut of an over-budget projection, however many rules it changes", () => {
    const input = {
      operations: ops("xgov-a", "xgov-b", "xgov-c", "xgov-d", "xgov-e", "Default"),
      projectedUsd: 95,
      projectedUsdBefore: 180,
      budgetUsd: 100,
    };

    const verdict = checkGuardRails(input, rails);

    expect(verdict).toMatchObject({ allowed: true, rulesChanged: 6, spendIncreaseUsd: -85 });
  });

  it("still caps the rules changed by a cut when the account is within budget", () => {
    const input = {
      operations: ops("xgov-a", "xgov-b", "xgov-c", "xgov-d"),
      projectedUsd: 40,
      projectedUsdBefore: 90,
      budgetUsd: 100,
    };

    expect(checkGuardRails(input, rails).allowed).toBe(false);
  });

  it("is monotone: a run allowed under some guard rails is allowed under looser ones", () => {
    fc.assert(
      fc.property(
        fc.record({
          changes: fc.integer({ min: 0, max: 30 }),
          before: fc.double({ min: 0, max: 500, noNaN: true }),
          after: fc.double({ min: 0, max: 500, noNaN: true }),
          budget: fc.double({ min: 1, max: 500, noNaN: true }),
          maxRuleChanges: fc.integer({ min: 0, max: 30 }),
          maxSpendIncrease: fc.double({ min: 0, max: 2, noNaN: true }),
          looser: fc.record({ rules: fc.nat(10), spend: fc.double({ min: 0, max: 1, noNaN: true }) }),
        }),
        (c) => {
          const input = {
            operations: ops(...Array.from({ length: c.changes }, (_, i) => `xgov-${i}`)),
            projectedUsd: c.after,
            projectedUsdBefore: c.before,
            budgetUsd: c.budget,
          };
          const tight = checkGuardRails(input, {
            maxRuleChanges: c.maxRuleChanges,
            maxSpendIncrease: c.maxSpendIncrease,
          });
          const loose = checkGuardRails(input, {
            maxRuleChanges: c.maxRuleChanges + c.looser.rules,
            maxSpendIncrease: c.maxSpendIncrease + c.looser.spend,
          });
          // Assess: looser rails never hold back what tighter ones allow; reasons ⇔ not allowed.
          if (tight.allowed) expect(loose.allowed).toBe(true);
          expect(tight.allowed).toBe(tight.reasons.length === 0);
        },
      ),
    );
  });
});

describe("guard rails in the config", () => {
  it("default to 10 rules and a quarter of the budget per run", () => {
    expect(parseConfig({ budget: { monthlyUsd: 10 } }).guardRails).toEqual({
      maxRuleChanges: 10,
      maxSpendIncrease: 0.25,
    });
  });

  it("reject a bad value with the path of the field", () => {
    const bad = () => parseConfig({ budget: { monthlyUsd: 10 }, guardRails: { maxRuleChanges: 2.5 } });

    expect(bad).toThrow(FormatError);
    expect(bad).toThrow(/guardRails\.maxRuleChanges: must be a whole number/);
  });
});

describe("tuningStepOf", () => {
  const config = (fields: object) => parseConfig({ budget: { monthlyUsd: 10 }, ...fields });

  it("skips the run, whatever the mode, while the freeze is set", () => {
    for (const mode of ["off", "report", "approve", "auto"]) {
      expect(tuningStepOf(config({ mode, freeze: true }))).toEqual({
        kind: "skip",
        reason: "config.freeze is true (the kill switch): nothing is changed while it is set",
      });
    }
  });

  it("skips in mode off, reports, proposes or applies by mode otherwise", () => {
    expect(tuningStepOf(config({ mode: "off" })).kind).toBe("skip");
    expect(tuningStepOf(config({ mode: "report" })).kind).toBe("report");
    expect(tuningStepOf(config({ mode: "approve" })).kind).toBe("propose");
    expect(tuningStepOf(config({ mode: "auto" })).kind).toBe("apply");
  });
});
