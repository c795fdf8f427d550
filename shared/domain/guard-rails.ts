/**
 * Guard rails of automatic tuning: how much one unattended run may change. In `auto` mode a
 * plan inside them is applied; a plan beyond them is not applied but escalated to a person
 * (an approval), with the reasons. They are checked against the write operations reconcile
 * asks for on the account as it is, so what is checked is exactly what would be applied.
 *
 * Imports only zod and types: formats.ts takes the schema from here into the config.
 */
import { z } from "zod";
import type { RuleOperation } from "./reconcile.ts";

export const GUARD_RAIL_DEFAULTS = { maxRuleChanges: 10, maxSpendIncrease: 0.25 } as const;

export const GuardRailsSchema = z
  .strictObject({
    /** Most rules (created, updated, deleted or re-tagged) one automatic run may change. */
    maxRuleChanges: z
      .number()
      .int("must be a whole number")
      .min(0)
      .default(GUARD_RAIL_DEFAULTS.maxRuleChanges),
    /**
     * Most the projected monthly spend may rise in one automatic run, as a share of the monthly
     * budget (0.25: a $100 budget lets one run add at most $25/month). Cuts are never held back.
     */
    maxSpendIncrease: z.number().min(0, "must not be negative").default(GUARD_RAIL_DEFAULTS.maxSpendIncrease),
  })
  .default({ ...GUARD_RAIL_DEFAULTS });
export type GuardRails = z.infer<typeof GuardRailsSchema>;

export interface GuardRailInput {
  /** The write operations reconcile asked for against the account's current rules. */
  operations: readonly Pick<RuleOperation, "type" | "ruleName">[];
  /** Projected monthly spend of the plan, and of the rules in force before it (USD). */
  projectedUsd: number;
  projectedUsdBefore: number;
  budgetUsd: number;
}

export interface GuardRailVerdict {
  allowed: boolean;
  /** Why not, one sentence each, naming the setting that stops it. */
  reasons: string[];
  /** Distinct rules the operations touch (a replace, delete then create, is one rule). */
  rulesChanged: number;
  /** Projected monthly spend after minus before; negative for a cut. */
  spendIncreaseUsd: number;
}

/** Spend differences below this (USD/month) are rounding, not a rise. */
const USD_TOLERANCE = 0.005;

/**
 * Whether an automatic run may apply these operations. A plan that brings an over-budget
 * projection down is never held back by the rule-change cap: cutting spend is urgent.
 */
export function checkGuardRails(input: GuardRailInput, rails: GuardRails): GuardRailVerdict {
  const rulesChanged = new Set(input.operations.map((op) => op.ruleName)).size;
  const spendIncreaseUsd = input.projectedUsd - input.projectedUsdBefore;
  const reasons: string[] = [];

  const urgentCut = input.projectedUsdBefore > input.budgetUsd && spendIncreaseUsd < 0;
  if (rulesChanged > rails.maxRuleChanges && !urgentCut) {
    reasons.push(
      `${rulesChanged} rules would change, more than guardRails.maxRuleChanges (${rails.maxRuleChanges}) allows in one run`,
    );
  }
  const allowedIncreaseUsd = rails.maxSpendIncrease * input.budgetUsd;
  if (spendIncreaseUsd > allowedIncreaseUsd + USD_TOLERANCE) {
    reasons.push(
      `projected spend would rise by ${usd(spendIncreaseUsd)}/month (${usd(input.projectedUsdBefore)} → ${usd(input.projectedUsd)}), more than guardRails.maxSpendIncrease (${rails.maxSpendIncrease} of the ${usd(input.budgetUsd)} budget = ${usd(allowedIncreaseUsd)}) allows in one run`,
    );
  }
  if (input.projectedUsd > input.budgetUsd + USD_TOLERANCE && spendIncreaseUsd > USD_TOLERANCE) {
    reasons.push(
      `projected spend would rise to ${usd(input.projectedUsd)}/month, above the ${usd(input.budgetUsd)} budget`,
    );
  }
  return { allowed: reasons.length === 0, reasons, rulesChanged, spendIncreaseUsd };
}

function usd(value: number): string {
  return `$${value.toFixed(2)}`;
}
