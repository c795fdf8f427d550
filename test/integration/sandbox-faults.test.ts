/**
 * Fault injection: the SDK must see the errors real services send under load (and retry
 * them), and a seed must give the same faults on every run.
 */
import { GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { GetSamplingRulesCommand, ThrottledException } from "@aws-sdk/client-xray";
import { afterEach, describe, expect, it } from "vitest";
import { type Sandbox, type SandboxOptions, startSandbox } from "../../sandbox/index.ts";

const sandboxes: Sandbox[] = [];
afterEach(async () => {
  await Promise.all(sandboxes.splice(0).map((s) => s.close()));
});

async function sandboxWith(options: SandboxOptions = {}): Promise<Sandbox> {
  const sandbox = await startSandbox(options);
  sandboxes.push(sandbox);
  return sandbox;
}

describe("sandbox faults", () => {
  it("throttles with ThrottledException (429), which the SDK retries until it gets through", async () => {
    // Prepare: the first two calls are throttled.
    const sandbox = await sandboxWith({ faults: { GetSamplingRules: { throttleRate: 1, times: 2 } } });
    const xray = sandbox.xrayClient({ maxAttempts: 3 });

    // Act
    const output = await xray.send(new GetSamplingRulesCommand({}));

    // Assess
    expect(output.$metadata.attempts).toBe(3);
    expect(output.SamplingRuleRecords).toHaveLength(1);
    expect(sandbox.calls.GetSamplingRules).toBe(3);
    expect(sandbox.faults.injected).toEqual([
      { operation: "GetSamplingRules", kind: "throttle" },
      { operation: "GetSamplingRules", kind: "throttle" },
    ]);
  });

  it("gives up after the SDK's attempts with the ThrottledException class and status 429", async () => {
    const sandbox = await sandboxWith({ faults: { GetSamplingRules: { throttleRate: 1 } } });
    const error = await sandbox
      .xrayClient({ maxAttempts: 2 })
      .send(new GetSamplingRulesCommand({}))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ThrottledException);
    expect((error as ThrottledException).$metadata.httpStatusCode).toBe(429);
    expect((error as ThrottledException).$metadata.attempts).toBe(2);
  });

  it("answers 503 ServiceUnavailable, retried by the SDK, on X-Ray and CloudWatch alike", async () => {
    // Prepare
    const sandbox = await sandboxWith({
      faults: {
        GetSamplingRules: { serverErrorRate: 1, times: 1 },
        GetMetricData: { serverErrorRate: 1, times: 1 },
      },
    });

    // Act
    const rules = await sandbox.xrayClient({ maxAttempts: 2 }).send(new GetSamplingRulesCommand({}));
    const metrics = await sandbox.cloudWatchClient({ maxAttempts: 2 }).send(
      new GetMetricDataCommand({
        MetricDataQueries: [
          {
            Id: "a",
            MetricStat: { Metric: { Namespace: "N", MetricName: "M" }, Period: 60, Stat: "Sum" },
          },
        ],
        StartTime: new Date(0),
        EndTime: new Date(60_000),
      }),
    );

    // Assess
    expect(rules.$metadata.attempts).toBe(2);
    expect(metrics.$metadata.attempts).toBe(2);
    expect(sandbox.faults.injected.map((f) => f.kind)).toEqual(["server-error", "server-error"]);
  });

  it("throttles CloudWatch the way CloudWatch does (Throttling), which the SDK retries", async () => {
    const sandbox = await sandboxWith({ faults: { GetMetricData: { throttleRate: 1, times: 1 } } });
    const output = await sandbox.cloudWatchClient().send(
      new GetMetricDataCommand({
        MetricDataQueries: [
          { Id: "a", MetricStat: { Metric: { Namespace: "N", MetricName: "M" }, Period: 60, Stat: "Sum" } },
        ],
        StartTime: new Date(0),
        EndTime: new Date(60_000),
      }),
    );
    expect(output.$metadata.attempts).toBe(2);
  });

  it("drops connections, which the SDK retries as a transient network error", async () => {
    const sandbox = await sandboxWith({ faults: { GetSamplingRules: { dropRate: 1, times: 1 } } });
    const output = await sandbox.xrayClient().send(new GetSamplingRulesCommand({}));
    expect(output.$metadata.attempts).toBe(2);
    expect(sandbox.faults.injected).toEqual([{ operation: "GetSamplingRules", kind: "drop" }]);
  });

  it("slows answers down by the configured latency", async () => {
    const sandbox = await sandboxWith({ faults: { GetSamplingRules: { latencyMs: 150 } } });
    const started = performance.now();
    await sandbox.xrayClient().send(new GetSamplingRulesCommand({}));
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it("can be changed while the sandbox runs", async () => {
    // Prepare
    const sandbox = await sandboxWith();
    const xray = sandbox.xrayClient({ maxAttempts: 1 });
    await xray.send(new GetSamplingRulesCommand({}));

    // Act
    sandbox.faults.set("GetSamplingRules", { throttleRate: 1 });
    const throttled = await xray.send(new GetSamplingRulesCommand({})).catch((e: unknown) => e);
    sandbox.faults.clear();
    const fine = await xray.send(new GetSamplingRulesCommand({}));

    // Assess
    expect(throttled).toBeInstanceOf(ThrottledException);
    expect(fine.SamplingRuleRecords).toHaveLength(1);
  });

  it("injects the same faults for the same seed", async () => {
    // Prepare
    const run = async (seed: number) => {
      const sandbox = await sandboxWith({ seed, faults: { GetSamplingRules: { throttleRate: 0.5 } } });
      const xray = sandbox.xrayClient({ maxAttempts: 1 });
      const outcomes: boolean[] = [];
      for (let i = 0; i < 16; i++) {
        outcomes.push(
          await xray.send(new GetSamplingRulesCommand({})).then(
            () => true,
            () => false,
          ),
        );
      }
      return outcomes;
    };

    // Act
    const first = await run(42);
    const again = await run(42);
    const other = await run(43);

    // Assess
    expect(again).toEqual(first);
    expect(other).not.toEqual(first);
    expect(first.filter((ok) => !ok).length).toBeGreaterThan(2);
  });

  it("refuses a rate outside 0..1, naming the operation and field", async () => {
    await expect(startSandbox({ faults: { GetSamplingRules: { throttleRate: 2 } } })).rejects.toThrow(
      /faults\.GetSamplingRules\.throttleRate must be between 0 and 1/,
    );
  });
});
