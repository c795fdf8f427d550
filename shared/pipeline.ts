/**
 * One tuning run's stages wired together, for the CLI and the Lambdas alike:
 * collect → plan → diff → act. Each stage is a small function here that calls the domain (or
 * an adapter); an entry point calls the stages it needs. Today: plan from a snapshot.
 */
import type { Config, Snapshot } from "./domain/formats.ts";
import type { Plan } from "./domain/plan.ts";
import { planSampling } from "./domain/planner.ts";

/** The raised rule quotas a plan is also projected at, so a user knows whether to ask AWS for more. */
export const QUOTA_WHAT_IF = [50, 100] as const;

export interface PlanFromSnapshotOptions {
  /** Raised quotas to project at (default {@link QUOTA_WHAT_IF}); those not above the config's quota are skipped. */
  quotaWhatIf?: readonly number[];
}

/** The quotas worth projecting: above the account's own, or twice it when the defaults are not. */
export function whatIfQuotas(config: Pick<Config, "ruleQuota">, asked: readonly number[]): number[] {
  const above = [...new Set(asked)].filter((q) => q > config.ruleQuota).sort((a, b) => a - b);
  return above.length > 0 ? above : [config.ruleQuota * 2];
}

/** Plans the account's sampling rules for a snapshot under a config; records how long planning took. */
export function planFromSnapshot(
  snapshot: Snapshot,
  config: Config,
  options: PlanFromSnapshotOptions = {},
): Plan {
  const started = performance.now();
  const plan = planSampling(snapshot, config, {
    quotaWhatIf: whatIfQuotas(config, options.quotaWhatIf ?? QUOTA_WHAT_IF),
  });
  return { ...plan, planningMs: plan.planningMs ?? performance.now() - started };
}
