/**
 * What `apply` and `rollback` print and ask: the changes about to be made, the question, and
 * the outcome with the audit id to roll back with.
 */
import { userInfo } from "node:os";
import confirm from "@inquirer/confirm";
import pc from "picocolors";
import type { ApplyOptions, ApplyResult } from "../shared/aws/applier.ts";
import type { AuditStore } from "../shared/aws/audit-store.ts";
import { FormatError } from "../shared/domain/formats.ts";
import type { RuleOperation } from "../shared/domain/reconcile.ts";
import type { AccountTarget } from "./aws-target.ts";
import { InputError } from "./errors.ts";

/** Who applies, for the audit record: the flag, else the user name. */
export function actorName(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag?.trim()) return flag.trim();
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return `cli:${env.USER ?? env.USERNAME ?? "unknown"}`;
  }
}

/** Refuses early when the command could not ask: not a terminal and no --yes. */
export function checkCanAsk(yes: boolean | undefined, verb: string): void {
  if (!yes && !(process.stdin.isTTY && process.stdout.isTTY)) {
    throw new InputError(
      `not on a terminal, so ${verb} cannot ask before changing rules: pass --yes to go ahead`,
    );
  }
}

type Prompt = (options: { message: string; default: boolean }) => Promise<boolean>;

/** --yes goes ahead; otherwise asks on the terminal (default no; Ctrl-C is a no). */
export async function askToProceed(
  yes: boolean | undefined,
  message: string,
  prompt: Prompt,
): Promise<boolean> {
  if (yes) return true;
  checkCanAsk(yes, "it");
  try {
    return await prompt({ message, default: false });
  } catch (error) {
    if ((error as Error)?.name === "ExitPromptError") return false;
    throw error;
  }
}

/** What apply and rollback give the applier besides what they change. */
export type ChangeSetRunOptions = Pick<
  ApplyOptions,
  "xray" | "actor" | "region" | "confirm" | "onOperation"
> & {
  audit: AuditStore;
};

/**
 * Runs an apply or a rollback on the target as the CLI does: shows the changes under the
 * heading and asks (--yes goes ahead), reports each write as it is done, then the outcome.
 */
export async function runChangeSet(
  context: {
    target: AccountTarget;
    audit: AuditStore;
    flags: { yes?: boolean; actor?: string };
    progress: (message: string) => void;
  },
  dialogue: { heading: string; question: (changes: number) => string },
  run: (options: ChangeSetRunOptions) => Promise<ApplyResult>,
): Promise<ApplyResult> {
  const { target, audit, flags, progress } = context;
  const color = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
  const result = await run({
    xray: target.xray,
    actor: actorName(flags.actor),
    region: target.region,
    audit,
    confirm: async (operations: RuleOperation[]) => {
      process.stdout.write(
        `${dialogue.heading}:\n${operations.map((op) => `  ${formatOperation(op, color)}`).join("\n")}\n`,
      );
      return askToProceed(flags.yes, dialogue.question(operations.length), confirm);
    },
    onOperation: (record) =>
      progress(`${record.status === "done" ? "done" : pc.red(record.status)}: ${record.description}`),
  });
  reportApplyResult(result, target, process.stdout, color);
  return result;
}

/** Whether a command that wrote (or tried to) should exit with 1: stopped part-way, failed, or not recorded. */
export function changeSetFailed(result: ApplyResult): boolean {
  return result.status === "partial" || result.status === "failed" || Boolean(result.auditError);
}

const percent = (rate: number) => `${Number((rate * 100).toPrecision(3))}%`;

/** One line per operation: `+ create xgov-a  POST /checkout  reservoir 1/s then 100%  priority 1000`. */
export function formatOperation(op: RuleOperation, color: boolean): string {
  const c = color ? pc : pc.createColors(false);
  switch (op.type) {
    case "create": {
      const r = op.rule;
      const match = [r.ServiceName !== "*" ? `service ${r.ServiceName}` : "", `${r.HTTPMethod} ${r.URLPath}`]
        .filter(Boolean)
        .join(" ");
      return `${c.green("+ create")} ${op.ruleName}  ${match}  reservoir ${r.ReservoirSize}/s then ${percent(r.FixedRate)}  priority ${r.Priority}`;
    }
    case "update": {
      const changes = Object.entries(op.changes).map(([field, value]) => {
        const before = (op.before as Record<string, unknown>)[field];
        const show = (v: unknown) =>
          field === "FixedRate" && typeof v === "number"
            ? percent(v)
            : typeof v === "object"
              ? JSON.stringify(v)
              : String(v);
        return `${field} ${show(before)} → ${show(value)}`;
      });
      return `${c.yellow("~ update")} ${op.ruleName}  ${changes.join(", ")}`;
    }
    case "delete":
      return `${c.red("- delete")} ${op.ruleName}`;
    case "tag":
      return `${c.yellow("~ tag")} ${op.ruleName}  ${op.tags.map((t) => `${t.Key}=${t.Value}`).join(", ")}`;
    case "untag":
      return `${c.yellow("~ untag")} ${op.ruleName}  ${op.tagKeys.join(", ")}`;
  }
}

export function reportApplyResult(
  result: ApplyResult,
  target: { kind: string },
  out: NodeJS.WritableStream,
  color: boolean,
): void {
  const c = color ? pc : pc.createColors(false);
  const done = result.operations.filter((o) => o.status === "done").length;
  const lines: string[] = [];
  switch (result.status) {
    case "unchanged":
      lines.push("Nothing to change: the account already has these rules.");
      break;
    case "declined":
      lines.push("Declined: nothing was changed.");
      break;
    case "applied":
      lines.push(
        c.green(`Applied ${done} change${done === 1 ? "" : "s"} (${result.writeCalls} write calls).`),
      );
      break;
    default:
      lines.push(
        c.red(`Stopped after ${done} of ${result.operations.length} changes: ${result.error}`),
        "The account is in a safe intermediate state; run the same command again to finish (it reconciles against the account as it is).",
      );
  }
  if (result.audit) {
    lines.push(`Audit record ${result.audit.id}. To undo: xray-governor rollback ${result.audit.id}`);
  }
  if (result.auditError) lines.push(c.red(result.auditError));
  if (target.kind === "sandbox" && result.status !== "unchanged" && result.status !== "declined") {
    lines.push("(The embedded sandbox and its audit records end with this command.)");
  }
  out.write(`${lines.join("\n")}\n`);
}

/** Parses a document, naming where it came from when it is bad. */
export function validated<T>(parse: (input: unknown) => T, input: unknown, origin: string): T {
  try {
    return parse(input);
  } catch (error) {
    if (error instanceof FormatError) throw new InputError(`${origin}: ${error.message}`);
    throw error;
  }
}
