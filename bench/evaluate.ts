/**
 * Scoring one scenario as `scoring.md` says: plan from the snapshot, score the plan and every
 * baseline on the next day, and check the targets — (a) at the config's rule quota against the
 * best deployable baseline within budget, (b) with a quota that has room for every endpoint
 * against the best per-endpoint baseline within budget, less 2 points.
 */
import type { Config, SamplingRule, Snapshot } from "../shared/domain/formats.ts";
import { splitRules } from "../shared/domain/ownership.ts";
import { planSampling } from "../shared/domain/planner.ts";
import { samplingRule } from "../shared/domain/sampling-rule.ts";
import { scoreRules, type WindowScore } from "../shared/domain/scoring.ts";
import {
  BASELINE_BUDGET_TOLERANCE,
  type BaselineFamily,
  type BaselineForm,
  buildBaselines,
  rulesUsed,
  scoreBaseline,
} from "./baselines.ts";
import { attainableBounds, type TargetBounds } from "./bounds.ts";
import type { LoadedScenario } from "./scenarios.ts";

export type Variant = "quota" | "room-for-all";

export interface SamplerRow {
  id: string;
  label: string;
  kind: "governor" | "baseline";
  family?: BaselineFamily;
  form?: BaselineForm;
  score: WindowScore;
  /** Rules in the account (undefined for a per-endpoint allocation). */
  rules?: number;
  planningMs?: number;
  /** Baselines: spend/budget ≤ 105%; the governor: ≤ 100%. */
  withinBudget: boolean;
}

export type Metric = "faultCapture" | "errorCapture" | "coverage";
export const TARGET_METRICS: Metric[] = ["faultCapture", "errorCapture", "coverage"];

export interface TargetCheck {
  name: string;
  value: number;
  /** What the value must reach (spend: at most). */
  threshold: number;
  /** The baseline that set the threshold. */
  reference?: string;
  /** The most any plan that meets the critical minimums within the budget could score. */
  bound?: number;
  /** The threshold is above the bound: no plan could meet it. */
  unattainable?: boolean;
  pass: boolean;
}

export interface VariantResult {
  variant: Variant;
  ruleQuota: number;
  rows: SamplerRow[];
  targets: TargetCheck[];
  pass: boolean;
  warnings: string[];
  /**
   * When a target is missed and critical entries match traffic: the best baseline within budget
   * per metric had it been held to the same critical minimums (each pinned by a rule of its own,
   * paid first, taking a rule slot) — what the minimums cost in the comparison.
   */
  sameCritical?: Partial<Record<Metric, { label: string; value: number }>>;
}

/** Quota with room for every endpoint: endpoints + unmanaged rules + 2 (Default and one spare). */
export function roomForAllQuota(scenario: LoadedScenario): number {
  const { unmanaged } = splitRules(scenario.snapshot.rules, scenario.config);
  return Math.min(10_000, scenario.snapshot.endpoints.length + unmanaged.length + 2);
}

export function configFor(scenario: LoadedScenario, variant: Variant): Config {
  return variant === "quota" ? scenario.config : { ...scenario.config, ruleQuota: roomForAllQuota(scenario) };
}

export interface GovernorRun {
  rules: SamplingRule[];
  planningMs: number;
  warnings: string[];
}

export function runGovernor(scenario: LoadedScenario, config: Config): GovernorRun {
  const started = performance.now();
  const plan = planSampling(scenario.snapshot, config, { quotaWhatIf: [] });
  const planningMs = performance.now() - started;
  return { rules: plan.rules, planningMs, warnings: plan.warnings };
}

/** The best value of a metric over the rows (undefined when there are none). */
export function best(rows: SamplerRow[], metric: Metric): SamplerRow | undefined {
  let top: SamplerRow | undefined;
  for (const row of rows) if (!top || row.score[metric] > top.score[metric]) top = row;
  return top;
}

/** The baselines a variant's targets compare against: within budget, in the variant's form. */
export function referenceRows(rows: SamplerRow[], variant: Variant): SamplerRow[] {
  return rows.filter(
    (r) =>
      r.kind === "baseline" &&
      r.withinBudget &&
      (variant === "quota" ? r.form === "deployable" : r.form === "per-endpoint"),
  );
}

