/**
 * Where aws-xray-sdk-core (3.12) departs from the sampling model on reservoirs, shown with its
 * own centralized sampler against the sandbox:
 *
 * - GetSamplingTargets answers ReservoirQuotaTTL in seconds since the epoch (restJson
 *   timestamps; X-Ray's API reference shows `"ReservoirQuotaTTL": 1530923107.0`). The SDK reads
 *   it with `new Date(ttl).getTime() / 1000`, i.e. as milliseconds, so every quota has expired
 *   when it arrives, and a rule with ReservoirSize > 0 only ever borrows: 1 trace a second,
 *   counted as BorrowCount, whatever its reservoir. The model takes ReservoirSize a second.
 * - LastRuleModification is read the same way, so a rule change never triggers the SDK's early
 *   rule reload: a new ReservoirSize (whether the rule borrows at all) reaches it at the next
 *   5-minute rule poll. The fixed rate comes with every target poll (10 s).
 *
 * If this test fails, the SDK has changed: update the notes in `xray-sdk-judge.test.ts` and
 * `sandbox/README.md`.
 */
import { paginateGetSamplingStatisticSummaries } from "@aws-sdk/client-xray";
import { afterEach, describe, expect, it } from "vitest";
import { type Sandbox, startSandbox } from "../../sandbox/index.ts";
import { expectedTracesPerSecond } from "../../shared/domain/sampling.ts";
import { ruleFor, SCENARIO_START } from "../support/sandbox-scenarios.ts";
import { type SdkUnderTest, startSdkSampler } from "../support/xray-sdk-sampler.ts";

const sandboxes: Sandbox[] = [];
let sdk: SdkUnderTest | undefined;
afterEach(async () => {
  sdk?.stop();
  await Promise.all(sandboxes.splice(0).map((s) => s.close()));
});

describe("a rule's reservoir in aws-xray-sdk-core's centralized sampler", () => {
  it("borrows 1 trace a second whatever the reservoir, and sees a new reservoir only at its 5-minute rule poll", async () => {
    // Prepare: one rule with a reservoir of 3 a second and no fixed rate; 10 requests a second.
    const start = Date.parse(SCENARIO_START);
    const sandbox = await startSandbox({
      rules: [ruleFor("xgov-orders", { FixedRate: 0, ReservoirSize: 3, URLPath: "/orders/*" })],
      start,
    });
    sandboxes.push(sandbox);
    const client = await startSdkSampler(sandbox, { start, seed: 5 });
    sdk = client;
    let traces = 0;
    const tenRequests = () => {
      for (let i = 0; i < 10; i++) {
        if (client.sampler.shouldSample({ httpMethod: "GET", urlPath: "/orders/42" }) === "xgov-orders")
          traces++;
      }
    };
    const tracesOver = async (seconds: number) => {
      traces = 0;
      await client.advance(seconds, tenRequests);
      return traces;
    };

    // Act
    await client.advance(20, tenRequests); // the first target polls bring the quota
    const withQuota = await tracesOver(60);
    const [rule] = client.sampler.ruleCache.getRules() as unknown as {
      getReservoir(): { quota: number; TTL: number };
    }[];
    const held = rule.getReservoir();
    const quotaHeld = { quota: held.quota, ttlBeforeNow: held.TTL < Date.now() / 1000 };

    sandbox.rules.update({ RuleName: "xgov-orders" }, { ReservoirSize: 0 });
    const rulePollsBefore = sandbox.calls.GetSamplingRules;
    const afterChange = await tracesOver(60);
    const rulePollsAfterChange = sandbox.calls.GetSamplingRules;
    await client.advance(165); // 140 s in: past the rule poller's 5-minute mark
    const afterRulePoll = await tracesOver(60);
    client.stop();
    let borrowed = 0;
    let sampled = 0;
    for await (const page of paginateGetSamplingStatisticSummaries({ client: sandbox.xrayClient() }, {})) {
      for (const w of page.SamplingStatisticSummaries ?? []) {
        borrowed += w.BorrowCount ?? 0;
        sampled += w.SampledCount ?? 0;
      }
    }

    // Assess: the model takes ≈3 a second, then none as soon as the reservoir is 0.
    expect(expectedTracesPerSecond(10, 3, 0) * 60).toBeGreaterThan(179);
    expect(quotaHeld).toEqual({ quota: 3, ttlBeforeNow: true });
    expect(withQuota).toBe(60);
    expect(afterChange).toBe(60);
    expect(rulePollsAfterChange).toBe(rulePollsBefore);
    expect(sandbox.calls.GetSamplingRules).toBe(rulePollsBefore + 1);
    expect(afterRulePoll).toBe(0);
    expect({ borrowed, sampled }).toEqual({ borrowed: 20 + 60 + 60, sampled: 0 });
  });
});
