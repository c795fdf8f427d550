/**
 * `xray-governor apply`: plan, show the changes, ask, apply, record.
 *
 * The snapshot is a file (`--snapshot`), or collected from the account (with `--sandbox`, the
 * embedded sandbox's replayed demo day). The changes shown are the ones reconciled against what is in
 * the account right now, and exactly those are applied after a yes. On a terminal it asks;
 * elsewhere it needs `--yes`. Every applied change set is recorded in the audit table and can
 * be rolled back with `xray-governor rollback <id>`.
 */
import type { Command } from "commander";
import { type ApplyResult, applyRuleSet } from "../../shared/aws/applier.ts";
import { collectSnapshot } from "../../shared/aws/collector.ts";
import { type Config, parseConfig, parseSnapshot, type Snapshot } from "../../shared/domain/formats.ts";
import { applyBlockedBy } from "../../shared/domain/reconcile.ts";
import { planFromSnapshot } from "../../shared/pipeline.ts";
import { type AccountTarget, openTarget, type TargetFlags, withTargetOptions } from "../aws-target.ts";
import { changeSetFailed, checkCanAsk, runChangeSet, validated } from "../change-output.ts";
import { readDocument, STDIN } from "../documents.ts";
import { InputError } from "../errors.ts";
import { progressReporter } from "../progress.ts";

export interface ApplyFlags extends TargetFlags {
  snapshot?: string;
  config?: string;
  budget?: number;
  yes?: boolean;
  actor?: string;
  quiet?: boolean;
}

function parseBudget(value: string): number {
  const usd = Number(value);
  if (value.trim() === "" || !Number.isFinite(usd)) {
    throw new InputError("--budget must be a number of US dollars per month, e.g. 120");
  }
  return usd;
}

export function register(program: Command): void {
  const command = program
    .command("apply")
    .description("Plan sampling rules and apply them to the account, after showing the changes and asking.")
    .option(
      "--snapshot <file>",
      "snapshot@1 JSON file to plan from ('-' reads standard input); default: collect from the account",
    )
    .option("--config <file>", "config file, JSON or YAML; required unless --sandbox")
    .option(
      "--budget <usd>",
      "monthly budget in US dollars; overrides budget.monthlyUsd of the config",
      parseBudget,
    )
    .option("-y, --yes", "apply without asking (needed when not on a terminal)")
    .option("--actor <name>", "who applies, for the audit record (default: the user name)")
    .option("-q, --quiet", "no progress messages on standard error");
  withTargetOptions(command)
    .addHelpText(
      "after",
      [
        "",
        "Exit codes: 0 applied, nothing to do, or declined; 1 refused or failed (a partly applied",
        "change set is recorded, and the next apply finishes it); 2 bad input, nothing changed.",
        "",
        "Examples:",
        "  xray-governor apply --sandbox                       try it on the embedded demo sandbox",
        "  xray-governor apply --config governor.yaml --audit-table xgov-audit",
        "  xray-governor apply --snapshot snap.json --config governor.yaml --yes",
      ].join("\n"),
    )
    .action(async (flags: ApplyFlags) => {
      const result = await applyCommand(flags);
      if (result && changeSetFailed(result)) process.exitCode = 1;
    });
}

async function loadConfig(flags: ApplyFlags): Promise<Config> {
  let document: unknown;
  let origin: string;
  if (flags.config !== undefined) {
    document = readDocument(flags.config, "--config", { yamlAllowed: true });
    origin = `--config ${flags.config}`;
  } else if (flags.sandbox) {
    const { demoConfigDocument } = await import("../default-scenario.ts");
    document = await demoConfigDocument();
    origin = "the demo scenario's config";
  } else {
    throw new InputError(
      "apply needs --config FILE (budget, rule quota, ownership …), or --sandbox for the demo",
    );
  }
  if (flags.budget !== undefined) {
    if (typeof document !== "object" || document === null || Array.isArray(document)) {
      throw new InputError(`${origin}: invalid config:\n  - (root): must be an object`);
    }
    const doc = document as { budget?: object };
    document = { ...doc, budget: { ...(doc.budget ?? {}), monthlyUsd: flags.budget } };
  }
  return validated(parseConfig, document, origin);
}

function readSnapshotFile(flags: ApplyFlags): Snapshot | undefined {
  if (flags.snapshot === undefined) return undefined;
  return validated(
    parseSnapshot,
    readDocument(flags.snapshot, "--snapshot", { yamlAllowed: true }),
    `--snapshot ${flags.snapshot === STDIN ? "(standard input)" : flags.snapshot}`,
  );
}

/** The snapshot to plan from: the file, or collected from the account; with month-to-date pacing when known. */
async function loadSnapshot(
  file: Snapshot | undefined,
  target: AccountTarget,
  config: Config,
  progress: (message: string) => void,
): Promise<Snapshot> {
  const now = target.now();
  let snapshot: Snapshot;
  if (file) {
    snapshot = file;
  } else {
    progress(`collecting a snapshot from ${target.description}`);
    const collection = await collectSnapshot(
      { xray: target.xray, cloudWatch: target.cloudWatch },
      {
        config: target.metricSources ? { ...config, metricSources: target.metricSources } : config,
        now,
        region: target.region,
      },
    );
    for (const warning of collection.warnings) progress(`warning: ${warning}`);
    snapshot = collection.snapshot;
    if (target.state) {
      const counted = await target.state.recordStatistics(collection.statistics, now);
      progress(`month to date: ${counted.state.tracesRecorded} traces recorded (${counted.addedTraces} new)`);
    }
  }
  if (!snapshot.monthToDate && target.state) {
    const monthToDate = await target.state.monthToDate(now);
    if (monthToDate) snapshot = { ...snapshot, monthToDate };
  }
  return snapshot;
}

export async function applyCommand(flags: ApplyFlags): Promise<ApplyResult | undefined> {
  const progress = progressReporter(flags.quiet);
  // Everything that can be checked without the account is checked first.
  checkCanAsk(flags.yes, "apply");
  const config = await loadConfig(flags);
  const blocked = applyBlockedBy(config);
  if (blocked) throw new Error(`refusing to apply: ${blocked}`);
  const snapshotFile = readSnapshotFile(flags);
  const target = await openTarget(flags);
  try {
    if (!target.audit) {
      throw new InputError(
        "apply records every change it makes: pass --audit-table NAME (or set XRAY_GOVERNOR_AUDIT_TABLE)",
      );
    }
    const snapshot = await loadSnapshot(snapshotFile, target, config, progress);
    progress(
      `planning ${snapshot.endpoints.length} endpoints and ${snapshot.rules.length} rules, budget $${config.budget.monthlyUsd}/month`,
    );
    const plan = planFromSnapshot(snapshot, config);
    for (const warning of plan.warnings) progress(`warning: ${warning}`);
    progress(`plan ${plan.planId}: projected $${plan.projection.monthlyUsd.toFixed(2)}/month`);

    return await runChangeSet(
      { target, audit: target.audit, flags, progress },
      {
        heading: `Plan ${plan.planId}, changes to ${target.description}`,
        question: (changes) => `Apply these ${changes} changes?`,
      },
      (options) => applyRuleSet(plan.rules, { ...options, config, mode: "apply", planId: plan.planId }),
    );
  } finally {
    await target.close();
  }
}
