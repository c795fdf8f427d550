/**
 * Error counts estimated from sampled error traces: each sampled trace stands for 1/p
 * requests, p being the sampling probability its endpoint had when it was recorded (the rule
 * in force, its reservoir and fixed rate, and the rule's traffic in that period). Used where a
 * metric source has no 4xx or 5xx metric, and to report what the traces say next to what the
 * metrics say.
 *
 * Also: which endpoint (route template) a trace's concrete URL belongs to.
 */
import type { Endpoint, SamplingRule } from "./formats.ts";
import { evaluationOrder, firstMatches, samplingProbability } from "./sampling.ts";

/** A sampled error or fault trace, reduced to what attribution and de-biasing need. */
export interface ErrorTraceObservation {
  service: string;
  method: string;
  /** The concrete URL path (`/orders/8f3a`). */
  urlPath: string;
  /** Milliseconds since the epoch. */
  timeMs: number;
  fault: boolean;
  error: boolean;
}

export interface EndpointErrorEstimate {
  endpoint: number;
  sampledErrors: number;
  sampledFaults: number;
  /** De-biased estimates over the window. */
  estimatedErrors: number;
  estimatedFaults: number;
  /** Per period, de-biased. */
  errors: Float64Array;
  faults: Float64Array;
}

export interface ErrorEstimates {
  byEndpoint: EndpointErrorEstimate[];
  /** Traces that matched no endpoint of the window (other services, routes without metrics). */
  unattributed: number;
  /** Traces outside the window. */
  outsideWindow: number;
}

type Window = {
  start: string;
  periodSeconds: number;
  endpoints: Pick<Endpoint, "service" | "serviceType" | "host" | "method" | "path" | "requests">[];
};

/**
 * Compiles `/orders/{id}/items` into a matcher of concrete paths: a parameter is one non-empty
 * segment; a `*` (the catch-all `/*` of sources without routes) matches anything.
 */
export function routeTemplateMatcher(template: string): { test(path: string): boolean; parameters: number } {
  let parameters = 0;
  const source = template
    .split(/(\{[^}/]*\})/)
    .map((part) => {
      if (/^\{[^}/]*\}$/.test(part)) {
        parameters++;
        return "[^/]+";
      }
      return part.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
    })
    .join("");
  const regex = new RegExp(`^${source}/?$`);
  return { test: (path) => regex.test(path), parameters };
}

/** Finds the endpoint a trace belongs to: same service and method, the most specific matching route. */
export function endpointAttributor(
  endpoints: readonly Pick<Endpoint, "service" | "method" | "path">[],
): (service: string, method: string, urlPath: string) => number {
  const byKey = new Map<string, { index: number; matcher: ReturnType<typeof routeTemplateMatcher> }[]>();
  endpoints.forEach((e, index) => {
    const key = `${e.service}|${e.method.toUpperCase()}`;
    let list = byKey.get(key);
    if (!list) {
      list = [];
      byKey.set(key, list);
    }
    list.push({ index, matcher: routeTemplateMatcher(e.path) });
  });
  for (const list of byKey.values()) list.sort((a, b) => a.matcher.parameters - b.matcher.parameters);
  return (service, method, urlPath) => {
    for (const key of [`${service}|${method.toUpperCase()}`, `${service}|*`]) {
      for (const c of byKey.get(key) ?? []) if (c.matcher.test(urlPath)) return c.index;
    }
    return -1;
  };
}

/**
 * Per endpoint and period, the sampling probability the rules gave it: the first matching rule,
 * with the rule's whole traffic in that period as λ.
 */
export function probabilitiesInForce(window: Window, rules: readonly SamplingRule[]): Float64Array[] {
  const ordered = evaluationOrder(rules);
  const match = firstMatches(ordered, window.endpoints);
  const periods = window.endpoints[0]?.requests.length ?? 0;
  const ruleTraffic = ordered.map(() => new Float64Array(periods));
  window.endpoints.forEach((e, i) => {
    const r = match[i];
    if (r < 0) return;
    for (let t = 0; t < periods; t++) ruleTraffic[r][t] += e.requests[t];
  });
  return window.endpoints.map((_, i) => {
    const out = new Float64Array(periods);
    const r = match[i];
    for (let t = 0; t < periods; t++) {
      out[t] =
        r < 0
          ? 0
          : samplingProbability(
              ruleTraffic[r][t] / window.periodSeconds,
              ordered[r].ReservoirSize,
              ordered[r].FixedRate,
            );
    }
    return out;
  });
}

/** De-biases sampled error traces into per-endpoint, per-period estimates. */
export function estimateErrors(
  window: Window,
  rules: readonly SamplingRule[],
  observations: readonly ErrorTraceObservation[],
): ErrorEstimates {
  const periods = window.endpoints[0]?.requests.length ?? 0;
  const startMs = Date.parse(window.start);
  const periodMs = window.periodSeconds * 1000;
  const attribute = endpointAttributor(window.endpoints);
  const probabilities = probabilitiesInForce(window, rules);
  const estimates = new Map<number, EndpointErrorEstimate>();
  let unattributed = 0;
  let outsideWindow = 0;
  for (const o of observations) {
    const t = Math.floor((o.timeMs - startMs) / periodMs);
    if (t < 0 || t >= periods) {
      outsideWindow++;
      continue;
    }
    const e = attribute(o.service, o.method, o.urlPath);
    if (e < 0) {
      unattributed++;
      continue;
    }
    let estimate = estimates.get(e);
    if (!estimate) {
      estimate = {
        endpoint: e,
        sampledErrors: 0,
        sampledFaults: 0,
        estimatedErrors: 0,
        estimatedFaults: 0,
        errors: new Float64Array(periods),
        faults: new Float64Array(periods),
      };
      estimates.set(e, estimate);
    }
    // A trace that was recorded had p > 0; guard against a model that says otherwise.
    const weight = 1 / Math.max(probabilities[e][t], 1e-6);
    if (o.fault) {
      estimate.sampledFaults++;
      estimate.estimatedFaults += weight;
      estimate.faults[t] += weight;
    } else if (o.error) {
      estimate.sampledErrors++;
      estimate.estimatedErrors += weight;
      estimate.errors[t] += weight;
    }
  }
  return {
    byEndpoint: [...estimates.values()].sort((a, b) => a.endpoint - b.endpoint),
    unattributed,
    outsideWindow,
  };
}
