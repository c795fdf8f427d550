/**
 * What a command uses when it has no account or no snapshot of its own: the demo sandbox, an
 * in-process sandbox seeded with the demo scenario with its day of history replayed. It is the
 * one place that starts it, for `npm start` (`plan` with no arguments: collect → plan),
 * `--sandbox` on the account commands, and `snapshot --sandbox`, so they all see the same
 * account: its rules, its sampling statistics, its traces and its CloudWatch metrics.
 *
 * The sandbox is demo infrastructure: it is loaded only when one of these asks for it.
 */
import type { Sandbox } from "../sandbox/index.ts";
import type { Scenario } from "../sandbox/scenario-generator.ts";
import type { Collection } from "../shared/aws/collector.ts";
import type { ConfigInput, Snapshot } from "../shared/domain/formats.ts";

export interface DemoSandbox {
  sandbox: Sandbox;
  scenario: Scenario;
  /** Virtual time after the replay: the end of the scenario's day unless asked otherwise. */
  now: Date;
}

/** When a snapshot's window ends: its start plus its periods. */
export function snapshotEnd(snapshot: Pick<Snapshot, "start" | "periodSeconds" | "endpoints">): Date {
  const periods = snapshot.endpoints[0]?.requests.length ?? 0;
  return new Date(Date.parse(snapshot.start) + periods * snapshot.periodSeconds * 1000);
}

/**
 * Starts the demo sandbox and replays the demo scenario's day up to `at` (default: the day's
 * end), as fast as it goes (about a second). Close `sandbox` when done.
 */
export async function startDemoSandbox(options: { region?: string; at?: Date } = {}): Promise<DemoSandbox> {
  const [{ startSandbox }, scenario] = await Promise.all([import("../sandbox/index.ts"), demoScenario()]);
  const sandbox = await startSandbox({
    scenario: scenario.snapshot,
    region: options.region ?? scenario.snapshot.region,
  });
  const now = options.at ?? snapshotEnd(scenario.snapshot);
  sandbox.runUntil(now);
  return { sandbox, scenario, now };
}

/**
 * The demo scenario's config as a file would hold it (flags such as --budget apply on top),
 * with the metric sources the demo sandbox publishes under, so that collecting from it finds
 * its endpoints.
 */
export async function demoConfigDocument(): Promise<ConfigInput> {
  return withSandboxSources((await demoScenario()).configDocument);
}

let scenario: Promise<Scenario> | undefined;
/** The demo scenario, generated once per process (it is the same every time: a fixed seed). */
function demoScenario(): Promise<Scenario> {
  scenario ??= import("../sandbox/scenario-generator.ts").then((m) => m.demoScenario());
  return scenario;
}

async function withSandboxSources(configDocument: ConfigInput): Promise<ConfigInput> {
  const { SANDBOX_METRIC_SOURCES } = await import("../sandbox/index.ts");
  return { ...configDocument, metricSources: SANDBOX_METRIC_SOURCES };
}

export interface DefaultInputs {
  /** Where the inputs came from, for the progress line. */
  source: string;
  snapshot: Snapshot;
  /** The scenario's config as a file would hold it (flags such as --budget apply on top). */
  configDocument: ConfigInput;
  /** What collecting the snapshot read and cost. */
  collection: Collection;
}

/**
 * The demo's inputs to plan with: a snapshot collected from the demo sandbox (with the real
 * collector and SDK clients, over HTTP) and the scenario's config. Needs no AWS account and no
 * network beyond the loopback.
 */
export async function defaultInputs(progress: (message: string) => void = () => {}): Promise<DefaultInputs> {
  const [{ collectSnapshot }, { CollectionSchema }] = await Promise.all([
    import("../shared/aws/collector.ts"),
    import("../shared/domain/metric-sources.ts"),
  ]);
  progress("replaying the demo scenario's day in an embedded sandbox (no AWS account needed)");
  const demo = await startDemoSandbox();
  try {
    const { sandbox } = demo;
    progress(`collecting a snapshot from it as of ${demo.now.toISOString()}`);
    const collection = await collectSnapshot(
      { xray: sandbox.xrayClient(), cloudWatch: sandbox.cloudWatchClient() },
      {
        config: { metricSources: sandbox.metricSources, collection: CollectionSchema.parse(undefined) },
        now: demo.now,
        region: sandbox.region,
      },
    );
    for (const warning of collection.warnings) progress(`warning: ${warning}`);
    return {
      source: "the embedded demo sandbox (a day of seeded traffic, collected; no AWS account needed)",
      snapshot: collection.snapshot,
      configDocument: await withSandboxSources(demo.scenario.configDocument),
      collection,
    };
  } finally {
    await demo.sandbox.close();
  }
}
