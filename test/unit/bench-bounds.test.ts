import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { attainableBounds } from "../../bench/bounds.ts";
import { monthlyUsdOf, scoreRules } from "../../shared/domain/scoring.ts";
import { config, defaultRule, endpoint, samplingRule, snapshot } from "../support/snapshot-builder.ts";

/** One hour of 5-minute periods with `counts` at the given periods and nothing elsewhere. */
const hour = (counts: Record<number, number>) => Array.from({ length: 12 }, (_, t) => counts[t] ?? 0);
/** The budget (USD per month) that pays `traces` traces per hour. */
const budgetFor = (traces: number) => monthlyUsdOf(traces * 24 * 30, config());

describe("attainable bounds of the benchmark targets", () => {
  // A critical checkout (10 requests, pinned at 100%), a trickle endpoint (1 request a period,
  // 1 error) and a burst endpoint (5 requests and 2 errors at once). The budget pays the
  // checkout's 10 traces and 1.5 more.
  const window = snapshot({
    endpoints: [
      endpoint({ method: "POST", path: "/checkout", requests: hour({ 0: 10 }) }),
      endpoint({
        path: "/trickle",
        requests: hour(Object.fromEntries([...Array(12).keys()].map((t) => [t, 1]))),
        errors: hour({ 3: 1 }),
      }),
      endpoint({ path: "/burst", requests: hour({ 0: 5 }), errors: hour({ 0: 2 }) }),
    ],
  });
  const withCheckout = config({
    budget: { monthlyUsd: budgetFor(11.5) },
    critical: [{ method: "POST", path: "/checkout", minFixedRate: 1 }],
  });

  it("buy one trace per endpoint-hour from what the critical minimums leave, cheapest first", () => {
    // Act
    const bounds = attainableBounds(window, withCheckout, []);

    // Assess: coverage — the checkout's hour is covered, 1.5 traces cover 1.5 of the other two
    // hours; errors — the trickle's error costs 1 trace, the burst's 2.5 per error, 0.5 left.
    expect(bounds.coverage).toBeCloseTo(2.5 / 3, 9);
    expect(bounds.errorCapture).toBeCloseTo(1.2 / 2, 9);
    expect(bounds.faultCapture).toBe(1);
  });

  it("leave what people's rules take with them, at the rate they sample it", () => {
    // Prepare: a hand-made rule switches the burst endpoint off.
    const off = samplingRule({
      RuleName: "team-burst-off",
      Priority: 10,
      URLPath: "/burst",
      FixedRate: 0,
      ReservoirSize: 0,
    });

    // Act
    const bounds = attainableBounds(window, withCheckout, [off]);

    // Assess: only the trickle is left to buy (1 trace), so 0.5 traces go unspent.
    expect(bounds.coverage).toBeCloseTo(2 / 3, 9);
    expect(bounds.errorCapture).toBeCloseTo(1 / 2, 9);
  });

  it("are never beaten by a rule set that meets the critical minimums within the budget", () => {
    const arbitraryWindow = fc.array(
      fc.record({
        requests: fc.array(fc.nat(40), { minLength: 12, maxLength: 12 }),
        errorShare: fc.double({ min: 0, max: 0.5, noNaN: true }),
        faultShare: fc.double({ min: 0, max: 0.5, noNaN: true }),
        rate: fc.double({ min: 0, max: 1, noNaN: true }),
        reservoir: fc.nat(2),
      }),
      { minLength: 1, maxLength: 6 },
    );
    fc.assert(
      fc.property(
        arbitraryWindow,
        fc.double({ min: 1, max: 3, noNaN: true }),
        fc.boolean(),
        (specs, slack, withCritical) => {
          // Prepare: an exact rule per endpoint; the first is critical at its rule's rate.
          const endpoints = specs.map((s, i) =>
            endpoint({
              path: `/e${i}`,
              requests: s.requests,
              errors: s.requests.map((r) => Math.floor(r * s.errorShare)),
              faults: s.requests.map((r) => Math.floor(r * s.faultShare)),
            }),
          );
          const rules = [
            ...specs.map((s, i) =>
              samplingRule({
                RuleName: `r${i}`,
                Priority: 100 + i,
                URLPath: `/e${i}`,
                FixedRate: s.rate,
                ReservoirSize: s.reservoir,
              }),
            ),
            defaultRule({ FixedRate: 0, ReservoirSize: 0 }),
          ];
          const window = snapshot({ endpoints, rules });
          const critical = withCritical ? [{ path: "/e0", minFixedRate: specs[0].rate }] : [];
          const spent = scoreRules(window, rules, config({ critical })).monthlyUsd;
          const within = config({ budget: { monthlyUsd: Math.max(1e-6, spent * slack) }, critical });

          // Act
          const score = scoreRules(window, rules, within);
          const bounds = attainableBounds(window, within, []);

          // Assess
          expect(score.coverage).toBeLessThanOrEqual(bounds.coverage + 1e-9);
          expect(score.errorCapture).toBeLessThanOrEqual(bounds.errorCapture + 1e-9);
          expect(score.faultCapture).toBeLessThanOrEqual(bounds.faultCapture + 1e-9);
        },
      ),
      { numRuns: 300 },
    );
  });
});
