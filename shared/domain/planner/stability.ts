/**
 * Stability between runs: the snapshot's current managed rules are the previous plan. A change
 * inside the deadband is skipped, an increase is capped per run, and a cut needed to get back
 * under budget happens at once.
 */
import type { SamplingRule } from "../formats.ts";
import type { DesignedGroup } from "./design.ts";
import { groupCost, groupValue, hourlyProbabilities, largestRateWhere } from "./value.ts";

export interface StabilityOptions {
  deadband: number;
  maxIncreaseFactor: number;
  /** An increase that adds less than this many traces per month is never capped. */
  smallIncreaseTraces: number;
  monthScale: number;
}

export interface StabilityOutcome {
  /** Rule names kept as they were because the change was inside the deadband. */
  heldInDeadband: Set<string>;
  /** Rule names whose increase was capped. */
  capped: Set<string>;
  /** Per rule with a previous version: the most it may cost this run (traces per month). */
  costLimits: Map<string, number>;
}

/**
 * Adjusts the groups' settings against their previous rules (matched by rule name). Returns
 * which rules were held or capped. The caller re-checks the budget and calls
 * {@link releaseCuts} when the held settings overshoot it.
 */
export function applyStability(
  groups: { group: DesignedGroup; name: string }[],
  previous: Map<string, SamplingRule>,
  options: StabilityOptions,
): StabilityOutcome {
  const heldInDeadband = new Set<string>();
  const capped = new Set<string>();
  const costLimits = new Map<string, number>();
  const totalValue = groups.reduce((sum, { group }) => sum + group.setting.value, 0);
  for (const { group, name } of groups) {
    const before = previous.get(name);
    if (!before) continue;
    const desired = group.setting;
    const pBefore = hourlyProbabilities(group.profile, before.ReservoirSize, before.FixedRate);
    const costBefore = groupCost(group.profile, pBefore, options.monthScale);
    const rateChange =
      Math.abs(desired.fixedRate - before.FixedRate) / Math.max(desired.fixedRate, before.FixedRate, 1e-12);
    // A change worth next to nothing either way (a rule whose value is flat in its rate, like a
    // chatty health check's) is churn too, however large the rate step.
    const worthless =
      Math.abs(desired.value - groupValue(group.profile, pBefore)) <= NEGLIGIBLE_VALUE_SHARE * totalValue &&
      Math.abs(desired.cost - costBefore) <= options.smallIncreaseTraces;
    if (desired.reservoir === before.ReservoirSize && (rateChange <= options.deadband || worthless)) {
      if (before.FixedRate >= group.minFixedRate) {
        setSettings(group, before.ReservoirSize, before.FixedRate, options.monthScale);
        heldInDeadband.add(name);
      }
      continue;
    }
    const limit = Math.max(costBefore * options.maxIncreaseFactor, costBefore + options.smallIncreaseTraces);
    if (group.kind !== "critical") costLimits.set(name, limit);
    if (desired.cost > limit && group.kind !== "critical") {
      capCost(group, limit, options.monthScale);
      capped.add(name);
    }
  }
  return { heldInDeadband, capped, costLimits };
}

/** A change of a rule's value under this share of the plan's is not worth a rule update. */
const NEGLIGIBLE_VALUE_SHARE = 1e-3;

/** Brings a group's cost down to `limit` by lowering its fixed rate, then its reservoir. */
function capCost(group: DesignedGroup, limit: number, monthScale: number): void {
  let reservoir = group.setting.reservoir;
  const costAt = (k: number, f: number) =>
    groupCost(group.profile, hourlyProbabilities(group.profile, k, f), monthScale);
  while (reservoir > 0 && costAt(reservoir, group.minFixedRate) > limit)
    reservoir = Math.floor(reservoir / 2);
  const rate = largestRateWhere(
    group.minFixedRate,
    group.setting.fixedRate,
    (f) => costAt(reservoir, f) <= limit,
  );
  setSettings(group, reservoir, rate, monthScale);
}

/** Gives up deadband holds that sample more than the plan wants, when the total is over budget. */
export function releaseCuts(
  groups: { group: DesignedGroup; name: string; desired: { reservoir: number; fixedRate: number } }[],
  held: Set<string>,
  monthScale: number,
): void {
  for (const { group, name, desired } of groups) {
    if (!held.has(name)) continue;
    if (desired.fixedRate < group.setting.fixedRate || desired.reservoir < group.setting.reservoir) {
      setSettings(group, desired.reservoir, desired.fixedRate, monthScale);
      held.delete(name);
    }
  }
}

export function setSettings(
  group: DesignedGroup,
  reservoir: number,
  fixedRate: number,
  monthScale: number,
): void {
  const p = hourlyProbabilities(group.profile, reservoir, fixedRate);
  group.setting = {
    reservoir,
    fixedRate,
    value: groupValue(group.profile, p),
    cost: groupCost(group.profile, p, monthScale),
  };
}
