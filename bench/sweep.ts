/**
 * `npm run bench -- --sweep N`: the governor on N random generated scenarios instead of the
 * named ones, so a change is judged on many next days rather than tuned to a few. Sizes, budgets
 * and hand-made rules cycle through the ranges below; each scenario is scored like the named
 * ones (both targets of scoring.md), and the table says how often each target was met and by
 * how much it was missed.
 */
import { markdownTable } from "markdown-table";
import { generateScenario } from "../sandbox/scenario-generator.ts";
import { splitRules } from "../shared/domain/ownership.ts";
import { ruleOutcome, scoreOutcome } from "../shared/domain/scoring.ts";
import { evaluateVariant, type Variant, type VariantResult } from "./evaluate.ts";
import { pct } from "./report.ts";
import { floorCostUsd, type LoadedScenario } from "./scenarios.ts";

const SIZES = [40, 120, 300];
const BUDGET_FRACTIONS = [0.01, 0.03, 0.08, 0.2];
/** Every fifth scenario has this many hand-made rules. */
const HANDMADE_RULES = 3;

export interface SweepCase {
  seed: number;
  endpoints: number;
  budgetFraction: number;
  handmadeRules: number;
  /** What the critical minimums cost, as a share of the budget. */
  criticalShare: number;
  /** Set when the scenario is left out: hand-made rules alone cost more than the budget. */
  skipped?: string;
  variants: VariantResult[];
}

export function sweepCase(
  index: number,
  firstSeed: number,
  sizes: readonly number[] = SIZES,
): { info: Omit<SweepCase, "variants">; scenario: LoadedScenario } {
  const seed = firstSeed + index;
  const endpoints = sizes[index % sizes.length];
  const budgetFraction = BUDGET_FRACTIONS[index % BUDGET_FRACTIONS.length];
  const handmadeRules = index % 5 === 0 ? HANDMADE_RULES : 0;
  const s = generateScenario({
    name: `sweep-${seed}`,
    seed,
    endpoints,
    budgetFraction,
    unmanagedRules: handmadeRules,
  });
  const { unmanaged } = splitRules(s.snapshot.rules, s.config);
  const unmanagedUsd = scoreOutcome(s.snapshot, ruleOutcome(s.snapshot, unmanaged), s.config).monthlyUsd;
  const criticalUsd = floorCostUsd(s.snapshot, s.config).criticalUsd;
  const scenario: LoadedScenario = {
    snapshot: s.snapshot,
    future: s.future,
    config: s.config,
    // When the critical minimums (or people's rules) alone cost more than the budget, nothing
    // can be met: the plan must hold the budget and say it scaled the minimums down.
    expectation: criticalUsd + unmanagedUsd > s.config.budget.monthlyUsd ? "budget-only" : undefined,
  };
  const budget = s.config.budget.monthlyUsd;
  return {
    info: {
      seed,
      endpoints,
      budgetFraction,
      handmadeRules,
      criticalShare: criticalUsd / budget,
      // No plan can hold a budget that people's own rules already overspend.
      skipped:
        unmanagedUsd > budget
          ? `hand-made rules alone cost ${pct(unmanagedUsd / budget)} of the budget`
          : undefined,
    },
    scenario,
  };
}

export function runSweep(
  count: number,
  firstSeed: number,
  variants: Variant[],
  sizes: readonly number[] = SIZES,
): SweepCase[] {
  const cases: SweepCase[] = [];
  for (let i = 0; i < count; i++) {
    const { info, scenario } = sweepCase(i, firstSeed, sizes);
    cases.push({ ...info, variants: info.skipped ? [] : variants.map((v) => evaluateVariant(scenario, v)) });
  }
  return cases;
}

const pts = (x: number) => `${(x * 100).toFixed(2)}`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : sorted[Math.floor((sorted.length - 1) / 2)];
}

/** Per variant: how many scenarios met every target, and each target's misses. */
export function sweepTable(cases: SweepCase[]): string {
  const variants = [...new Set(cases.flatMap((c) => c.variants.map((v) => v.variant)))];
  const targets = ["spend/budget ≤ 100%", "critical rates met", "faultCapture", "errorCapture", "coverage"];
  const header = [
    "variant",
    "scenarios",
    "all targets met",
    ...targets.map((t) => `${t}: missed (median shortfall, pts)`),
  ];
  const rows = variants.map((variant) => {
    const results = cases.flatMap((c) => c.variants.filter((v) => v.variant === variant));
    const scored = results.filter((r) => r.targets.some((t) => t.name === "coverage"));
    return [
      variant,
      `${results.length} (${results.length - scored.length} budget-only)`,
      `${results.filter((r) => r.pass).length} (${pct(results.filter((r) => r.pass).length / Math.max(1, results.length))})`,
      ...targets.map((name) => {
        const misses = results.flatMap((r) => r.targets.filter((t) => t.name === name && !t.pass));
        if (misses.length === 0) return "0";
        if (name === "critical rates met") return `${misses.length}`;
        const shortfall = median(misses.map((t) => Math.abs(t.value - t.threshold)));
        return `${misses.length} (${pts(shortfall)})`;
      }),
    ];
  });
  return markdownTable([header, ...rows], { align: ["l", "r", "r", "r", "r", "r", "r", "r"] });
}

/** One line per scenario variant that missed a target. */
export function sweepMisses(cases: SweepCase[]): string {
  const lines: string[] = [];
  for (const c of cases) {
    if (c.skipped) lines.push(`- seed ${c.seed}: left out, ${c.skipped}`);
    for (const v of c.variants) {
      if (v.pass) continue;
      const missed = v.targets
        .filter((t) => !t.pass)
        .map((t) => `${t.name} ${pct(t.value)} vs ${pct(t.threshold)}`)
        .join("; ");
      lines.push(
        `- seed ${c.seed}, ${c.endpoints} endpoints, budget ${c.budgetFraction * 100}% of everything, ${c.handmadeRules} hand-made rules, critical floor ${pct(c.criticalShare)} of the budget, ${v.variant}: ${missed}`,
      );
    }
  }
  return lines.join("\n");
}
