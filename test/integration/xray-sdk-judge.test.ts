/**
 * The judge: a real X-Ray client decides what is sampled. aws-xray-sdk-core's own centralized
 * sampler (its rule poller, target poller, rule cache and per-second reservoir) polls the
 * sandbox as its daemon after a real plan of the demo scenario has been applied, and is driven
 * with the scenario's next hour of requests on fake timers. What it samples per rule must match
 * the model the planner projects with (`shared/domain/sampling.ts`).
 *
 * Tolerance: per rule, |observed − expected| ≤ 5σ + 1, where σ² is the model's own variance of
 * the count over the hour (Poisson arrivals per second; reservoir, then fixed rate; see
 * {@link tracesPerSecondVariance}), and +1 absorbs discreteness. For a normal count 5σ is a false
 * alarm of 6·10⁻⁷ per rule; rules expecting only a few traces have Poisson-like tails, still
 * below 10⁻⁴. Every draw (traffic and the SDK's own Math.random) is seeded, so the run is the
 * same every time; the bound says how far an honest sampler may stray, and a sampler that
 * splits, drops or mismatches a rule's share by more than a few percent of a busy rule fails.
 *
 * Differences between aws-xray-sdk-core 3.12 and the model, found reading its source
 * (node_modules/aws-xray-sdk-core/dist/lib/middleware/sampling/*):
 * - Reservoir: the SDK reads the quota's TTL (seconds since the epoch on the wire) as
 *   milliseconds, so its quota is always expired and a rule with ReservoirSize > 0 only ever
 *   borrows: 1 trace a second, counted as BorrowCount, not SampledCount. Exactly the model for
 *   a reservoir of 1 (all the planner uses today); a bigger reservoir fails this test, as it
 *   would sample less than projected (`xray-sdk-reservoir-quota.test.ts` shows it).
 * - Rule changes: LastRuleModification is misread the same way, so a change never triggers an
 *   early rule reload; a new ReservoirSize reaches the SDK at its 5-minute rule poll (a new
 *   FixedRate within 10 s, with the targets). The model applies a plan at once.
 * - The reservoir is per client: X-Ray splits it among the clients that report a rule; the model
 *   treats a rule's reservoir as one account-wide budget (exact for one client, as here).
 * - Matching: case-insensitive `*`/`?` globs and a missing request value matches anything, as in
 *   the model. The SDK's middleware matches the raw request URL (query string included) and the
 *   Host header (port included); the model matches the route template filled with a sample value.
 *   It takes ServiceType from the plugin origin (none without a plugin: matches any).
 * - The rule cache expires an hour after the last successful rule poll; the SDK then falls back
 *   to its local rules (1/s + 5%), which the model knows nothing of.
 * - The fixed rate is `Math.random() <= rate`: a rate of 0 samples when the draw is exactly 0.
 */
import { paginateGetSamplingStatisticSummaries } from "@aws-sdk/client-xray";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type Sandbox, startSandbox } from "../../sandbox/index.ts";
import { demoScenario } from "../../sandbox/scenario-generator.ts";
import { SeededRandom } from "../../sandbox/seeded-random.ts";
import { applyRuleSet } from "../../shared/aws/applier.ts";
import type { Endpoint, SamplingRule } from "../../shared/domain/formats.ts";
import { planSampling } from "../../shared/domain/planner.ts";
import {
  endpointKey,
  endpointLabel,
  evaluationOrder,
  expectedTracesPerSecond,
  firstMatches,
} from "../../shared/domain/sampling.ts";
import { sampleRequestOf, startSdkSampler } from "../support/xray-sdk-sampler.ts";

// ---------------------------------------------------------------------------------------------
// The model's expectation and spread

/**
 * Var(X) of a rule's traces in one second, X = min(N, k) + Binomial((N − k)⁺, f) with
 * N ~ Poisson(λ) requests: the reservoir takes the first k, the fixed rate samples the rest.
 */
