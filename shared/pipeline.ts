/**
 * One tuning run's stages wired together, for the CLI and the Lambdas alike:
 * collect → plan → diff → act → record. Each stage is a small function here that calls the
 * domain (or an adapter); an entry point calls the stages it needs, or {@link runTuning} for a
 * whole run as the scheduler makes it.
 */
import { type ApplyResult, applyRuleSet } from "./aws/applier.ts";
import type { AuditStore } from "./aws/audit-store.ts";
import { type Collection, type CollectorClients, collectSnapshot } from "./aws/collector.ts";
import type { StateStore } from "./aws/state-store.ts";
import type { Config, Snapshot } from "./domain/formats.ts";
import { checkGuardRails, type GuardRailVerdict } from "./domain/guard-rails.ts";
import type { Accumulation } from "./domain/month-to-date.ts";
import type { Plan } from "./domain/plan.ts";
import { planSampling } from "./domain/planner.ts";
import { ReconcileError } from "./domain/reconcile.ts";
import { type TuningStep, tuningStepOf } from "./domain/tuning-run.ts";

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

// ---------------------------------------------------------------------------------------------
// Collect

export interface CollectForPlanningOptions {
  config: Config;
  now: Date;
  region: string;
  /** Where month-to-date traces are kept; read for pacing when given. */
  state?: StateStore;
  /** Add the statistic windows read to the month-to-date total (a write). Default false. */
  recordStatistics?: boolean;
}

export interface CollectedSnapshot {
  /** The snapshot, with `monthToDate` from the state when the state knows it. */
  snapshot: Snapshot;
  collection: Collection;
  /** What recording the statistics added, when asked to. */
  monthToDate?: Accumulation;
}

/** Collects a snapshot from the account and completes it with the month-to-date total for pacing. */
export async function collectForPlanning(
  clients: CollectorClients,
  options: CollectForPlanningOptions,
): Promise<CollectedSnapshot> {
  const { config, now, region, state } = options;
  const collection = await collectSnapshot(clients, { config, now, region });
  let snapshot = collection.snapshot;
  let monthToDate: Accumulation | undefined;
  if (state && options.recordStatistics) {
    monthToDate = await state.recordStatistics(collection.statistics, now);
  }
  if (state && !snapshot.monthToDate) {
    const known = await state.monthToDate(now);
    if (known) snapshot = { ...snapshot, monthToDate: known };
  }
  return { snapshot, collection, monthToDate };
}

// ---------------------------------------------------------------------------------------------
// A whole run

export interface TuningRunOptions {
  clients: CollectorClients;
  /** Where applied change sets are recorded (auto mode). */
  audit: AuditStore;
  /** Where month-to-date traces are kept. */
  state: StateStore;
  config: Config;
  now: Date;
  region: string;
  /** Who the audit record names, e.g. "scheduler". */
  actor: string;
}

/**
 * - skipped: the kill switch is on; nothing was read or written;
 * - reported: planned and reported (mode report); nothing written;
 * - approval pending: planned for a person to approve (mode approve); nothing written;
 * - escalated: auto mode, but the plan is beyond the guard rails; nothing written;
 * - refused: the plan would touch rules the governor does not own or break the quota; nothing written;
 * - unchanged: auto mode, the account already holds the plan;
 * - applied / partial / failed: what the apply did (a partial apply is recorded and the next run finishes it).
 */
export type TuningOutcome =
  | "skipped"
  | "reported"
  | "approval pending"
  | "escalated"
  | "refused"
  | ApplyResult["status"];

export interface TuningRun {
  step: TuningStep;
  outcome: TuningOutcome;
  /** Why the run ended as it did, one sentence each (kill switch, guard rails, refusal, errors). */
  reasons: string[];
  plan?: Plan;
  collection?: Collection;
  monthToDate?: Accumulation;
  guardRails?: GuardRailVerdict;
  apply?: ApplyResult;
}

/**
 * One tuning run as the scheduler makes it: the kill switch and the mode decide the steps
 * (`shared/domain/tuning-run.ts`); collect → plan → (report | propose | apply inside the guard
 * rails) → record. Only auto mode writes anything: the month-to-date total, the rules, and the
 * audit record of the change set. Throws only for failures to read (collect, state); a failed
 * write is an outcome.
 */
