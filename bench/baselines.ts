/**
 * The baselines of `scoring.md`, each made from the snapshot and scored on the next day the
 * same way as the governor:
 *
 * - current rules: the snapshot's rules as they are;
 * - uniform at budget: one fixed rate for all traffic, sized from the snapshot to the budget;
 * - Jaeger, 1 trace/s per endpoint: p = min(1, 1/qps), ignoring the budget;
 * - Jaeger fit to budget: p = min(1, t/qps), the per-endpoint target t bisected to the budget;
 * - dynsampler log10 split: Honeycomb dynsampler-go's AvgSampleRate allocation, its goal tuned so
 *   that it spends the budget.
 *
 * The last three come per endpoint (one probability each, no quota) and deployable (an exact
 * rule for each of the K − 1 busiest endpoints, K = quota − unmanaged rules, everything else
 * under Default at the traffic-weighted mean probability, which keeps the spend).
 *
 * Traffic that unmanaged (hand-made) rules take stays with them in every baseline, and what
 * they cost comes off the budget first. Rules the governor manages are left out: a baseline
 * replaces the governor.
 */
import {
  type Config,
  DEFAULT_RULE_NAME,
  DEFAULT_RULE_PRIORITY,
  type Endpoint,
  type SamplingRule,
  type Snapshot,
} from "../shared/domain/formats.ts";
import { splitRules } from "../shared/domain/ownership.ts";
import { endpointKey, isDefaultRule } from "../shared/domain/sampling.ts";
import { samplingRule } from "../shared/domain/sampling-rule.ts";
import {
  endpointOutcome,
  monthlyTracesOf,
  ruleOutcome,
  type SamplingOutcome,
  SECONDS_PER_MONTH,
  scoreOutcome,
  type TrafficWindow,
  type WindowScore,
} from "../shared/domain/scoring.ts";

export type BaselineFamily = "current" | "uniform" | "jaeger-1s" | "jaeger-fit" | "dynsampler";
export type BaselineForm = "deployable" | "per-endpoint";

/** A baseline that is a rule set a user could put in the account. */
export interface RuleBaseline {
  id: string;
  label: string;
  family: BaselineFamily;
  form: "deployable";
  rules: SamplingRule[];
}

/** A baseline with one probability per endpoint, as if there were no rule quota. */
export interface EndpointBaseline {
  id: string;
  label: string;
  family: BaselineFamily;
  form: "per-endpoint";
  /** By `endpointKey`: endpoints the unmanaged rules do not take. */
  probabilities: Map<string, number>;
  /** For endpoints the snapshot did not have: the traffic-weighted mean probability. */
  fallback: number;
  unmanaged: SamplingRule[];
}

export type Baseline = RuleBaseline | EndpointBaseline;

/** Within budget, for a baseline: sized on the snapshot, it may land a little over on the next day. */
export const BASELINE_BUDGET_TOLERANCE = 1.05;

/** The budget left for the traffic unmanaged rules do not take, over the snapshot's window. */
export interface BudgetShare {
  /** Unmanaged rules other than Default, as they are. */
  unmanaged: SamplingRule[];
  /** Traces the unmanaged rules record over the snapshot window. */
  unmanagedTraces: number;
  /** Traces the budget allows over the snapshot window, less the unmanaged rules' traces (≥ 0). */
  availableTraces: number;
  /** Endpoints no unmanaged rule takes, with their request totals over the window. */
  free: { key: string; endpoint: Endpoint; requests: number }[];
  windowSeconds: number;
}

export function budgetShare(snapshot: Snapshot, config: Config): BudgetShare {
  const { unmanaged } = splitRules(snapshot.rules, config);
  const custom = unmanaged.filter((r) => !isDefaultRule(r));
  const periods = snapshot.endpoints[0]?.requests.length ?? 0;
  const windowSeconds = Math.max(1, periods * snapshot.periodSeconds);
  const taken = ruleOutcome(snapshot, custom);
  let unmanagedTraces = 0;
  const free: BudgetShare["free"] = [];
  snapshot.endpoints.forEach((endpoint, e) => {
    let requests = 0;
    if (taken.assignment[e] >= 0) {
      const p = taken.probabilities(e);
      for (let t = 0; t < periods; t++) unmanagedTraces += p[t] * endpoint.requests[t];
      return;
    }
    for (let t = 0; t < periods; t++) requests += endpoint.requests[t];
    free.push({ key: endpointKey(endpoint), endpoint, requests });
  });
  const budgetTraces =
    (monthlyTracesOf(config.budget.monthlyUsd, config) * windowSeconds) / SECONDS_PER_MONTH;
  return {
    unmanaged: custom,
    unmanagedTraces,
    availableTraces: Math.max(0, budgetTraces - unmanagedTraces),
    free,
    windowSeconds,
  };
}

