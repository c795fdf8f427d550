/**
 * `xray-governor snapshot --out FILE`: collects a snapshot@1 of the account (rules, per-endpoint
 * traffic from CloudWatch, de-biased error traces) from live AWS, from a running sandbox
 * (`--endpoint URL`), or from an embedded one (`--sandbox`), and writes it to a file.
 *
 * Only the config's `metricSources` and `collection` are read: a snapshot needs no budget.
 * Progress, API calls made and what they cost go to stderr.
 */
import { writeFileSync } from "node:fs";
import { type Command, InvalidArgumentError } from "commander";
import { type Collection, collectSnapshot } from "../../shared/aws/collector.ts";
import { FormatError, formatPath } from "../../shared/domain/formats.ts";
import { CollectionSchema, MetricSourcesSchema } from "../../shared/domain/metric-sources.ts";
import { openTarget, type TargetFlags, withTargetOptions } from "../aws-target.ts";
import { readDocument, STDIN } from "../documents.ts";
import { InputError } from "../errors.ts";
import { progressReporter } from "../progress.ts";

export interface SnapshotFlags extends TargetFlags {
  out: string;
  config?: string;
  window?: number;
  period?: number;
  at?: Date;
  quiet?: boolean;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError("must be a whole number of seconds");
  return n;
}

function instant(value: string): Date {
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new InvalidArgumentError("must be an ISO 8601 time, e.g. 2026-11-17T00:00:00Z");
  return new Date(t);
}

export function register(program: Command): void {
  withTargetOptions(
    program
      .command("snapshot")
      .description("Collect a snapshot@1 of the account (rules, endpoint traffic, error traces) into a file.")
      .requiredOption("--out <file>", "file to write the snapshot to ('-' for standard output)")
      .option("--config <file>", "config file (JSON or YAML); its metricSources and collection are used")
      .option(
        "--window <seconds>",
        "how far back the snapshot reaches (overrides collection.windowSeconds)",
        seconds,
      )
      .option(
        "--period <seconds>",
        "period length, a multiple of 60 (overrides collection.periodSeconds)",
        seconds,
      )
      .option("--at <time>", "take the snapshot as of this time (default: now)", instant)
      .option("-q, --quiet", "no progress messages on standard error"),
  )
    .addHelpText(
      "after",
      [
        "",
        "Examples:",
        "  xray-governor snapshot --out snap.json                       live AWS, default metric sources",
        "  xray-governor snapshot --sandbox --out snap.json             an embedded sandbox (demo scenario)",
        "  xray-governor snapshot --endpoint http://127.0.0.1:4566 --config sandbox.config.json --out snap.json",
      ].join("\n"),
    )
    .action(async (flags: SnapshotFlags) => {
      await snapshotCommand(flags);
    });
}

/** The collection part of a config file: metricSources and collection, checked like the full config. */
export function collectionConfig(
  document: unknown,
  origin: string,
  flags: Pick<SnapshotFlags, "window" | "period">,
) {
  const input = (typeof document === "object" && document !== null ? document : {}) as Record<
    string,
    unknown
  >;
  const collectionInput = {
    ...((input.collection as object | undefined) ?? {}),
    ...(flags.window !== undefined ? { windowSeconds: flags.window } : {}),
    ...(flags.period !== undefined ? { periodSeconds: flags.period } : {}),
  };
  const sources = MetricSourcesSchema.safeParse(input.metricSources);
  const collection = CollectionSchema.safeParse(collectionInput);
  const problems = [
    ...(sources.success
      ? []
      : sources.error.issues.map((i) => ({
          path: formatPath(["metricSources", ...i.path]),
          message: i.message,
        }))),
    ...(collection.success
      ? []
      : collection.error.issues.map((i) => ({
          path: formatPath(["collection", ...i.path]),
          message: i.message,
        }))),
  ];
  if (problems.length > 0 || !sources.success || !collection.success) {
    throw new InputError(`${origin}: ${new FormatError("config", problems).message}`);
  }
  return { metricSources: sources.data, collection: collection.data };
}

export async function snapshotCommand(flags: SnapshotFlags): Promise<Collection> {
  const progress = progressReporter(flags.quiet);
  const configDocument =
    flags.config === undefined ? {} : readDocument(flags.config, "--config", { yamlAllowed: true });
  const origin = flags.config === undefined ? "the default config" : `--config ${flags.config}`;
  const config = collectionConfig(configDocument, origin, flags);

  let collection: Collection;
  if (flags.sandbox) {
    if (flags.endpoint) throw new InputError("--sandbox and --endpoint exclude each other");
    collection = await collectFromEmbeddedSandbox(flags, config, progress);
  } else {
    const target = await openTarget(flags);
    try {
      const now = flags.at ?? new Date();
      progress(`collecting from ${target.description} as of ${now.toISOString()}`);
      collection = await collectSnapshot(
        { xray: target.xray, cloudWatch: target.cloudWatch },
        { config, now, region: target.region },
      );
    } finally {
      await target.close();
    }
  }

  const text = `${JSON.stringify(collection.snapshot, null, 2)}\n`;
  if (flags.out === STDIN) process.stdout.write(text);
  else {
    try {
      writeFileSync(flags.out, text);
    } catch (error) {
      throw new InputError(`cannot write --out ${flags.out}: ${(error as Error).message}`);
    }
  }
  const { usage, snapshot } = collection;
  progress(
    `${snapshot.endpoints.length} endpoints, ${snapshot.rules.length} rules, ${collection.errorTraces.traces} error traces${flags.out === STDIN ? "" : ` → ${flags.out}`}`,
  );
  progress(
    `API calls: ${Object.entries(usage.calls)
      .map(([op, n]) => `${op} ${n}`)
      .join(
        ", ",
      )}; ${usage.metricsRequested} metrics requested, ${usage.tracesScanned} traces scanned ≈ $${usage.costUsd.total.toFixed(4)}`,
  );
  for (const warning of collection.warnings) progress(`warning: ${warning}`);
  return collection;
}

/** The embedded demo sandbox, its day replayed up to --at (default: the day's end), collected then. */
async function collectFromEmbeddedSandbox(
  flags: SnapshotFlags,
  config: ReturnType<typeof collectionConfig>,
  progress: (message: string) => void,
): Promise<Collection> {
  const { startDemoSandbox } = await import("../default-scenario.ts");
  const { sandbox, now } = await startDemoSandbox({ region: flags.region, at: flags.at });
  try {
    progress(`replayed the demo scenario in an embedded sandbox up to ${now.toISOString()}`);
    // The sandbox's metrics are under its own sources unless the config names others.
    const sources = flags.config === undefined ? sandbox.metricSources : config.metricSources;
    return await collectSnapshot(
      { xray: sandbox.xrayClient(), cloudWatch: sandbox.cloudWatchClient() },
      { config: { ...config, metricSources: sources }, now, region: sandbox.region },
    );
  } finally {
    await sandbox.close();
  }
}