export async function runTuning(options: TuningRunOptions): Promise<TuningRun> {
  const { config, now, region } = options;
  const step = tuningStepOf(config);
  if (step.kind === "skip") return { step, outcome: "skipped", reasons: [step.reason] };

  const { snapshot, collection, monthToDate } = await collectForPlanning(options.clients, {
    config,
    now,
    region,
    state: options.state,
    recordStatistics: step.kind === "apply",
  });
  const plan = planFromSnapshot(snapshot, config);
  const run = { step, plan, collection, monthToDate };
  if (step.kind === "report") return { ...run, outcome: "reported", reasons: [] };
  if (step.kind === "propose") {
    return {
      ...run,
      outcome: "approval pending",
      reasons: ['config.mode is "approve": a person approves the plan'],
    };
  }

  let guardRails: GuardRailVerdict | undefined;
  let apply: ApplyResult;
  try {
    apply = await applyRuleSet(plan.rules, {
      xray: options.clients.xray,
      config,
      actor: options.actor,
      mode: "auto",
      planId: plan.planId,
      region,
      audit: options.audit,
      confirm: (operations) => {
        guardRails = checkGuardRails(
          {
            operations,
            projectedUsd: plan.projection.monthlyUsd,
            projectedUsdBefore: plan.projectionBefore.monthlyUsd,
            budgetUsd: config.budget.monthlyUsd,
          },
          config.guardRails,
        );
        return guardRails.allowed;
      },
    });
  } catch (error) {
    if (!(error instanceof ReconcileError)) throw error;
    return {
      ...run,
      outcome: "refused",
      reasons: error.problems.map((p) => `rule ${p.ruleName}: ${p.message}`),
    };
  }
  if (apply.status === "declined") {
    return { ...run, outcome: "escalated", reasons: guardRails?.reasons ?? [], guardRails, apply };
  }
  const reasons = [apply.error, apply.auditError].filter((r): r is string => r !== undefined);
  return { ...run, outcome: apply.status, reasons, guardRails, apply };
}

/** What a run did, as one flat record for a structured log line and metrics. */
export interface TuningSummary {
  outcome: TuningOutcome;
  mode: Config["mode"];
  freeze: boolean;
  reasons: string[];
  planId?: string;
  budgetMonthlyUsd: number;
  projectedMonthlyUsd?: number;
  projectedMonthlyUsdBefore?: number;
  /** Projected share of faults, errors and endpoint-hours captured by at least one trace, 0–1. */
  faultCapture?: number;
  errorCapture?: number;
  coverage?: number;
  endpoints?: number;
  /** The plan's rule actions against the snapshot, by type. */
  actions?: { create: number; update: number; delete: number };
  /** Write calls sent to X-Ray (retries included). */
  ruleWrites: number;
  auditId?: string;
  /** The change was made but its audit record could not be written. */
  auditError?: string;
  monthToDateTraces?: number;
  collectionCostUsd?: number;
  warnings: string[];
}

export function summarizeRun(run: TuningRun, config: Config): TuningSummary {
  const { plan } = run;
  const actions = { create: 0, update: 0, delete: 0 };
  for (const action of plan?.actions ?? []) actions[action.type]++;
  return {
    outcome: run.outcome,
    mode: config.mode,
    freeze: config.freeze,
    reasons: run.reasons,
    planId: plan?.planId,
    budgetMonthlyUsd: config.budget.monthlyUsd,
    projectedMonthlyUsd: plan?.projection.monthlyUsd,
    projectedMonthlyUsdBefore: plan?.projectionBefore.monthlyUsd,
    faultCapture: plan?.projection.faultCapture,
    errorCapture: plan?.projection.errorCapture,
    coverage: plan?.projection.coverage,
    endpoints: plan?.endpoints.length,
    actions: plan ? actions : undefined,
    ruleWrites: run.apply?.writeCalls ?? 0,
    auditId: run.apply?.audit?.id,
    auditError: run.apply?.auditError,
    monthToDateTraces: run.monthToDate?.state.tracesRecorded ?? plan?.budget.pacing?.monthToDateTraces,
    collectionCostUsd: run.collection?.usage.costUsd.total,
    warnings: [...(run.collection?.warnings ?? []), ...(plan?.warnings ?? [])],
  };
}