// ---------------------------------------------------------------------------------------------
// Allocations: one probability per free endpoint.

/** One fixed rate for all free traffic that spends the available budget (at most 1). */
export function uniformRate(share: BudgetShare): number {
  const requests = share.free.reduce((sum, f) => sum + f.requests, 0);
  return requests > 0 ? Math.min(1, share.availableTraces / requests) : 1;
}

/** Jaeger's probabilistic floor of one trace a second: p = min(1, t/qps). */
export function jaegerProbabilities(share: BudgetShare, tracesPerSecond: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of share.free) {
    const qps = f.requests / share.windowSeconds;
    out.set(f.key, qps > 0 ? Math.min(1, tracesPerSecond / qps) : 1);
  }
  return out;
}

/** The per-endpoint target t (traces/second) whose min(1, t/qps) spends the available budget. */
export function jaegerTargetForBudget(share: BudgetShare): number {
  const spend = (t: number) =>
    share.free.reduce((sum, f) => sum + Math.min(f.requests, t * share.windowSeconds), 0);
  const maxQps = share.free.reduce((m, f) => Math.max(m, f.requests / share.windowSeconds), 0);
  if (spend(maxQps) <= share.availableTraces) return Math.max(maxQps, 1);
  let low = 0;
  let high = maxQps;
  for (let i = 0; i < 100 && high - low > 1e-12 * maxQps; i++) {
    const mid = (low + high) / 2;
    if (spend(mid) > share.availableTraces) high = mid;
    else low = mid;
  }
  return low;
}

/**
 * dynsampler-go's AvgSampleRate allocation (`calculateSampleRates`): the goal count of events is
 * split across keys in proportion to log10 of their counts; keys are visited in sorted order,
 * a key under its share is kept whole (rate 1) and passes what it did not use on to the keys
 * after it, and the others get the integer sample rate ceil(count / goal). Returns sample
 * rates (keep 1 in N). Keys with no events are left out, as dynsampler never sees them.
 */
export function dynsamplerSampleRates(counts: Map<string, number>, goalCount: number): Map<string, number> {
  const keys = [...counts.keys()].filter((k) => (counts.get(k) ?? 0) > 0).sort();
  const rates = new Map<string, number>();
  let logSum = 0;
  for (const k of keys) logSum += Math.log10(counts.get(k) ?? 1);
  const goalRatio = logSum > 0 ? goalCount / logSum : Number.POSITIVE_INFINITY;
  let extra = 0;
  let remaining = keys.length;
  for (const key of keys) {
    const count = Math.max(1, counts.get(key) ?? 1);
    let goalForKey = Math.max(1, Math.log10(count) * goalRatio);
    if (Number.isNaN(goalForKey)) goalForKey = Number.POSITIVE_INFINITY;
    const extraForKey = extra / remaining;
    goalForKey += extraForKey;
    extra -= extraForKey;
    remaining--;
    if (count <= goalForKey) {
      rates.set(key, 1);
      if (Number.isFinite(goalForKey)) extra += goalForKey - count;
    } else {
      const rate = Math.ceil(count / goalForKey);
      rates.set(key, rate);
      extra += goalForKey - count / rate;
    }
  }
  return rates;
}

/**
 * The dynsampler allocation sized to the budget. With the goal set to the traces the budget
 * allows, integer rates and the share left over by the last keys spend only 80–90% of it; so
 * the goal is raised by bisection until the allocation spends the budget, as a user would tune
 * GoalSampleRate.
 */
