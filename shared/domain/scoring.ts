/**
 * Scores sampling on a window of traffic, as `scoring.md` defines it: spend against the
 * budget, fault and error capture, coverage, rare coverage and critical rates. Used by the
 * planner's projections, the report and the benchmark alike.
 */
import type { Config, Critical, Endpoint, SamplingRule, Snapshot } from "./formats.ts";
import {
  endpointLabel,
  evaluationOrder,
  firstMatches,
  isDefaultRule,
  type RequestFields,
  requestOf,
  samplingProbability,
} from "./sampling.ts";
import { wildcardMatcher } from "./wildcard.ts";

export const SECONDS_PER_MONTH = 30 * 86_400;

/** Traffic to score on: a snapshot's shape (only the fields scoring needs). */
export type TrafficWindow = Pick<Snapshot, "periodSeconds" | "endpoints">;

/** Per endpoint, the sampling probability in every period of the window. */
export interface SamplingOutcome {
  probabilities(endpointIndex: number): ArrayLike<number>;
}

export interface CriticalScore {
  critical: Critical;
  /** Lowest sampled share of requests over the endpoints the entry matches (1 when it matches none). */
  rate: number;
  /** Label of the endpoint with that lowest share. */
  worstEndpoint?: string;
  met: boolean;
}

export interface WindowScore {
  monthlyTraces: number;
  monthlyUsd: number;
  budgetUsd: number;
  spendRatio: number;
  faultCapture: number;
  errorCapture: number;
  coverage: number;
  rareCoverage: number;
  critical: CriticalScore[];
  criticalMet: boolean;
  /** How many endpoint-hours each mean is taken over. */
  counts: { faultHours: number; errorHours: number; trafficHours: number; rareEndpoints: number };
}

/** Traces recorded per month to dollars. */
export function monthlyUsdOf(monthlyTraces: number, config: Pick<Config, "budget">): number {
  return (monthlyTraces * config.budget.pricePerMillionUsd) / 1_000_000;
}

/** Dollars per month to traces per month. */
export function monthlyTracesOf(usd: number, config: Pick<Config, "budget">): number {
  return (usd * 1_000_000) / config.budget.pricePerMillionUsd;
}

export function periodsPerHour(periodSeconds: number): number {
  return Math.max(1, Math.round(3600 / periodSeconds));
}

export function criticalMatcher(critical: Critical): (request: RequestFields) => boolean {
  const service = wildcardMatcher(critical.service);
  const host = wildcardMatcher(critical.host);
  const method = wildcardMatcher(critical.method);
  const path = wildcardMatcher(critical.path);
  return (r) =>
    service(r.service) && (r.host === undefined || host(r.host)) && method(r.method) && path(r.urlPath);
}

const MAX_SHARED_ROWS = 4096;

/** Scores an outcome (probabilities per endpoint and period) on a window. */
export function scoreOutcome(
  window: TrafficWindow,
  outcome: SamplingOutcome,
  config: Pick<Config, "budget" | "critical">,
): WindowScore {
  const { endpoints, periodSeconds } = window;
  const periods = endpoints[0]?.requests.length ?? 0;
  const perHour = periodsPerHour(periodSeconds);
  const windowSeconds = Math.max(1, periods * periodSeconds);
  const windowMinutes = windowSeconds / 60;
  const criticalMatchers = config.critical.map(criticalMatcher);
  const criticalWorst = config.critical.map(() => ({ rate: 1, endpoint: undefined as string | undefined }));

  let sampled = 0;
  let faultSum = 0;
  let faultHours = 0;
  let errorSum = 0;
  let errorHours = 0;
  let coverageSum = 0;
  let trafficHours = 0;
  let rareSum = 0;
  let rareHours = 0;
  let rareEndpoints = 0;

  // Endpoints under one rule share its probabilities: their logarithms are taken once (per-endpoint
  // outcomes return a row per endpoint, so only so many rows are kept).
  const logMisses = new Map<ArrayLike<number>, Float64Array>();
  const logMissesOf = (p: ArrayLike<number>) => {
    let row = logMisses.get(p);
    if (!row) {
      row = new Float64Array(periods);
      for (let t = 0; t < periods; t++) row[t] = p[t] >= 1 ? Number.NEGATIVE_INFINITY : Math.log1p(-p[t]);
      if (logMisses.size < MAX_SHARED_ROWS) logMisses.set(p, row);
    }
    return row;
  };

  for (let e = 0; e < endpoints.length; e++) {
    const ep = endpoints[e];
    const p = outcome.probabilities(e);
    const logMissRow = logMissesOf(p);
    let total = 0;
    for (let t = 0; t < periods; t++) total += ep.requests[t];
    const rare = total < windowMinutes;
    if (rare && total > 0) rareEndpoints++;
    let endpointSampled = 0;
    for (let h0 = 0; h0 < periods; h0 += perHour) {
      let logMissAll = 0;
      let logMissErrors = 0;
      let logMissFaults = 0;
      let requests = 0;
      let errors = 0;
      let faults = 0;
      const h1 = Math.min(periods, h0 + perHour);
      for (let t = h0; t < h1; t++) {
        const r = ep.requests[t];
        if (r === 0) continue;
        const pt = p[t];
        const logMiss = logMissRow[t];
        const f = ep.faults[t];
        const er = ep.errors[t] + f;
        requests += r;
        errors += er;
        faults += f;
        endpointSampled += pt * r;
        if (logMiss === Number.NEGATIVE_INFINITY) {
          logMissAll = logMiss;
          if (er > 0) logMissErrors = logMiss;
          if (f > 0) logMissFaults = logMiss;
        } else {
          logMissAll += r * logMiss;
          logMissErrors += er * logMiss;
          logMissFaults += f * logMiss;
        }
      }
      if (requests > 0) {
        const c = 1 - Math.exp(logMissAll);
        coverageSum += c;
        trafficHours++;
        if (rare) {
          rareSum += c;
          rareHours++;
        }
      }
      if (errors > 0) {
        errorSum += 1 - Math.exp(logMissErrors);
        errorHours++;
      }
      if (faults > 0) {
        faultSum += 1 - Math.exp(logMissFaults);
        faultHours++;
      }
    }
    sampled += endpointSampled;
    if (criticalMatchers.length > 0 && total > 0) {
      const request = requestOf(ep);
      const rate = endpointSampled / total;
      criticalMatchers.forEach((matches, i) => {
        if (matches(request) && rate < criticalWorst[i].rate) {
          criticalWorst[i] = { rate, endpoint: endpointLabel(ep) };
        }
      });
    }
  }

  const monthlyTraces = (sampled * SECONDS_PER_MONTH) / windowSeconds;
  const monthlyUsd = monthlyUsdOf(monthlyTraces, config);
  const critical = config.critical.map((c, i) => ({
    critical: c,
    rate: criticalWorst[i].rate,
    worstEndpoint: criticalWorst[i].endpoint,
    // A tolerance for the reservoir's rounding: a rule at rate 1 samples every request.
    met: criticalWorst[i].rate >= c.minFixedRate - 1e-9,
  }));
  return {
    monthlyTraces,
    monthlyUsd,
    budgetUsd: config.budget.monthlyUsd,
    spendRatio: monthlyUsd / config.budget.monthlyUsd,
    faultCapture: faultHours ? faultSum / faultHours : 1,
    errorCapture: errorHours ? errorSum / errorHours : 1,
    coverage: trafficHours ? coverageSum / trafficHours : 1,
    rareCoverage: rareHours ? rareSum / rareHours : 1,
    critical,
    criticalMet: critical.every((c) => c.met),
    counts: { faultHours, errorHours, trafficHours, rareEndpoints },
  };
}

