import { describe, expect, it } from "vitest";
import {
  endpointAttributor,
  estimateErrors,
  probabilitiesInForce,
  routeTemplateMatcher,
} from "../../shared/domain/error-estimates.ts";
import { samplingProbability } from "../../shared/domain/sampling.ts";
import { defaultRule, samplingRule } from "../../shared/domain/sampling-rule.ts";

const endpoint = (service: string, method: string, path: string, requests: number[]) => ({
  service,
  method,
  path,
  requests,
});

describe("error estimates", () => {
  it("match a concrete path to its route template, one segment per parameter", () => {
    const m = routeTemplateMatcher("/orders/{id}/items");
    expect(m.test("/orders/8f3a/items")).toBe(true);
    expect(m.test("/orders/8f3a/items/")).toBe(true);
    expect(m.test("/orders/8f3a/b/items")).toBe(false);
    expect(m.test("/orders//items")).toBe(false);
    expect(m.parameters).toBe(1);
    expect(routeTemplateMatcher("/*").test("/anything/at/all")).toBe(true);
  });

  it("attribute a trace to the most specific route of its service and method", () => {
    const attribute = endpointAttributor([
      endpoint("shop", "GET", "/orders/{id}", []),
      endpoint("shop", "GET", "/orders/recent", []),
      endpoint("shop", "POST", "/orders/{id}", []),
      endpoint("billing", "*", "/*", []),
    ]);
    expect(attribute("shop", "GET", "/orders/recent")).toBe(1);
    expect(attribute("shop", "get", "/orders/8f3a")).toBe(0);
    expect(attribute("shop", "POST", "/orders/8f3a")).toBe(2);
    expect(attribute("billing", "PUT", "/invoices/1")).toBe(3);
    expect(attribute("shop", "DELETE", "/orders/8f3a")).toBe(-1);
    expect(attribute("other", "GET", "/orders/8f3a")).toBe(-1);
  });

  it("give each endpoint the probability of its rule at the rule's whole traffic", () => {
    // Two endpoints share Default: λ = (300 + 2700) / 300 s = 10/s.
    const window = {
      start: "2026-11-16T00:00:00.000Z",
      periodSeconds: 300,
      endpoints: [endpoint("a", "GET", "/a", [300]), endpoint("b", "GET", "/b", [2700])],
    };
    const [a, b] = probabilitiesInForce(window, [defaultRule()]);
    expect(a[0]).toBeCloseTo(samplingProbability(10, 1, 0.05), 12);
    expect(b[0]).toBe(a[0]);
  });

  it("weigh every sampled error trace by 1/p in its period", () => {
    // Prepare: p = 1 in the first period (a checkout rule at 100%), ≈ 0.145 under Default.
    const window = {
      start: "2026-11-16T00:00:00.000Z",
      periodSeconds: 300,
      endpoints: [
        endpoint("shop", "POST", "/checkout", [100, 100]),
        endpoint("shop", "GET", "/orders/{id}", [3000, 3000]),
      ],
    };
    const rules = [
      defaultRule(),
      samplingRule({ RuleName: "checkout", Priority: 1, URLPath: "/checkout", FixedRate: 1 }),
    ];
    const at = (minute: number) => Date.parse(window.start) + minute * 60_000;

    // Act
    const estimates = estimateErrors(window, rules, [
      { service: "shop", method: "POST", urlPath: "/checkout", timeMs: at(1), fault: true, error: false },
      { service: "shop", method: "GET", urlPath: "/orders/1", timeMs: at(6), fault: false, error: true },
      { service: "shop", method: "GET", urlPath: "/orders/2", timeMs: at(7), fault: false, error: true },
      { service: "shop", method: "GET", urlPath: "/nope", timeMs: at(7), fault: true, error: false },
      { service: "shop", method: "GET", urlPath: "/orders/3", timeMs: at(60), fault: true, error: false },
    ]);

    // Assess
    const p = samplingProbability(10, 1, 0.05);
    const [checkout, orders] = estimates.byEndpoint;
    expect(checkout).toMatchObject({ endpoint: 0, sampledFaults: 1, estimatedFaults: 1 });
    expect(orders.sampledErrors).toBe(2);
    expect(orders.estimatedErrors).toBeCloseTo(2 / p, 9);
    expect([...orders.errors]).toEqual([0, 2 / p]);
    expect(estimates.unattributed).toBe(1);
    expect(estimates.outsideWindow).toBe(1);
  });
});
