/**
 * `xray-governor sandbox`: serves the X-Ray and CloudWatch emulator on a local port, with
 * scenario traffic replayed live, so that the AWS CLI, any SDK, or the governor's own commands
 * (`--endpoint URL`) can talk to it.
 *
 * The scenario is shifted in time so that its first day ends now: a day of history is there at
 * once, and the following days unfold at `--speed` times real time (1 by default, so virtual
 * time stays real time and `snapshot --endpoint` needs no `--at`). It repeats when it runs out.
 */
import { type Command, InvalidArgumentError } from "commander";
import { type Sandbox, startSandbox } from "../../sandbox/index.ts";
import { demoScenario } from "../../sandbox/scenario-generator.ts";
import { FormatError, parseSnapshot, type Snapshot } from "../../shared/domain/formats.ts";
import { snapshotEnd } from "../default-scenario.ts";
import { readDocument } from "../documents.ts";
import { InputError } from "../errors.ts";

export interface SandboxFlags {
  port: number;
  host: string;
  scenario?: string;
  speed: number;
  seed: number;
  ruleQuota: number;
  propagation: number;
  throttleRate?: number;
  serverErrorRate?: number;
  latency?: number;
  quiet?: boolean;
}

function number(what: string, check: (n: number) => boolean) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n) || !check(n))
      throw new InvalidArgumentError(`must be ${what}`);
    return n;
  };
}

export function register(program: Command): void {
  program
    .command("sandbox")
    .description("Serve the X-Ray and CloudWatch emulator with live scenario traffic on a local port.")
    .option(
      "--port <n>",
      "port to listen on (0: any free port)",
      number("a port number", (n) => Number.isInteger(n) && n >= 0 && n < 65536),
      4566,
    )
    .option("--host <address>", "address to listen on", "127.0.0.1")
    .option(
      "--scenario <file>",
      "snapshot@1 file (or a JSON array of them, e.g. a day and the next) whose traffic to replay; default: the demo scenario",
    )
    .option(
      "--speed <x>",
      "virtual seconds per real second",
      number("a positive number", (n) => n > 0),
      1,
    )
    .option(
      "--seed <n>",
      "seed of every random draw (traffic, faults)",
      number("a whole number", Number.isInteger),
      1,
    )
    .option(
      "--rule-quota <n>",
      "sampling rules per region, Default included",
      number("a whole number ≥ 1", (n) => Number.isInteger(n) && n >= 1),
      25,
    )
    .option(
      "--propagation <seconds>",
      "seconds before a rule change reaches the simulated clients (X-Ray SDKs poll every 5 minutes)",
      number("a number of seconds ≥ 0", (n) => n >= 0),
      0,
    )
    .option(
      "--throttle-rate <share>",
      "share of every operation's calls answered with throttling",
      number("between 0 and 1", (n) => n >= 0 && n <= 1),
    )
    .option(
      "--server-error-rate <share>",
      "share of calls answered 503",
      number("between 0 and 1", (n) => n >= 0 && n <= 1),
    )
    .option(
      "--latency <ms>",
      "milliseconds added to every answer",
      number("a number of milliseconds ≥ 0", (n) => n >= 0),
    )
    .option("-q, --quiet", "print only the endpoint URL")
    .addHelpText(
      "after",
      [
        "",
        "Then, in another shell:",
        "  export AWS_ENDPOINT_URL_XRAY=http://127.0.0.1:4566 AWS_ENDPOINT_URL_CLOUDWATCH=http://127.0.0.1:4566",
        "  aws xray get-sampling-rules",
        "  xray-governor snapshot --endpoint http://127.0.0.1:4566 --config sandbox.config.json --out snap.json",
      ].join("\n"),
    )
    .action(async (flags: SandboxFlags) => {
      const running = await startSandboxCommand(flags, (line) => process.stdout.write(`${line}\n`));
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      await running.close();
    });
}

/** Starts the sandbox the flags describe and prints how to reach it. */
export async function startSandboxCommand(
  flags: SandboxFlags,
  print: (line: string) => void,
  now: Date = new Date(),
): Promise<Sandbox> {
  const snapshots = loadScenario(flags.scenario);
  const shifted = alignToNow(snapshots, now);
  const faultSpec = {
    ...(flags.throttleRate !== undefined ? { throttleRate: flags.throttleRate } : {}),
    ...(flags.serverErrorRate !== undefined ? { serverErrorRate: flags.serverErrorRate } : {}),
    ...(flags.latency !== undefined ? { latencyMs: flags.latency } : {}),
  };
  let sandbox: Sandbox;
  try {
    sandbox = await startSandbox({
      port: flags.port,
      host: flags.host,
      scenario: shifted,
      repeat: true,
      seed: flags.seed,
      ruleQuota: flags.ruleQuota,
      rulePropagationSeconds: flags.propagation,
      faults: Object.keys(faultSpec).length > 0 ? { "*": faultSpec } : {},
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE")
      throw new InputError(`--port ${flags.port} is in use: pick another, or --port 0`);
    throw error;
  }
  // A day of history, simulated as fast as it goes, then live.
  sandbox.runUntil(now);
  sandbox.traffic?.startAutoAdvance(flags.speed);

  const url = sandbox.endpoint;
  if (flags.quiet) {
    print(url);
    return sandbox;
  }
  const config = { metricSources: sandbox.metricSources };
  print(`X-Ray and CloudWatch sandbox listening on ${url} (region ${sandbox.region})`);
  print(
    `replaying ${sandbox.endpoints.length} endpoints at ${flags.speed}× real time; virtual time now ${sandbox.clock.date().toISOString()}`,
  );
  print("");
  print("Point the AWS CLI or any SDK at it:");
  print(`  export AWS_ENDPOINT_URL_XRAY=${url}`);
  print(`  export AWS_ENDPOINT_URL_CLOUDWATCH=${url}`);
  print(`  export AWS_REGION=${sandbox.region} AWS_ACCESS_KEY_ID=sandbox AWS_SECRET_ACCESS_KEY=sandbox`);
  print("");
  print("The sandbox publishes endpoint metrics under these metric sources; put them in your config:");
  print(`  ${JSON.stringify(config)}`);
  print("");
  print("Press Ctrl-C to stop.");
  return sandbox;
}

function loadScenario(path: string | undefined): Snapshot[] {
  if (path === undefined) {
    const demo = demoScenario();
    return [demo.snapshot, demo.future];
  }
  const document = readDocument(path, "--scenario", { yamlAllowed: true });
  const list = Array.isArray(document) ? document : [document];
  return list.map((item, i) => {
    try {
      return parseSnapshot(item);
    } catch (error) {
      if (error instanceof FormatError) {
        throw new InputError(
          `--scenario ${path}${Array.isArray(document) ? `[${i}]` : ""}: ${error.message}`,
        );
      }
      throw error;
    }
  });
}

/** Shifts the snapshots in time, keeping their spacing, so that the first one ends at `now`'s last whole period. */
export function alignToNow(snapshots: readonly Snapshot[], now: Date): Snapshot[] {
  const first = snapshots[0];
  const periodMs = first.periodSeconds * 1000;
  const firstEnd = snapshotEnd(first).getTime();
  const shift = Math.floor(now.getTime() / periodMs) * periodMs - firstEnd;
  return snapshots.map((s) => ({
    ...s,
    start: new Date(Date.parse(s.start) + shift).toISOString(),
    capturedAt: new Date(Date.parse(s.capturedAt) + shift).toISOString(),
  }));
}
