/**
 * `xray-governor sandbox` and `xray-governor snapshot` together: start the sandbox the way the
 * command does, point the snapshot command at it, and read the file it writes.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetSamplingRulesCommand, XRayClient } from "@aws-sdk/client-xray";
import { afterEach, describe, expect, it } from "vitest";
import { alignToNow, type SandboxFlags, startSandboxCommand } from "../../cli/commands/sandbox.ts";
import { collectionConfig, snapshotCommand } from "../../cli/commands/snapshot.ts";
import { snapshotEnd } from "../../cli/default-scenario.ts";
import { InputError } from "../../cli/errors.ts";
import type { Sandbox } from "../../sandbox/index.ts";
import { demoScenario } from "../../sandbox/scenario-generator.ts";
import { parseSnapshot } from "../../shared/domain/formats.ts";
import { steadyScenario } from "../support/sandbox-scenarios.ts";

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

const flags: SandboxFlags = {
  port: 0,
  host: "127.0.0.1",
  speed: 1,
  seed: 1,
  ruleQuota: 25,
  propagation: 0,
};

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "xgov-cli-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe("xray-governor sandbox and snapshot", () => {
  it("serves the demo scenario with a day of history and prints the endpoint and its exports", async () => {
    // Prepare
    const lines: string[] = [];
    const now = new Date("2026-12-01T12:00:00.000Z");

    // Act
    const sandbox: Sandbox = await startSandboxCommand(flags, (line) => lines.push(line), now);
    cleanup.push(() => sandbox.close());
    const xray = new XRayClient(sandbox.clientConfig);
    cleanup.push(() => xray.destroy());
    const rules = await xray.send(new GetSamplingRulesCommand({}));

    // Assess
    const text = lines.join("\n");
    expect(text).toContain(`export AWS_ENDPOINT_URL_XRAY=${sandbox.endpoint}`);
    expect(text).toContain(`export AWS_ENDPOINT_URL_CLOUDWATCH=${sandbox.endpoint}`);
    expect(text).toContain('"namespace":"XRayGovernor/Sandbox"');
    expect(rules.SamplingRuleRecords?.some((r) => r.SamplingRule?.RuleName === "Default")).toBe(true);
    expect(sandbox.clock.now()).toBe(now.getTime());
    expect(sandbox.traffic?.totals.requests).toBeGreaterThan(10_000);
  });

  it("writes a snapshot of a running sandbox that parses as snapshot@1", async () => {
    // Prepare
    const now = new Date("2026-12-01T12:00:00.000Z");
    const sandbox = await startSandboxCommand({ ...flags, quiet: true }, () => {}, now);
    cleanup.push(() => sandbox.close());
    const out = join(tempDir(), "snap.json");

    // Act
    const collection = await snapshotCommand({
      endpoint: sandbox.endpoint,
      region: sandbox.region,
      out,
      at: now,
      window: 3600,
      quiet: true,
      ...collectionFlags(sandbox),
    });

    // Assess
    const written = parseSnapshot(JSON.parse(readFileSync(out, "utf8")));
    expect(written.endpoints.length).toBeGreaterThanOrEqual(60);
    expect(written.start).toBe("2026-12-01T11:00:00.000Z");
    expect(written.endpoints[0].requests).toHaveLength(12);
    expect(written.endpoints.reduce((n, e) => n + e.requests.reduce((a, b) => a + b, 0), 0)).toBeGreaterThan(
      0,
    );
    expect(collection.usage.calls.GetMetricData).toBe(1);
  });

  it("with --sandbox, collects the embedded demo sandbox's replayed day, up to --at when given", async () => {
    // Prepare
    const dir = tempDir();
    const demo = demoScenario().snapshot;
    const dayEnd = snapshotEnd(demo);
    const noon = new Date(dayEnd.getTime() - 12 * 3_600_000);

    // Act
    const wholeDay = await snapshotCommand({ sandbox: true, out: join(dir, "day.json"), quiet: true });
    const toNoon = await snapshotCommand({
      sandbox: true,
      out: join(dir, "noon.json"),
      at: noon,
      window: 3600,
      quiet: true,
    });

    // Assess: the whole day's traffic, as the scenario has it, read back through CloudWatch.
    const total = (s: { endpoints: { requests: number[] }[] }) =>
      s.endpoints.reduce((n, e) => n + e.requests.reduce((a, b) => a + b, 0), 0);
    const written = parseSnapshot(JSON.parse(readFileSync(join(dir, "day.json"), "utf8")));
    expect(written.capturedAt).toBe(dayEnd.toISOString());
    expect(written.endpoints.length).toBe(demo.endpoints.length);
    expect(total(written)).toBe(total(demo));
    expect(wholeDay.statistics.length).toBeGreaterThan(0);
    expect(wholeDay.warnings).toEqual([]);
    expect(toNoon.snapshot.capturedAt).toBe(noon.toISOString());
    expect(total(toNoon.snapshot)).toBeGreaterThan(0);
  });

  it("refuses a config whose metric sources are bad, naming the field", () => {
    expect(() => collectionConfig({ metricSources: [{ type: "custom" }] }, "--config x.json", {})).toThrow(
      InputError,
    );
    expect(() => collectionConfig({ metricSources: [{ type: "custom" }] }, "--config x.json", {})).toThrow(
      /--config x\.json: invalid config:\n {2}- metricSources\[0\]\.namespace/,
    );
    expect(() => collectionConfig({}, "the default config", { period: 90 })).toThrow(
      /collection\.periodSeconds/,
    );
  });

  it("shifts a scenario so that its first snapshot ends at the last whole period before now", () => {
    const day = steadyScenario([{ service: "a", path: "/", requests: 1 }], { periods: 288 });
    const next = { ...day, start: "2026-11-17T00:00:00.000Z" };
    const [first, second] = alignToNow([day, next], new Date("2026-12-01T12:03:10.000Z"));
    expect(first.start).toBe("2026-11-30T12:00:00.000Z");
    expect(second.start).toBe("2026-12-01T12:00:00.000Z");
  });
});

/** The snapshot command reads metric sources from a config file; here, one written for the sandbox. */
function collectionFlags(sandbox: Sandbox): { config: string } {
  const path = join(tempDir(), "sandbox.config.json");
  writeFileSync(path, JSON.stringify({ metricSources: sandbox.metricSources }));
  return { config: path };
}
