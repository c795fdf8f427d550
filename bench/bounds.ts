/**
 * What no plan can beat: upper bounds on fault capture, error capture and coverage for any
 * sampling that meets the critical minimums and stays within the budget on a window, people's
 * own rules left as they are. A target above its bound is unattainable, so the bench can tell a
 * planner that fell short from a comparison no planner could win (a baseline that ignores a
 * critical minimum costing much of the budget, say).
 *
 * The bound relaxes everything a rule set must respect: each endpoint-hour may get its own
 * probability in each period. For an endpoint-hour, P(at least one sampled) ≤ min(1, expected
 * sampled), and one expected error trace costs at least the cheapest period's requests per
 * error; so the best any plan can do is a fractional knapsack over endpoint-hours, cheapest
 * first, paid from the traces the budget leaves after people's rules and critical minimums.
 */
import type { Config, SamplingRule, Snapshot } from "../shared/domain/formats.ts";
import { requestOf } from "../shared/domain/sampling.ts";
import {
  criticalMatcher,
  monthlyTracesOf,
  periodsPerHour,
  ruleOutcome,
  SECONDS_PER_MONTH,
} from "../shared/domain/scoring.ts";
import type { Metric } from "./evaluate.ts";

export type TargetBounds = Record<Metric, number>;

/** Per metric: the value fixed by people's rules and critical minimums, and what is left to buy. */
interface Ledger {
  fixed: number;
  hours: number;
  /** Traces one endpoint-hour costs to reach a value of 1, for every endpoint-hour still open. */
  costs: number[];
}

export function attainableBounds(
  window: Snapshot,
  config: Pick<Config, "budget" | "critical">,
  unmanaged: readonly SamplingRule[],
): TargetBounds {
  const periods = window.endpoints[0]?.requests.length ?? 0;
  const perHour = periodsPerHour(window.periodSeconds);
  const windowSeconds = Math.max(1, periods * window.periodSeconds);
  const budgetTraces =
    (monthlyTracesOf(config.budget.monthlyUsd, config) * windowSeconds) / SECONDS_PER_MONTH;
  const held = ruleOutcome(window, unmanaged);
  const critical = config.critical.map((c) => ({ rate: c.minFixedRate, matches: criticalMatcher(c) }));
  const ledgers: Record<Metric, Ledger> = {
    faultCapture: { fixed: 0, hours: 0, costs: [] },
    errorCapture: { fixed: 0, hours: 0, costs: [] },
    coverage: { fixed: 0, hours: 0, costs: [] },
  };
  let spent = 0;

  window.endpoints.forEach((ep, e) => {
    const byPeople = held.assignment[e] >= 0;
    const p = held.probabilities(e);
    const request = requestOf(ep);
    const minimum = byPeople
      ? 0
      : Math.max(0, ...critical.filter((c) => c.matches(request)).map((c) => c.rate));
    for (let h0 = 0; h0 < periods; h0 += perHour) {
      const h1 = Math.min(periods, h0 + perHour);
      // Per metric: the log of missing every event (people's rules) and the cheapest requests
      // per event over the hour's periods (what one expected sampled event costs at best).
      const missLog = { coverage: 0, errorCapture: 0, faultCapture: 0 };
      const cheapest = {
        coverage: Number.POSITIVE_INFINITY,
        errorCapture: Number.POSITIVE_INFINITY,
        faultCapture: Number.POSITIVE_INFINITY,
      };
      const events = { coverage: 0, errorCapture: 0, faultCapture: 0 };
      for (let t = h0; t < h1; t++) {
        const r = ep.requests[t];
        if (r === 0) continue;
        const count = { coverage: r, errorCapture: ep.errors[t] + ep.faults[t], faultCapture: ep.faults[t] };
        if (byPeople) spent += p[t] * r;
        else spent += minimum * r;
        const logMiss = p[t] >= 1 ? Number.NEGATIVE_INFINITY : Math.log1p(-p[t]);
        for (const m of METRICS) {
          if (count[m] === 0) continue;
          events[m] += count[m];
          missLog[m] += count[m] * logMiss;
          cheapest[m] = Math.min(cheapest[m], r / count[m]);
        }
      }
      for (const m of METRICS) {
        if (events[m] === 0) continue;
        const ledger = ledgers[m];
        ledger.hours++;
        if (byPeople) ledger.fixed += 1 - Math.exp(missLog[m]);
        else if (minimum > 0) ledger.fixed += 1;
        else ledger.costs.push(cheapest[m]);
      }
    }
  });

  const left = Math.max(0, budgetTraces - spent);
  const bound = (ledger: Ledger): number => {
    if (ledger.hours === 0) return 1;
    let value = ledger.fixed;
    let money = left;
    for (const cost of ledger.costs.sort((a, b) => a - b)) {
      if (money <= 0) break;
      const bought = Math.min(1, money / cost);
      value += bought;
      money -= bought * cost;
    }
    return value / ledger.hours;
  };
  return {
    faultCapture: bound(ledgers.faultCapture),
    errorCapture: bound(ledgers.errorCapture),
    coverage: bound(ledgers.coverage),
  };
}

const METRICS: Metric[] = ["coverage", "errorCapture", "faultCapture"];
