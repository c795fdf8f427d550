/**
 * The tuner as deployed: bundled by esbuild with serverless.yml's `custom.esbuild` options (what
 * serverless-esbuild does on `osls package`), then loaded and invoked by a separate Node
 * process with nothing but the bundle, the way the Lambda runtime loads it. The clients talk
 * to the sandbox, dynalite and a local parameter store.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { type Sandbox, startSandbox } from "../../sandbox/index.ts";
import type { TuningSummary } from "../../shared/pipeline.ts";
import { type LocalDynamo, startLocalDynamo } from "../support/dynalite.ts";
import { type LocalParameterStore, startParameterStore } from "../support/parameter-store.ts";
import { tunerEnvironment } from "../support/tuner-environment.ts";
import { REPO } from "./run-cli.ts";

const run = promisify(execFile);

let directory: string;
let sandbox: Sandbox;
let dynamo: LocalDynamo;
let parameters: LocalParameterStore;

beforeAll(async () => {
  // Prepare: the bundle, in a directory with no node_modules anywhere above it.
  directory = mkdtempSync(join(tmpdir(), "xray-governor-bundle-"));
  const { custom, functions } = parse(readFileSync(join(REPO, "serverless.yml"), "utf8"));
  const options = custom.esbuild;
  const [file] = (functions.tuner.handler as string).split(".");
  await build({
    entryPoints: [join(REPO, `${file}.ts`)],
    outfile: join(directory, `${file}${options.outputFileExtension}`),
    bundle: options.bundle,
    platform: options.platform,
    target: options.target,
    format: options.format,
    banner: options.banner,
    logLevel: "silent",
  });
  writeFileSync(
    join(directory, "invoke.mjs"),
    [
      `const { handler } = await import("./${file}${options.outputFileExtension}");`,
      "const event = { version: '0', id: 'e1', 'detail-type': 'Scheduled Event', source: 'aws.events', time: new Date().toISOString(), detail: {} };",
      "const context = { functionName: 'xray-governor-prod-tuner', awsRequestId: 'r1', getRemainingTimeInMillis: () => 290000 };",
      "const summary = await handler(event, context);",
      "process.stdout.write(`SUMMARY ${JSON.stringify(summary)}\\n`);",
    ].join("\n"),
  );
  sandbox = await startSandbox({ start: Date.now() });
  dynamo = await startLocalDynamo({ tablePrefix: "bundle-" });
  parameters = await startParameterStore();
});

afterAll(async () => {
  await sandbox?.close();
  await dynamo?.stop();
  await parameters?.stop();
  if (directory) rmSync(directory, { recursive: true, force: true });
});

async function invokeBundle(): Promise<TuningSummary> {
  const { AWS_PROFILE: _profile, ...env } = process.env;
  const { stdout } = await run(process.execPath, ["invoke.mjs"], {
    cwd: directory,
    env: { ...env, ...tunerEnvironment({ sandbox, dynamo, parameters }, "/xray-governor/prod/config") },
  });
  const line = stdout.split("\n").find((l) => l.startsWith("SUMMARY "));
  if (!line) throw new Error(`the bundle printed no summary:\n${stdout}`);
  return JSON.parse(line.slice("SUMMARY ".length)) as TuningSummary;
}

describe("the bundled tuner", () => {
  it("loads on its own and makes a report run through SSM, X-Ray, CloudWatch and DynamoDB", async () => {
    parameters.put(
      "/xray-governor/prod/config",
      JSON.stringify({ budget: { monthlyUsd: 30 }, mode: "report", metricSources: sandbox.metricSources }),
    );

    // Act
    const summary = await invokeBundle();

    // Assess: an account with Default only and no traffic yet; read, planned, nothing written.
    expect(summary).toMatchObject({ outcome: "reported", mode: "report", ruleWrites: 0, endpoints: 0 });
    expect(summary.warnings.join("\n")).toMatch(/no endpoint metrics found/);
    expect(sandbox.calls.GetSamplingRules).toBeGreaterThan(0);
    expect(parameters.reads).toBe(1);
  });
});