function tracesPerSecondVariance(lambda: number, reservoir: number, fixedRate: number): number {
  if (lambda <= 0) return 0;
  const k = Math.floor(reservoir);
  const mean = expectedTracesPerSecond(lambda, reservoir, fixedRate);
  let secondMoment = 0;
  let pmf = Math.exp(-lambda);
  const last = Math.ceil(lambda + 12 * Math.sqrt(lambda) + k + 20);
  for (let m = 0; m <= last; m++) {
    const over = Math.max(0, m - k);
    const expected = Math.min(m, k) + fixedRate * over;
    secondMoment += pmf * (expected * expected + over * fixedRate * (1 - fixedRate));
    pmf *= lambda / (m + 1);
  }
  return Math.max(0, secondMoment - mean * mean);
}

interface Expectation {
  requests: number;
  traces: number;
  tracesVariance: number;
}

/** Per rule, over the periods simulated: expected requests, traces, and the traces' variance. */
function expectations(
  rules: readonly SamplingRule[],
  endpoints: readonly Endpoint[],
  periods: number,
  periodSeconds: number,
): Map<string, Expectation> {
  const ordered = evaluationOrder(rules);
  const matched = firstMatches(ordered, endpoints);
  const out = new Map(ordered.map((r) => [r.RuleName, { requests: 0, traces: 0, tracesVariance: 0 }]));
  for (let p = 0; p < periods; p++) {
    for (const [r, rule] of ordered.entries()) {
      let lambda = 0;
      for (const [e, endpoint] of endpoints.entries()) {
        if (matched[e] === r) lambda += (endpoint.requests[p] ?? 0) / periodSeconds;
      }
      const x = out.get(rule.RuleName) as Expectation;
      x.requests += lambda * periodSeconds;
      x.traces += expectedTracesPerSecond(lambda, rule.ReservoirSize, rule.FixedRate) * periodSeconds;
      x.tracesVariance += tracesPerSecondVariance(lambda, rule.ReservoirSize, rule.FixedRate) * periodSeconds;
    }
  }
  return out;
}

/** Not within |observed − expected| ≤ 5σ + 1 (see the file's header). */
function outside(observed: number, expected: number, variance: number): boolean {
  return Math.abs(observed - expected) > 5 * Math.sqrt(variance) + 1;
}

// ---------------------------------------------------------------------------------------------

const sandboxes: Sandbox[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  vi.useRealTimers();
  await Promise.all(sandboxes.splice(0).map((s) => s.close()));
});

