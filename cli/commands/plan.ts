/**
 * `xray-governor plan`: the dry-run report. Reads a snapshot and a config (or, without a snapshot,
 * collects one from the embedded demo sandbox), plans, and prints the report; changes nothing
 * anywhere.
 *
 * stdout carries only the report (with `--format json`, the plan@1 document alone); progress
 * goes to stderr. Bad input exits 2 with a message naming the field, before anything is written.
 */
import { writeFileSync } from "node:fs";
import { extname } from "node:path";
import { type Command, InvalidArgumentError, Option } from "commander";
import {
  type Config,
  FormatError,
  parseConfig,
  parseSnapshot,
  type Snapshot,
} from "../../shared/domain/formats.ts";
import { planFromSnapshot } from "../../shared/pipeline.ts";
import { REPORT_FORMATS, type ReportFormat, renderPlan } from "../../shared/report/index.ts";
import { defaultInputs, demoConfigDocument } from "../default-scenario.ts";
import { readDocument, STDIN } from "../documents.ts";
import { InputError } from "../errors.ts";
import { progressReporter } from "../progress.ts";

export interface PlanFlags {
  snapshot?: string;
  config?: string;
  budget?: number;
  format?: ReportFormat;
  out?: string;
  endpoints: number;
  quiet?: boolean;
}

function parseBudget(value: string): number {
  const usd = Number(value);
  if (value.trim() === "" || !Number.isFinite(usd)) {
    throw new InvalidArgumentError("must be a number of US dollars per month, e.g. 120");
  }
  // Whether it is more than 0 is the config schema's to say (budget.monthlyUsd), like a file's budget.
  return usd;
}

function parseEndpointLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("must be a whole number, 0 or more");
  return n;
}

export function register(program: Command): void {
  program
    .command("plan")
    .description("Plan sampling rules and print the report, changing nothing (a dry run).")
    .option(
      "--snapshot <file>",
      "snapshot@1 JSON file to plan from ('-' reads standard input); without it, one collected from the embedded demo sandbox",
    )
    .option(
      "--config <file>",
      "config file, JSON or YAML (budget, critical endpoints, rule quota …); without it, the demo scenario's config",
    )
    .option(
      "--budget <usd>",
      "monthly budget in US dollars; overrides budget.monthlyUsd of the config",
      parseBudget,
    )
    .addOption(
      new Option(
        "--format <format>",
        "report format; default: table on a terminal, otherwise markdown (with --out: json for a *.json file, else markdown)",
      ).choices(REPORT_FORMATS),
    )
    .option("--out <file>", "write the report to this file instead of standard output")
    .option(
      "--endpoints <n>",
      "how many of the most changed endpoints the report lists",
      parseEndpointLimit,
      15,
    )
    .option("-q, --quiet", "no progress messages on standard error")
    .addHelpText(
      "after",
      [
        "",
        "Exit codes: 0 planned and reported; 2 bad input (a flag, an unreadable file, or a snapshot or",
        "config that does not validate: the message names the field), nothing written; 1 anything else.",
        "",
        "Examples:",
        "  xray-governor plan                                   the demo sandbox (collect → plan), no AWS account needed",
        "  xray-governor plan --snapshot snap.json --config governor.yaml",
        "  xray-governor plan --snapshot snap.json --budget 120 --format json | jq .projection",
        "  xray-governor plan --snapshot snap.json --config governor.yaml --out plan.md",
      ].join("\n"),
    )
    .action(async (flags: PlanFlags) => {
      await planCommand(flags);
    });
}

/** The format to write: as asked, else from --out's extension, else table on a terminal and markdown otherwise. */
export function chooseFormat(flags: Pick<PlanFlags, "format" | "out">, stdoutIsTTY: boolean): ReportFormat {
  if (flags.format) return flags.format;
  if (flags.out) {
    const ext = extname(flags.out).toLowerCase();
    if (ext === ".json") return "json";
    return "markdown";
  }
  return stdoutIsTTY ? "table" : "markdown";
}

