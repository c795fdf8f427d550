/**
 * `xray-governor rollback <auditId>`: restores the managed rules and Default's settings that an
 * applied change set replaced. Shows the changes and asks first (`--yes` for scripts); people's
 * rules are never touched; the rollback is itself recorded. An unknown id is refused.
 */
import type { Command } from "commander";
import { type ApplyResult, rollbackChangeSet } from "../../shared/aws/applier.ts";
import { type Config, parseConfig } from "../../shared/domain/formats.ts";
import { rollbackBlockedBy } from "../../shared/domain/reconcile.ts";
import { openTarget, type TargetFlags, withTargetOptions } from "../aws-target.ts";
import { changeSetFailed, checkCanAsk, runChangeSet, validated } from "../change-output.ts";
import { readDocument } from "../documents.ts";
import { InputError } from "../errors.ts";
import { progressReporter } from "../progress.ts";

export interface RollbackFlags extends TargetFlags {
  config?: string;
  yes?: boolean;
  actor?: string;
  quiet?: boolean;
}

export function register(program: Command): void {
  const command = program
    .command("rollback")
    .description("Undo an applied change set: restore the managed rules and Default settings it replaced.")
    .argument("<auditId>", "id of the audit record to undo (apply prints it)")
    .option(
      "--config <file>",
      "config file, JSON or YAML, for the rule-name prefix, owner tag and rule quota (default: their defaults)",
    )
    .option("-y, --yes", "roll back without asking (needed when not on a terminal)")
    .option("--actor <name>", "who rolls back, for the audit record (default: the user name)")
    .option("-q, --quiet", "no progress messages on standard error");
  withTargetOptions(command)
    .addHelpText(
      "after",
      [
        "",
        "Exit codes: 0 rolled back, nothing to do, or declined; 1 refused (e.g. unknown id) or failed;",
        "2 bad input, nothing changed.",
        "",
        "Example:",
        "  xray-governor rollback 20261117T101500Z-a1b2c3 --audit-table xgov-audit",
      ].join("\n"),
    )
    .action(async (auditId: string, flags: RollbackFlags) => {
      const result = await rollbackCommand(auditId, flags);
      if (changeSetFailed(result)) process.exitCode = 1;
    });
}

function loadConfig(flags: RollbackFlags): Config {
  if (flags.config === undefined) {
    // Only ownership (prefix, tag) and the quota matter to a rollback; the budget is a placeholder.
    return parseConfig({ budget: { monthlyUsd: 1 } });
  }
  const document = readDocument(flags.config, "--config", { yamlAllowed: true });
  return validated(parseConfig, document, `--config ${flags.config}`);
}

export async function rollbackCommand(auditId: string, flags: RollbackFlags): Promise<ApplyResult> {
  const progress = progressReporter(flags.quiet);
  checkCanAsk(flags.yes, "rollback");
  const config = loadConfig(flags);
  const blocked = rollbackBlockedBy(config);
  if (blocked) throw new Error(`refusing to roll back: ${blocked}`);
  const target = await openTarget(flags);
  try {
    if (!target.audit) {
      throw new InputError(
        "rollback reads the audit record: pass --audit-table NAME (or set XRAY_GOVERNOR_AUDIT_TABLE)",
      );
    }
    return await runChangeSet(
      { target, audit: target.audit, flags, progress },
      {
        heading: `Rolling back ${auditId} on ${target.description}`,
        question: (changes) => `Make these ${changes} changes?`,
      },
      (options) => rollbackChangeSet(auditId, { ...options, config }),
    );
  } finally {
    await target.close();
  }
}