export function dynsamplerProbabilities(share: BudgetShare): Map<string, number> {
  const counts = new Map(share.free.map((f) => [f.key, f.requests]));
  const allocate = (goal: number) => {
    const rates = dynsamplerSampleRates(counts, goal);
    const out = new Map<string, number>();
    // A key dynsampler has no rate for (no events) is kept whole, as GetSampleRate does.
    for (const f of share.free) out.set(f.key, 1 / (rates.get(f.key) ?? 1));
    return out;
  };
  const spend = (probabilities: Map<string, number>) =>
    share.free.reduce((sum, f) => sum + f.requests * (probabilities.get(f.key) ?? 1), 0);
  const everything = share.free.reduce((sum, f) => sum + f.requests, 0);
  let best = allocate(share.availableTraces);
  if (spend(best) >= share.availableTraces || everything <= share.availableTraces) return best;
  let low = share.availableTraces;
  let high = everything;
  for (let i = 0; i < 40 && high - low > 1e-6 * everything; i++) {
    const mid = (low + high) / 2;
    const candidate = allocate(mid);
    if (spend(candidate) > share.availableTraces) high = mid;
    else {
      low = mid;
      best = candidate;
    }
  }
  return best;
}

/** Σ p·requests / Σ requests over the given endpoints (1 when they have no traffic). */
export function trafficWeightedMean(items: BudgetShare["free"], probabilities: Map<string, number>): number {
  let requests = 0;
  let sampled = 0;
  for (const f of items) {
    requests += f.requests;
    sampled += f.requests * (probabilities.get(f.key) ?? 1);
  }
  return requests > 0 ? sampled / requests : 1;
}

// ---------------------------------------------------------------------------------------------
// Forms

const FIELD_LIMITS = { ServiceName: 64, ServiceType: 64, Host: 64, HTTPMethod: 10, URLPath: 128 } as const;

function fit(value: string, limit: number): string {
  return value.length <= limit ? value : `${value.slice(0, limit - 1)}*`;
}

/** The rule a user would write for exactly one endpoint: its fields, route parameters as `*`. */
export function exactRulePattern(
  endpoint: Endpoint,
): Pick<SamplingRule, "ServiceName" | "ServiceType" | "Host" | "HTTPMethod" | "URLPath"> {
  return {
    ServiceName: fit(endpoint.service, FIELD_LIMITS.ServiceName),
    ServiceType: fit(endpoint.serviceType ?? "*", FIELD_LIMITS.ServiceType),
    Host: fit(endpoint.host ?? "*", FIELD_LIMITS.Host),
    HTTPMethod: fit(endpoint.method, FIELD_LIMITS.HTTPMethod),
    URLPath: fit(endpoint.path.replace(/\{[^}/]*\}/g, "*").replace(/\*+/g, "*"), FIELD_LIMITS.URLPath),
  };
}

function rule(
  name: string,
  priority: number,
  fixedRate: number,
  fields: Partial<SamplingRule>,
): SamplingRule {
  return samplingRule({
    RuleName: name,
    Priority: priority,
    FixedRate: fixedRate,
    ReservoirSize: 0,
    ...fields,
  });
}

function defaultAt(fixedRate: number): SamplingRule {
  return rule(DEFAULT_RULE_NAME, DEFAULT_RULE_PRIORITY, fixedRate, {});
}

/** How specific a path pattern is: more segments first, then more literal characters. */
function specificity(pattern: string): [number, number] {
  return [pattern.split("/").length, pattern.replace(/[*?]/g, "").length];
}

/**
 * The deployable form: exact rules (fixed rate = the endpoint's probability, no reservoir) for
 * the K − 1 busiest free endpoints, after every unmanaged rule and ordered most specific first
 * (so the pattern of `/orders/{id}` does not shadow `/orders/{id}/items`), and Default at the
 * traffic-weighted mean probability of the rest.
 */