/** Colour only for the table, on a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function useColor(format: ReportFormat, toTerminal: boolean, env: NodeJS.ProcessEnv): boolean {
  return format === "table" && toTerminal && !env.NO_COLOR;
}

interface Inputs {
  source: string;
  snapshot: Snapshot;
  config: Config;
}

/** Parses a document, naming where it came from when it is bad. */
function validated<T>(parse: (input: unknown) => T, input: unknown, origin: string): T {
  try {
    return parse(input);
  } catch (error) {
    if (error instanceof FormatError) throw new InputError(`${origin}: ${error.message}`);
    throw error;
  }
}

async function loadInputs(flags: PlanFlags, progress: (message: string) => void): Promise<Inputs> {
  // Everything given on the command line is read and validated before the demo is started.
  const snapshot =
    flags.snapshot === undefined
      ? undefined
      : validated(
          parseSnapshot,
          readDocument(flags.snapshot, "--snapshot", { yamlAllowed: true }),
          `--snapshot ${flags.snapshot === STDIN ? "(standard input)" : flags.snapshot}`,
        );
  let configDocument: unknown =
    flags.config === undefined ? undefined : readDocument(flags.config, "--config", { yamlAllowed: true });
  let configOrigin = flags.config === undefined ? "" : `--config ${flags.config}`;

  if (configDocument === undefined) {
    if (snapshot !== undefined && flags.budget === undefined) {
      throw new InputError(
        "plan --snapshot needs a budget: pass --config FILE (with budget.monthlyUsd) or --budget USD",
      );
    }
    // With a snapshot of one's own, the demo's critical endpoints mean nothing: only the budget applies.
    configDocument = snapshot === undefined ? await demoConfigDocument() : {};
    configOrigin = snapshot === undefined ? "the demo scenario's config" : "the config";
  }
  if (flags.budget !== undefined) {
    if (typeof configDocument !== "object" || configDocument === null || Array.isArray(configDocument)) {
      throw new InputError(`${configOrigin}: invalid config:\n  - (root): must be an object`);
    }
    const document = configDocument as { budget?: unknown };
    const budget = typeof document.budget === "object" && document.budget !== null ? document.budget : {};
    configDocument = { ...document, budget: { ...budget, monthlyUsd: flags.budget } };
    configOrigin = `${configOrigin} with --budget ${flags.budget}`;
  }
  const config = validated(parseConfig, configDocument, configOrigin);
  if (snapshot !== undefined) return { source: `--snapshot ${flags.snapshot}`, snapshot, config };
  const demo = await defaultInputs(progress);
  return { source: demo.source, snapshot: demo.snapshot, config };
}

export async function planCommand(flags: PlanFlags): Promise<void> {
  const progress = progressReporter(flags.quiet);
  const inputs = await loadInputs(flags, progress);
  const format = chooseFormat(flags, Boolean(process.stdout.isTTY));
  progress(
    `planning ${inputs.snapshot.endpoints.length} endpoints and ${inputs.snapshot.rules.length} rules from ${inputs.source}, budget $${inputs.config.budget.monthlyUsd}/month`,
  );

  const plan = planFromSnapshot(inputs.snapshot, inputs.config);
  const toTerminal = flags.out === undefined && Boolean(process.stdout.isTTY);
  const report = renderPlan(plan, format, {
    color: useColor(format, toTerminal, process.env),
    width: toTerminal ? process.stdout.columns : undefined,
    endpointLimit: flags.endpoints,
  });
  progress(
    `planned in ${Math.round(plan.planningMs ?? 0)} ms: ${plan.actions.length} change${plan.actions.length === 1 ? "" : "s"}, nothing applied`,
  );

  if (flags.out === undefined) {
    process.stdout.write(report);
    return;
  }
  try {
    writeFileSync(flags.out, report);
  } catch (error) {
    throw new InputError(`cannot write --out ${flags.out}: ${(error as Error).message}`);
  }
  progress(`wrote the ${format} report to ${flags.out}`);
}
