/**
 * The X-Ray sampling model: which rule a request matches, and with what probability a rule
 * samples the requests it matches. Pure functions; see docs `xray-facts.md`.
 */
import { DEFAULT_RULE_NAME, type Endpoint, type SamplingRule } from "./formats.ts";
import { wildcardMatcher } from "./wildcard.ts";

/**
 * E[min(N, k)] for N ~ Poisson(lambda): the expected number of requests per second that a
 * reservoir of k traces/second takes.
 */
export function expectedReservoirTraces(lambda: number, reservoir: number): number {
  if (reservoir <= 0 || lambda <= 0) return 0;
  const k = Math.floor(reservoir);
  // Far above the reservoir the reservoir is always full.
  if (lambda > k + 40 + 12 * Math.sqrt(lambda)) return k;
  // Poisson terms in log space so that large lambdas do not underflow.
  const logLambda = Math.log(lambda);
  let logP = -lambda;
  let cumulative = 0;
  let belowK = 0;
  for (let n = 0; n < k; n++) {
    const p = Math.exp(logP);
    cumulative += p;
    belowK += n * p;
    logP += logLambda - Math.log(n + 1);
  }
  const tail = Math.max(0, 1 - cumulative);
  return Math.min(lambda, belowK + k * tail);
}

/**
 * Probability that a request matched by a rule is sampled, when the rule matches lambda
 * requests per second in total: reservoir first, then the fixed rate on the rest.
 */
export function samplingProbability(lambda: number, reservoir: number, fixedRate: number): number {
  if (lambda <= 1e-9) return reservoir >= 1 ? 1 : fixedRate;
  const taken = expectedReservoirTraces(lambda, reservoir);
  return Math.min(1, (taken + fixedRate * (lambda - taken)) / lambda);
}

/** Expected traces per second of a rule that matches lambda requests per second. */
export function expectedTracesPerSecond(lambda: number, reservoir: number, fixedRate: number): number {
  if (lambda <= 0) return 0;
  const taken = expectedReservoirTraces(lambda, reservoir);
  return taken + fixedRate * (lambda - taken);
}

// ---------------------------------------------------------------------------------------------
// Matching

/** What X-Ray matches a rule against: the request's fields. */
export interface RequestFields {
  service: string;
  serviceType?: string;
  host?: string;
  method: string;
  /** The concrete URL path, not the route template. */
  urlPath: string;
}

export type MatchFields = Pick<
  SamplingRule,
  "ServiceName" | "ServiceType" | "Host" | "HTTPMethod" | "URLPath" | "ResourceARN" | "Attributes"
>;

/** X-Ray SDKs only use rules whose ResourceARN is `*` and that have no attributes. */
export function isUsedBySdks(rule: Pick<SamplingRule, "ResourceARN" | "Attributes">): boolean {
  return (rule.ResourceARN ?? "*") === "*" && Object.keys(rule.Attributes ?? {}).length === 0;
}

/** The value a route template's parameters are filled with to make a concrete request path. */
export const PATH_PARAMETER_SAMPLE = "7f3a9c";

/** `/orders/{id}/items` → `/orders/7f3a9c/items`. */
export function concretePath(template: string): string {
  return template.replace(/\{[^}/]*\}/g, PATH_PARAMETER_SAMPLE);
}

export function requestOf(
  endpoint: Pick<Endpoint, "service" | "serviceType" | "host" | "method" | "path">,
): RequestFields {
  return {
    service: endpoint.service,
    serviceType: endpoint.serviceType,
    host: endpoint.host,
    method: endpoint.method,
    urlPath: concretePath(endpoint.path),
  };
}

/** Whether a rule matches a request (SDK semantics: a missing request value matches). */
export function ruleMatches(rule: MatchFields, request: RequestFields): boolean {
  if (!isUsedBySdks(rule)) return false;
  return (
    wildcardMatcher(rule.ServiceName)(request.service) &&
    (request.serviceType === undefined || wildcardMatcher(rule.ServiceType)(request.serviceType)) &&
    (request.host === undefined || wildcardMatcher(rule.Host)(request.host)) &&
    wildcardMatcher(rule.HTTPMethod)(request.method) &&
    wildcardMatcher(rule.URLPath)(request.urlPath)
  );
}

/** Rules in X-Ray's evaluation order: priority ascending, then name. */
export function evaluationOrder<R extends Pick<SamplingRule, "Priority" | "RuleName">>(
  rules: readonly R[],
): R[] {
  return [...rules].sort((a, b) =>
    a.Priority !== b.Priority
      ? a.Priority - b.Priority
      : a.RuleName < b.RuleName
        ? -1
        : a.RuleName > b.RuleName
          ? 1
          : 0,
  );
}

export function isDefaultRule(rule: Pick<SamplingRule, "RuleName">): boolean {
  return rule.RuleName === DEFAULT_RULE_NAME;
}

/**
 * For each endpoint, the index (into `ordered`, which must be in evaluation order) of the
 * first rule that matches it, or -1 when none does (no Default in the list).
 */
export function firstMatches(
  ordered: readonly MatchFields[],
  endpoints: readonly Pick<Endpoint, "service" | "serviceType" | "host" | "method" | "path">[],
): Int32Array {
  const out = new Int32Array(endpoints.length).fill(-1);
  for (let e = 0; e < endpoints.length; e++) {
    const request = requestOf(endpoints[e]);
    for (let r = 0; r < ordered.length; r++) {
      if (ruleMatches(ordered[r], request)) {
        out[e] = r;
        break;
      }
    }
  }
  return out;
}

/** A stable identity for an endpoint across snapshots. */
export function endpointKey(
  endpoint: Pick<Endpoint, "service" | "serviceType" | "host" | "method" | "path">,
): string {
  return `${endpoint.service}|${endpoint.serviceType ?? ""}|${endpoint.host ?? ""}|${endpoint.method.toUpperCase()}|${endpoint.path}`;
}

export function endpointLabel(endpoint: Pick<Endpoint, "service" | "method" | "path">): string {
  return `${endpoint.service} ${endpoint.method.toUpperCase()} ${endpoint.path}`;
}
