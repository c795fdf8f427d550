import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  concretePath,
  endpointKey,
  evaluationOrder,
  expectedReservoirTraces,
  expectedTracesPerSecond,
  firstMatches,
  isUsedBySdks,
  requestOf,
  ruleMatches,
  samplingProbability,
} from "../../shared/domain/sampling.ts";
import { defaultRule, endpoint, samplingRule } from "../support/snapshot-builder.ts";

/**
 * E[min(N, k)] for N ~ Poisson(lambda), summed term by term over n far past lambda (the
 * definition itself). Terms are built in log space so that e^{-lambda} does not underflow.
 */
function bruteForceReservoirTraces(lambda: number, k: number): number {
  const last = Math.ceil(lambda + 40 * Math.sqrt(lambda) + k + 200);
  let logP = -lambda;
  let sum = 0;
  for (let n = 0; n <= last; n++) {
    sum += Math.min(n, k) * Math.exp(logP);
    logP += Math.log(lambda) - Math.log(n + 1);
  }
  return sum;
}

describe("expectedReservoirTraces", () => {
  const lambdas = [0.001, 0.1, 0.5, 1, 2.5, 7, 30, 99.5, 750, 5000];
  const reservoirs = [0, 1, 2, 5, 10, 50, 100, 1000];
  const grid = lambdas.flatMap((lambda) => reservoirs.map((k) => [lambda, k] as const));

  it.each(grid)("equals the Poisson sum for lambda %s, reservoir %s", (lambda, k) => {
    // Act
    const actual = expectedReservoirTraces(lambda, k);

    // Assess
    const expected = bruteForceReservoirTraces(lambda, k);
    expect(Number.isFinite(actual)).toBe(true);
    expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-9 * Math.max(1, expected));
  });

  it("does not underflow for a busy rule whose reservoir is close to its traffic", () => {
    // e^{-5000} is 0 in floating point: a naive product of Poisson terms would give 0 here.
    const taken = expectedReservoirTraces(5000, 5000);

    expect(taken).toBeGreaterThan(4900);
    expect(taken).toBeLessThan(5000);
  });

  it("never exceeds the traffic or the reservoir, and grows with the reservoir", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1e-6, max: 3000, noNaN: true }),
        fc.integer({ min: 0, max: 400 }),
        (lambda, k) => {
          const taken = expectedReservoirTraces(lambda, k);
          expect(taken).toBeGreaterThanOrEqual(0);
          expect(taken).toBeLessThanOrEqual(Math.min(lambda, k) * (1 + 1e-12));
          expect(expectedReservoirTraces(lambda, k + 1)).toBeGreaterThanOrEqual(taken - 1e-12);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("samplingProbability", () => {
  it("samples every request of a nearly idle rule that has a reservoir", () => {
    expect(samplingProbability(0, 1, 0)).toBe(1);
    expect(samplingProbability(1e-7, 1, 0)).toBeCloseTo(1, 6);
    expect(samplingProbability(1e-4, 3, 0.01)).toBeCloseTo(1, 4);
  });

  it.each([0.001, 0.5, 20, 10_000])("is exactly the fixed rate without a reservoir (lambda %s)", (lambda) => {
    expect(samplingProbability(lambda, 0, 0.07)).toBeCloseTo(0.07, 12);
    expect(samplingProbability(lambda, 0, 0)).toBe(0);
  });

  it.each([
    [10_000, 5, 0.1],
    [2_000, 1, 0],
    [50_000, 100, 0.02],
  ])(
    "for a busy rule (lambda %s, reservoir %s, rate %s) is the reservoir share plus the rate on the rest",
    (lambda, k, f) => {
      const expected = k / lambda + f * (1 - k / lambda);

      expect(samplingProbability(lambda, k, f)).toBeCloseTo(expected, 9);
    },
  );

  it("stays between the fixed rate and 1, and traces per second are lambda times it", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1e-3, max: 5000, noNaN: true }),
        fc.integer({ min: 0, max: 200 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (lambda, k, f) => {
          const p = samplingProbability(lambda, k, f);
          expect(p).toBeGreaterThanOrEqual(f - 1e-12);
          expect(p).toBeLessThanOrEqual(1);
          expect(expectedTracesPerSecond(lambda, k, f)).toBeCloseTo(p * lambda, 6);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("matching requests to rules", () => {
  const orders = endpoint({
    service: "orders-api",
    serviceType: "AWS::Lambda::Function",
    host: "api.example.com",
    method: "GET",
    path: "/orders/{id}/items",
    requests: [1],
  });

  it("fills a route template's parameters to make the concrete path a rule must match", () => {
    const path = concretePath("/orders/{id}/items/{itemId}");

    expect(path).toMatch(/^\/orders\/[^/{}]+\/items\/[^/{}]+$/);
    expect(ruleMatches(samplingRule({ RuleName: "r", URLPath: "/orders/*/items" }), requestOf(orders))).toBe(
      true,
    );
    expect(
      ruleMatches(samplingRule({ RuleName: "r", URLPath: "/orders/{id}/items" }), requestOf(orders)),
    ).toBe(false);
  });

  it("matches on every field, case-insensitively", () => {
    const request = requestOf(orders);
    const rule = samplingRule({
      RuleName: "r",
      ServiceName: "ORDERS-*",
      ServiceType: "aws::lambda::*",
      Host: "API.example.com",
      HTTPMethod: "get",
      URLPath: "/Orders/*",
    });

    expect(ruleMatches(rule, request)).toBe(true);
    expect(ruleMatches({ ...rule, HTTPMethod: "POST" }, request)).toBe(false);
    expect(ruleMatches({ ...rule, Host: "web.example.com" }, request)).toBe(false);
    expect(ruleMatches({ ...rule, ServiceType: "AWS::EC2::Instance" }, request)).toBe(false);
    expect(ruleMatches({ ...rule, ServiceName: "billing" }, request)).toBe(false);
  });

  it("lets a request without a host or service type match any host or service type", () => {
    const bare = requestOf(endpoint({ service: "orders-api", path: "/orders", requests: [1] }));
    const rule = samplingRule({ RuleName: "r", Host: "only.example.com", ServiceType: "AWS::EC2::Instance" });

    expect(ruleMatches(rule, bare)).toBe(true);
  });

  it("ignores rules the X-Ray SDKs ignore: a ResourceARN other than * or any attributes", () => {
    const request = requestOf(orders);
    const scoped = samplingRule({ RuleName: "scoped", ResourceARN: "arn:aws:lambda:us-east-1:1:function:x" });
    const attributed = samplingRule({ RuleName: "attr", Attributes: { tier: "gold" } });

    expect(isUsedBySdks(scoped)).toBe(false);
    expect(isUsedBySdks(attributed)).toBe(false);
    expect(ruleMatches(scoped, request)).toBe(false);
    expect(ruleMatches(attributed, request)).toBe(false);
  });

  it("gives each endpoint to the first matching rule by priority, then by name", () => {
    // Prepare
    const rules = [
      defaultRule(),
      samplingRule({ RuleName: "b-orders", Priority: 10, URLPath: "/orders/*" }),
      samplingRule({ RuleName: "a-orders", Priority: 10, URLPath: "/orders/*" }),
      samplingRule({ RuleName: "z-items", Priority: 5, URLPath: "*/items" }),
      samplingRule({ RuleName: "a-scoped", Priority: 1, ResourceARN: "arn:aws:x", URLPath: "*" }),
      samplingRule({ RuleName: "a-attr", Priority: 2, Attributes: { k: "v" } }),
    ];
    const endpoints = [
      orders,
      endpoint({ path: "/orders/{id}", requests: [1] }),
      endpoint({ path: "/health", requests: [1] }),
    ];

    // Act
    const ordered = evaluationOrder(rules);
    const matched = Array.from(firstMatches(ordered, endpoints)).map((r) => ordered[r].RuleName);

    // Assess
    expect(ordered.map((r) => r.RuleName)).toEqual([
      "a-scoped",
      "a-attr",
      "z-items",
      "a-orders",
      "b-orders",
      "Default",
    ]);
    expect(matched).toEqual(["z-items", "a-orders", "Default"]);
  });

  it("reports no rule for an endpoint nothing matches when Default is absent", () => {
    const ordered = evaluationOrder([samplingRule({ RuleName: "only", URLPath: "/x" })]);

    expect(Array.from(firstMatches(ordered, [orders]))).toEqual([-1]);
  });

  it("keys endpoints by every identifying field, whatever the method's case", () => {
    const same = { ...orders, method: "get" };
    const otherHost = { ...orders, host: "web.example.com" };

    expect(endpointKey(same)).toBe(endpointKey(orders));
    expect(endpointKey(otherHost)).not.toBe(endpointKey(orders));
  });
});