describe("aws-xray-sdk-core's centralized sampler as the judge of an applied plan", () => {
  it("samples every rule of the demo plan at the probability the planner's model gives, over an hour", async () => {
    // Prepare: the demo plan, applied to a sandbox whose only client is the SDK.
    const scenario = demoScenario();
    const plan = planSampling(scenario.snapshot, scenario.config);
    const hour = scenario.future; // the day after the snapshot: the traffic the plan meets
    const start = Date.parse(hour.start);
    const seconds = 3600;
    const periods = seconds / hour.periodSeconds;
    const sandbox = await startSandbox({
      rules: scenario.snapshot.rules,
      start,
      statisticsRetentionSeconds: 3 * 3600,
    });
    sandboxes.push(sandbox);
    const applied = await applyRuleSet(plan.rules, {
      xray: sandbox.xrayClient(),
      config: scenario.config,
      actor: "judge",
      mode: "apply",
      planId: plan.planId,
    });
    expect(applied.status).toBe("applied");

    const sdk = await startSdkSampler(sandbox, { start, seed: 3 });

    // Act: the hour's requests, Poisson per endpoint and second at each period's rate, in a
    // shuffled order within the second.
    const traffic = SeededRandom.derive(3, "judge-traffic");
    const sampled = new Map<string, number>();
    const matchedBySdk = hour.endpoints.map(
      (e) => sdk.sampler.ruleCache.getMatchedRule(sampleRequestOf(e), start / 1000)?.getName() ?? "(none)",
    );
    // What the model expects given the requests each rule actually got in each second.
    const ordered = evaluationOrder(plan.rules);
    const modelMatches = firstMatches(ordered, hour.endpoints);
    const given = ordered.map(() => ({ traces: 0, variance: 0 }));
    const perRule = new Int32Array(ordered.length);
    await sdk.advance(seconds, (s) => {
      const period = Math.floor(s / hour.periodSeconds);
      const arrivals: Endpoint[] = [];
      perRule.fill(0);
      for (const [e, endpoint] of hour.endpoints.entries()) {
        const n = traffic.poisson(endpoint.requests[period] / hour.periodSeconds);
        for (let i = 0; i < n; i++) arrivals.push(endpoint);
        perRule[modelMatches[e]] += n;
      }
      for (const [r, rule] of ordered.entries()) {
        const over = Math.max(0, perRule[r] - rule.ReservoirSize);
        given[r].traces += Math.min(perRule[r], rule.ReservoirSize) + rule.FixedRate * over;
        given[r].variance += over * rule.FixedRate * (1 - rule.FixedRate);
      }
      for (let i = arrivals.length - 1; i > 0; i--) {
        const j = traffic.int(i + 1);
        [arrivals[i], arrivals[j]] = [arrivals[j], arrivals[i]];
      }
      for (const endpoint of arrivals) {
        const decision = sdk.sampler.shouldSample(sampleRequestOf(endpoint));
        if (decision) sampled.set(decision, (sampled.get(decision) ?? 0) + 1);
      }
    });
    await sdk.advance(20); // quiet seconds: the SDK reports the hour's last statistics
    const sdkRuleNames = sdk.sampler.ruleCache.getRules().map((r) => r.getName());
    sdk.stop();
    const reported = new Map<string, { requests: number; traces: number }>();
    for await (const page of paginateGetSamplingStatisticSummaries({ client: sandbox.xrayClient() }, {})) {
      for (const w of page.SamplingStatisticSummaries ?? []) {
        const r = reported.get(w.RuleName ?? "") ?? { requests: 0, traces: 0 };
        r.requests += w.RequestCount ?? 0;
        r.traces += (w.SampledCount ?? 0) + (w.BorrowCount ?? 0);
        reported.set(w.RuleName ?? "", r);
      }
    }

    // Assess: the SDK loaded the plan's rules and routes each endpoint as the model (and the plan) does.
    expect([...sdkRuleNames].sort()).toEqual(plan.rules.map((r) => r.RuleName).sort());
    const plannedRule = new Map(plan.endpoints.map((e) => [e.key, e.ruleName]));
    const routing = hour.endpoints.map((e, i) => ({
      endpoint: endpointLabel(e),
      sdk: matchedBySdk[i],
      model: ordered[modelMatches[i]]?.RuleName ?? "(none)",
      plan: plannedRule.get(endpointKey(e)) ?? ordered[modelMatches[i]]?.RuleName ?? "(none)",
    }));
    expect(routing.filter((r) => r.sdk !== r.model || r.sdk !== r.plan)).toEqual([]);

    // … and samples each rule as the model expects: the share at the simulated rate (what the
    // planner projects with), and, sharper, the count given each second's requests (reservoir
    // first, fixed rate on the rest).
    const expected = expectations(plan.rules, hour.endpoints, periods, hour.periodSeconds);
    const misses: string[] = [];
    for (const [r, rule] of ordered.entries()) {
      const name = rule.RuleName;
      const x = expected.get(name) as Expectation;
      const seen = reported.get(name) ?? { requests: 0, traces: 0 };
      const traces = sampled.get(name) ?? 0;
      const share = (n: number, of: number) => (of > 0 ? (n / of).toPrecision(3) : "–");
      if (seen.traces !== traces) misses.push(`${name}: reported ${seen.traces} traces, sampled ${traces}`);
      if (outside(seen.requests, x.requests, x.requests)) {
        misses.push(`${name}: ${seen.requests} requests, model ${x.requests.toFixed(1)}`);
      }
      if (outside(traces, x.traces, x.tracesVariance)) {
        misses.push(
          `${name}: sampled share ${share(traces, seen.requests)} (${traces} traces), model ${share(x.traces, x.requests)} (${x.traces.toFixed(1)} ± ${(5 * Math.sqrt(x.tracesVariance) + 1).toFixed(1)})`,
        );
      }
      if (outside(traces, given[r].traces, given[r].variance)) {
        misses.push(
          `${name}: ${traces} traces, model given the requests ${given[r].traces.toFixed(1)} ± ${(5 * Math.sqrt(given[r].variance) + 1).toFixed(1)}`,
        );
      }
    }
    expect(misses).toEqual([]);
    // The hour exercised the reservoir and the fixed rate, not just empty rules.
    expect(sampled.get("Default") ?? 0).toBeGreaterThan(1000);
    expect([...sampled.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(2000);
  }, 120_000);
});