export function checkTargets(
  governor: SamplerRow,
  references: SamplerRow[],
  options: { slack: number; bounds?: TargetBounds },
): TargetCheck[] {
  const checks: TargetCheck[] = [
    {
      name: "spend/budget ≤ 100%",
      value: governor.score.spendRatio,
      threshold: 1,
      pass: governor.score.spendRatio <= 1 + 1e-9,
    },
    {
      name: "critical rates met",
      value: governor.score.criticalMet ? 1 : 0,
      threshold: 1,
      pass: governor.score.criticalMet,
    },
  ];
  for (const metric of TARGET_METRICS) {
    const top = best(references, metric);
    const threshold = top ? Math.max(0, top.score[metric] - options.slack) : 0;
    const bound = options.bounds?.[metric];
    checks.push({
      name: metric,
      value: governor.score[metric],
      threshold,
      reference: top?.label,
      bound,
      unattainable: bound !== undefined && threshold > bound + 1e-9,
      pass: governor.score[metric] >= threshold - 1e-9,
    });
  }
  return checks;
}

/**
 * When the budget cannot pay even the critical minimums nothing can be met: the plan must hold
 * the budget and warn that it scaled the minimums down.
 */
export function budgetOnlyTargets(governor: SamplerRow, warnings: string[]): TargetCheck[] {
  const warned = warnings.some((w) => w.includes("cannot pay the critical minimum rates"));
  return [
    {
      name: "spend/budget ≤ 100%",
      value: governor.score.spendRatio,
      threshold: 1,
      pass: governor.score.spendRatio <= 1 + 1e-9,
    },
    {
      name: "warns that critical minimums were scaled down",
      value: warned ? 1 : 0,
      threshold: 1,
      pass: warned,
    },
  ];
}

/** Plans and scores one variant of a scenario: the governor and every baseline on the next day. */
export function evaluateVariant(scenario: LoadedScenario, variant: Variant): VariantResult {
  const config = configFor(scenario, variant);
  const governor = runGovernor(scenario, config);
  const governorScore = scoreRules(scenario.future, governor.rules, config);
  const rows: SamplerRow[] = [
    {
      id: "governor",
      label: "governor",
      kind: "governor",
      score: governorScore,
      rules: governor.rules.length,
      planningMs: governor.planningMs,
      withinBudget: governorScore.spendRatio <= 1 + 1e-9,
    },
  ];
  rows.push(...baselineRows(scenario.snapshot, scenario.future, config));
  const targets =
    scenario.expectation === "budget-only"
      ? budgetOnlyTargets(rows[0], governor.warnings)
      : checkTargets(rows[0], referenceRows(rows, variant), {
          slack: variant === "quota" ? 0 : 0.02,
          bounds: attainableBounds(
            scenario.future,
            config,
            splitRules(scenario.snapshot.rules, config).unmanaged,
          ),
        });
  return {
    variant,
    ruleQuota: config.ruleQuota,
    rows,
    targets,
    pass: targets.every((t) => t.pass),
    warnings: governor.warnings,
    sameCritical:
      scenario.expectation === "budget-only" || targets.every((t) => t.pass)
        ? undefined
        : sameCriticalReferences(scenario, config, variant),
  };
}

/** Every baseline of a snapshot, scored on the next day. */
function baselineRows(snapshot: Snapshot, future: Snapshot, config: Config): SamplerRow[] {
  return buildBaselines(snapshot, config).map((baseline) => {
    const score = scoreBaseline(baseline, future, config);
    return {
      id: baseline.id,
      label: baseline.label,
      kind: "baseline",
      family: baseline.family,
      form: baseline.form,
      score,
      rules: rulesUsed(baseline),
      withinBudget: score.spendRatio <= BASELINE_BUDGET_TOLERANCE + 1e-9,
    };
  });
}

/**
 * The critical entries as rules people made by hand, first in the account: every baseline
 * then leaves their traffic with them and pays for it first, as the governor must.
 */
export function withCriticalPinned(snapshot: Snapshot, config: Config): Snapshot {
  const pinned = config.critical.map((c, i) =>
    samplingRule({
      RuleName: `bench-critical-${i + 1}`,
      Priority: 1 + i,
      FixedRate: c.minFixedRate,
      ReservoirSize: 0,
      ServiceName: c.service,
      Host: c.host,
      HTTPMethod: c.method,
      URLPath: c.path,
    }),
  );
  return { ...snapshot, rules: [...pinned, ...snapshot.rules] };
}

function sameCriticalReferences(
  scenario: LoadedScenario,
  config: Config,
  variant: Variant,
): VariantResult["sameCritical"] {
  if (config.critical.length === 0) return undefined;
  // The current rules are not sized to anything: they stay out, pinned or not.
  const rows = baselineRows(withCriticalPinned(scenario.snapshot, config), scenario.future, config);
  const references = referenceRows(
    rows.filter((r) => r.id !== "current"),
    variant,
  );
  const out: VariantResult["sameCritical"] = {};
  for (const metric of TARGET_METRICS) {
    const top = best(references, metric);
    if (top) out[metric] = { label: top.label, value: top.score[metric] };
  }
  return out;
}