export function deployableRules(
  share: BudgetShare,
  probabilities: Map<string, number>,
  config: Pick<Config, "ruleQuota">,
  tag: string,
): SamplingRule[] {
  const k = config.ruleQuota - share.unmanaged.length;
  const exactCount = Math.max(0, Math.min(share.free.length, k - 1));
  const busiest = [...share.free].sort((a, b) => b.requests - a.requests || (a.key < b.key ? -1 : 1));
  const exact = busiest.slice(0, exactCount);
  const rest = busiest.slice(exactCount);
  const fallback = trafficWeightedMean(rest.length > 0 ? rest : share.free, probabilities);

  const patterns = exact.map((f) => ({ f, pattern: exactRulePattern(f.endpoint) }));
  patterns.sort((a, b) => {
    const [sa, la] = specificity(a.pattern.URLPath);
    const [sb, lb] = specificity(b.pattern.URLPath);
    return sb - sa || lb - la || b.f.requests - a.f.requests;
  });
  const firstPriority = Math.min(9999, share.unmanaged.reduce((m, r) => Math.max(m, r.Priority), 0) + 1);
  const width = String(Math.max(1, patterns.length)).length;
  const exactRules = patterns.map(({ f, pattern }, i) =>
    rule(
      `bl-${tag}-${String(i + 1).padStart(width, "0")}`.slice(0, 32),
      Math.min(9999, firstPriority + i),
      probabilities.get(f.key) ?? fallback,
      pattern,
    ),
  );
  return [...share.unmanaged, ...exactRules, defaultAt(fallback)];
}

function perEndpoint(
  id: string,
  label: string,
  family: BaselineFamily,
  share: BudgetShare,
  probabilities: Map<string, number>,
): EndpointBaseline {
  return {
    id,
    label,
    family,
    form: "per-endpoint",
    probabilities,
    fallback: trafficWeightedMean(share.free, probabilities),
    unmanaged: share.unmanaged,
  };
}

/** Every baseline of `scoring.md` for a snapshot and config (the quota sizes the deployable forms). */
export function buildBaselines(snapshot: Snapshot, config: Config): Baseline[] {
  const share = budgetShare(snapshot, config);
  const uniform = uniformRate(share);
  const allocations: {
    family: BaselineFamily;
    tag: string;
    label: string;
    probabilities: Map<string, number>;
  }[] = [
    { family: "jaeger-1s", tag: "j1s", label: "Jaeger 1/s", probabilities: jaegerProbabilities(share, 1) },
    {
      family: "jaeger-fit",
      tag: "jfit",
      label: "Jaeger fit",
      probabilities: jaegerProbabilities(share, jaegerTargetForBudget(share)),
    },
    {
      family: "dynsampler",
      tag: "dyn",
      label: "dynsampler log10",
      probabilities: dynsamplerProbabilities(share),
    },
  ];
  const baselines: Baseline[] = [
    { id: "current", label: "current rules", family: "current", form: "deployable", rules: snapshot.rules },
    {
      id: "uniform",
      label: "uniform at budget",
      family: "uniform",
      form: "deployable",
      rules: [...share.unmanaged, defaultAt(uniform)],
    },
  ];
  for (const a of allocations) {
    baselines.push(
      perEndpoint(`${a.family}/per-endpoint`, `${a.label} per endpoint`, a.family, share, a.probabilities),
    );
    baselines.push({
      id: `${a.family}/deployable`,
      label: `${a.label} deployable`,
      family: a.family,
      form: "deployable",
      rules: deployableRules(share, a.probabilities, config, a.tag),
    });
  }
  return baselines;
}

/** What a baseline does to a window of traffic. */
export function baselineOutcome(baseline: Baseline, window: TrafficWindow): SamplingOutcome {
  if (baseline.form === "deployable") return ruleOutcome(window, baseline.rules);
  return endpointOutcome(
    window,
    baseline.unmanaged,
    (endpoint) => baseline.probabilities.get(endpointKey(endpoint)),
    baseline.fallback,
  );
}

export function scoreBaseline(
  baseline: Baseline,
  window: TrafficWindow,
  config: Pick<Config, "budget" | "critical">,
): WindowScore {
  return scoreOutcome(window, baselineOutcome(baseline, window), config);
}

/** Rules a baseline puts in the account, or undefined for a per-endpoint allocation. */
export function rulesUsed(baseline: Baseline): number | undefined {
  return baseline.form === "deployable" ? baseline.rules.length : undefined;
}