// ---------------------------------------------------------------------------------------------
// Outcomes

/** Which rule each endpoint matches, and the requests per second each rule matches per period. */
export interface RuleLoad {
  ordered: SamplingRule[];
  /** Index into `ordered` per endpoint, -1 when no rule matches. */
  assignment: Int32Array;
  /** requests/second per rule (row) and period (column). */
  lambda: Float64Array[];
}

export function ruleLoad(window: TrafficWindow, rules: readonly SamplingRule[]): RuleLoad {
  const ordered = evaluationOrder(rules);
  const assignment = firstMatches(ordered, window.endpoints);
  const periods = window.endpoints[0]?.requests.length ?? 0;
  const lambda = ordered.map(() => new Float64Array(periods));
  window.endpoints.forEach((ep, e) => {
    const r = assignment[e];
    if (r < 0) return;
    const row = lambda[r];
    for (let t = 0; t < periods; t++) row[t] += ep.requests[t] / window.periodSeconds;
  });
  return { ordered, assignment, lambda };
}

/** What a rule set does to a window: every request sampled with its first matching rule's probability. */
export function ruleOutcome(
  window: TrafficWindow,
  rules: readonly SamplingRule[],
): SamplingOutcome & RuleLoad {
  const load = ruleLoad(window, rules);
  const periods = window.endpoints[0]?.requests.length ?? 0;
  const probability = load.ordered.map((rule, r) => {
    const row = new Float64Array(periods);
    for (let t = 0; t < periods; t++) {
      row[t] = samplingProbability(load.lambda[r][t], rule.ReservoirSize, rule.FixedRate);
    }
    return row;
  });
  const none = new Float64Array(periods);
  return {
    ...load,
    probabilities: (e) => (load.assignment[e] < 0 ? none : probability[load.assignment[e]]),
  };
}

/**
 * One probability per endpoint, as if there were no rule quota — except that traffic an
 * unmanaged rule takes stays with it. Endpoints the map does not know get `fallback`.
 */
export function endpointOutcome(
  window: TrafficWindow,
  unmanagedRules: readonly SamplingRule[],
  probabilityOf: (endpoint: Endpoint) => number | undefined,
  fallback: number,
): SamplingOutcome {
  const custom = unmanagedRules.filter((r) => !isDefaultRule(r));
  const rules = ruleOutcome(window, custom);
  const periods = window.endpoints[0]?.requests.length ?? 0;
  return {
    probabilities: (e) => {
      if (rules.assignment[e] >= 0) return rules.probabilities(e);
      const p = probabilityOf(window.endpoints[e]) ?? fallback;
      return new Float64Array(periods).fill(p);
    },
  };
}

export function scoreRules(
  window: TrafficWindow,
  rules: readonly SamplingRule[],
  config: Pick<Config, "budget" | "critical">,
): WindowScore {
  return scoreOutcome(window, ruleOutcome(window, rules), config);
}
