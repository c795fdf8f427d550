/**
 * What the planner produces: the plan@1 document plus the project's own fields (reasons,
 * per-endpoint projections, quota analysis, fingerprints). Renderers, the applier and the
 * Slack flow all read this one type.
 */
import type { Action, Projection, SamplingRule } from "./formats.ts";
import type { RuleOwnership } from "./ownership.ts";

/** Why a rule exists, in the product's words. */
export type RuleReason =
  | "critical"
  | "fault-prone"
  | "error-prone"
  | "rare endpoints floor"
  | "bulk traffic"
  | "catch-all"
  | "kept (not managed)";

export interface PlanProjection extends Projection {
  monthlyTraces: number;
  rareCoverage: number;
  criticalMet: boolean;
}

export interface PlannedRule {
  /** The rule as it will be in the account (managed rules carry the prefix and owner tag). */
  rule: SamplingRule;
  ownership: RuleOwnership;
  reason: RuleReason;
  /** One sentence a person can read: why this rule has these settings. */
  explanation: string;
  /** The same rule before the plan (same name), if it existed. */
  before?: SamplingRule;
  /** Snapshot endpoints whose requests this rule takes first. */
  endpointCount: number;
  requestsPerMonth: number;
  projectedTracesPerMonth: number;
  projectedUsdPerMonth: number;
}

export interface EndpointProjection {
  key: string;
  label: string;
  service: string;
  method: string;
  path: string;
  ruleName: string;
  ruleNameBefore: string;
  /** Request-weighted mean sampling probability over the snapshot window. */
  probability: number;
  probabilityBefore: number;
  requestsPerMonth: number;
  tracesPerMonth: number;
  tracesPerMonthBefore: number;
  faultsPerDay: number;
  errorsPerDay: number;
  /** Probability that each hour with traffic has at least one trace, averaged. */
  coverage: number;
  coverageBefore: number;
}

export interface QuotaWhatIf {
  ruleQuota: number;
  managedCapacity: number;
  projection: PlanProjection;
}

export interface QuotaAnalysis {
  ruleQuota: number;
  unmanagedRules: number;
  reserve: number;
  managedCapacity: number;
  managedUsed: number;
  /** Projected metrics if the quota were raised, so a user knows whether to ask AWS for more. */
  whatIf: QuotaWhatIf[];
}

export interface BudgetAnalysis {
  monthlyUsd: number;
  /** What the plan aims at after headroom and month-to-date pacing. */
  targetUsd: number;
  headroomUsd: number;
  /** Spend of unmanaged rules, taken off the budget first. */
  unmanagedUsd: number;
  /**
   * Kept free for what the snapshot cannot show: one endpoint spiking tenfold for two hours and
   * a new endpoint falling to a catch-all rule, priced under the planned settings.
   */
  exposureUsd: number;
  pacing?: {
    monthToDateTraces: number;
    monthToDateUsd: number;
    monthFractionElapsed: number;
    /** The monthly rate the rest of the month can afford. */
    affordableMonthlyUsd: number;
  };
}

export interface Plan {
  format: "xray-governor/plan@1";
  /** Content hash of the planned rule set: same rules, same id. */
  planId: string;
  /** Hash of the rule state the plan was made against; a drifted account refuses the plan. */
  baseFingerprint: string;
  createdAt: string;
  region: string;
  /** The complete rule set in force after applying: managed, untouched unmanaged, and Default. */
  rules: SamplingRule[];
  actions: Action[];
  projection: PlanProjection;
  /** The current rules projected the same way. */
  projectionBefore: PlanProjection;
  ruleDetails: PlannedRule[];
  endpoints: EndpointProjection[];
  quota: QuotaAnalysis;
  budget: BudgetAnalysis;
  /** Things a person should know: unmet critical rates, a budget too small for every floor … */
  warnings: string[];
  /** How long planning took, in milliseconds (not part of planId). */
  planningMs?: number;
}
