/**
 * Designing the rule set: which endpoints get a rule of their own, what everything else falls
 * to, and each rule's reservoir and fixed rate, within the budget and the rule quota.
 *
 * The plan is a decision list: critical rules first, then one rule per endpoint worth
 * separating (the busiest, to stop their traffic diluting everyone else's sampling; failing and
 * rare ones, to sample them more), then Default for the rest and for endpoints that appear
 * later. Settings come from one price per trace (a Lagrange multiplier): every rule takes the
 * settings with the most value net of cost at that price, and the price is bisected so the
 * total meets the budget target. Endpoints are separated greedily by the net gain of giving
 * them their own rule at that price.
 */
import type { Config, SamplingRule } from "../formats.ts";
import { evaluationOrder, firstMatches, isUsedBySdks, type RequestFields } from "../sampling.ts";
import { CATCH_ALL, criticalPattern, endpointPattern, patternMatches, type RulePattern } from "./patterns.ts";
import type { TrafficModel } from "./traffic.ts";
import {
  bestSetting,
  type GroupProfile,
  groupCost,
  groupProfile,
  groupValue,
  hourlyProbabilities,
  type MetricWeights,
  refineFixedRate,
  type Setting,
  type SettingCurve,
  settingCurve,
} from "./value.ts";

export type GroupKind = "critical" | "endpoint" | "default";

export interface DesignedGroup {
  kind: GroupKind;
  pattern: RulePattern;
  /** For an endpoint rule: the endpoint it was made for. For a critical rule: its config entry. */
  target?: number;
  criticalIndex?: number;
  minFixedRate: number;
  members: number[];
  profile: GroupProfile;
  setting: Setting;
}

export interface Design {
  groups: DesignedGroup[];
  /** Endpoints an unmanaged rule takes, per unmanaged rule (in evaluation order). */
  unmanagedOrdered: SamplingRule[];
  heldBy: Int32Array;
  /** Forecast traces per month of the unmanaged rules. */
  unmanagedCost: number;
  /** Traces per month the managed rules and Default aim at. */
  targetTraces: number;
  price: number;
  warnings: string[];
}

export interface DesignInput {
  model: TrafficModel;
  weights: MetricWeights;
  config: Config;
  unmanaged: SamplingRule[];
  /** How many managed rules may exist. */
  capacity: number;
  /** Traces per month the plan may spend in all (after headroom and pacing). */
  budgetTraces: number;
}

/** Candidates for a rule of their own, when there are too many endpoints to try them all. */
const CANDIDATES_PER_SLOT = 4;
const MAX_EXHAUSTIVE_CANDIDATES = 3000;

export function designRules(input: DesignInput): Design {
  const { model, weights, config, capacity } = input;
  const warnings: string[] = [];
  const E = model.endpoints.length;

  // 1. Traffic that unmanaged rules take stays with them; their cost comes off the budget first.
  const unmanagedOrdered = evaluationOrder(input.unmanaged.filter(isUsedBySdks));
  const heldBy = firstMatches(unmanagedOrdered, model.endpoints);
  const bandStart = config.rules.priorityBand.min;
  let unmanagedCost = 0;
  unmanagedOrdered.forEach((rule, r) => {
    const members: number[] = [];
    for (let e = 0; e < E; e++) if (heldBy[e] === r) members.push(e);
    if (members.length === 0) return;
    const profile = groupProfile(model, weights, members);
    unmanagedCost += groupCost(
      profile,
      hourlyProbabilities(profile, rule.ReservoirSize, rule.FixedRate),
      model.monthScale,
    );
  });
  const targetTraces = Math.max(0, input.budgetTraces - unmanagedCost);
  if (input.budgetTraces - unmanagedCost <= 0) {
    warnings.push("rules the governor does not manage already spend the whole budget");
  }

  /** Would a managed rule with this pattern take requests an unmanaged rule after our band holds? */
  const steals = (pattern: RulePattern) => {
    for (let e = 0; e < E; e++) {
      const r = heldBy[e];
      if (r >= 0 && unmanagedOrdered[r].Priority >= bandStart && patternMatches(pattern, model.requests[e])) {
        return true;
      }
    }
    return false;
  };

  const newGroupFor = (members: number[]) => groupProfile(model, weights, members);
  const maxReservoir = maxUsefulReservoir(input.budgetTraces, model.monthScale, model.windowSeconds);
  const free = new Uint8Array(E);
  for (let e = 0; e < E; e++) if (heldBy[e] < 0) free[e] = 1;

  // 2. Critical entries become rules of their own, first in the list.
  const groups: DesignedGroup[] = [];
  const captured = new Uint8Array(E);
  config.critical.forEach((critical, index) => {
    const pattern = criticalPattern(critical);
    if (groups.length >= capacity) {
      warnings.push(`no rule slot left for critical ${describe(pattern)}; raise the rule quota`);
      return;
    }
    if (steals(pattern)) {
      warnings.push(
        `critical ${describe(pattern)} overlaps a rule the governor does not manage; left to that rule`,
      );
      return;
    }
    const members: number[] = [];
    for (let e = 0; e < E; e++) {
      if (free[e] && !captured[e] && patternMatches(pattern, model.requests[e])) {
        members.push(e);
        captured[e] = 1;
      }
    }
    groups.push(newGroup("critical", pattern, members, critical.minFixedRate, { criticalIndex: index }));
  });
  for (let e = 0; e < E; e++) {
    if (heldBy[e] >= 0) {
      for (const [index, critical] of config.critical.entries()) {
        if (patternMatches(criticalPattern(critical), model.requests[e])) {
          const rule = unmanagedOrdered[heldBy[e]];
          if (rule.FixedRate < critical.minFixedRate) {
            warnings.push(
              `critical[${index}] endpoint ${model.endpoints[e].method} ${model.endpoints[e].path} is held by unmanaged rule ${rule.RuleName} at rate ${rule.FixedRate}`,
            );
          }
        }
      }
    }
  }

  // 3. The pool: what Default catches.
  const inPool = new Uint8Array(E);
  for (let e = 0; e < E; e++) if (free[e] && !captured[e]) inPool[e] = 1;

  const curveCache = new Map<string, SettingCurve>();
  const curveOf = (group: Pick<DesignedGroup, "profile" | "minFixedRate">, cacheKey?: string) => {
    if (cacheKey) {
      const cached = curveCache.get(cacheKey);
      if (cached) return cached;
    }
    const curve = settingCurve(group.profile, model.monthScale, {
      minFixedRate: group.minFixedRate,
      maxReservoir,
    });
    if (cacheKey) curveCache.set(cacheKey, curve);
    return curve;
  };

  function newGroup(
    kind: GroupKind,
    pattern: RulePattern,
    members: number[],
    minFixedRate: number,
    extra: Partial<DesignedGroup> = {},
  ): DesignedGroup {
    return {
      kind,
      pattern,
      members,
      minFixedRate,
      profile: newGroupFor(members),
      setting: { reservoir: 0, fixedRate: minFixedRate, value: 0, cost: 0 },
      ...extra,
    };
  }

  const poolMembers = () => {
    const members: number[] = [];
    for (let e = 0; e < E; e++) if (inPool[e]) members.push(e);
    return members;
  };

  // 4. Endpoint rules, chosen greedily.
  const slots = capacity - groups.length;
  const candidates = chooseCandidates(model, inPool, slots);
  const candidatePatterns = new Map<number, RulePattern>();
  for (const c of candidates) {
    const pattern = endpointPattern(model.endpoints[c]);
    if (!steals(pattern)) candidatePatterns.set(c, pattern);
  }
  const index = new RequestIndex(model.requests);

  let pool = newGroup("default", CATCH_ALL, poolMembers(), 0);
  const priceOf = (all: DesignedGroup[]) =>
    solvePrice(
      all.map((g) => curveOf(g)),
      targetTraces,
    );
  let price = priceOf([...groups, pool]);
  const endpointGroups: DesignedGroup[] = [];

  for (let step = 0; step < slots && candidatePatterns.size > 0; step++) {
    const poolSetting = bestSetting(curveOf(pool), price);
    const poolP = hourlyProbabilities(pool.profile, poolSetting.reservoir, poolSetting.fixedRate);
    let best: { gain: number; candidate: number; members: number[] } | undefined;
    for (const [candidate, pattern] of candidatePatterns) {
      if (!inPool[candidate]) {
        candidatePatterns.delete(candidate);
        continue;
      }
      const members = index.matching(pattern).filter((e) => inPool[e]);
      const profile = newGroupFor(members);
      const own = bestSetting(curveOf({ profile, minFixedRate: 0 }, `${candidate}:${members.length}`), price);
      const stay = groupValue(profile, poolP) - price * groupCost(profile, poolP, model.monthScale);
      const gain = own.value - price * own.cost - stay;
      if (!best || gain > best.gain) best = { gain, candidate, members };
    }
    if (!best || best.gain <= 0) break;
    const group = newGroup(
      "endpoint",
      candidatePatterns.get(best.candidate) as RulePattern,
      best.members,
      0,
      {
        target: best.candidate,
      },
    );
    endpointGroups.push(group);
    candidatePatterns.delete(best.candidate);
    for (const e of best.members) inPool[e] = 0;
    pool = newGroup("default", CATCH_ALL, poolMembers(), 0);
    if (step % 3 === 2) price = priceOf([...groups, ...endpointGroups, pool]);
  }
  groups.push(...endpointGroups, pool);
  return {
    groups,
    unmanagedOrdered,
    heldBy,
    unmanagedCost,
    targetTraces,
    price,
    warnings,
  };
}

/**
 * Settles every group's settings at one price per trace so that the total cost meets the
 * target, then refines each fixed rate at that price.
 */
export function settleSettings(
  groups: DesignedGroup[],
  targetTraces: number,
  monthScale: number,
  maxReservoir: number,
  warnings: string[],
): number {
  const curves = groups.map((g) =>
    settingCurve(g.profile, monthScale, { minFixedRate: g.minFixedRate, maxReservoir }),
  );
  const floors = groups.reduce((sum, g) => sum + minimumCost(g, monthScale), 0);
  if (floors > targetTraces) {
    warnings.push(
      "the budget is too small for every floor: critical minimum rates alone exceed it; sampling only what they require",
    );
  }
  const settleAt = (price: number) => {
    let total = 0;
    const settings = groups.map((group, i) => {
      const setting = refineFixedRate(
        group.profile,
        bestSetting(curves[i], price),
        price,
        monthScale,
        group.minFixedRate,
      );
      total += setting.cost;
      return setting;
    });
    return { settings, total };
  };
  let price = solvePrice(curves, targetTraces);
  let settled = settleAt(price);
  // Refining moves each rate to its best at the same price, which can overshoot the target a
  // little: raise the price until the refined settings fit.
  if (settled.total > targetTraces && price > 0) {
    let lo = Math.log10(price);
    let hi = lo + 2;
    let fit = settleAt(10 ** hi);
    for (let i = 0; i < 20 && fit.total > targetTraces && hi < 6; i++) {
      hi += 2;
      fit = settleAt(10 ** hi);
    }
    for (let i = 0; i < 24; i++) {
      const mid = (lo + hi) / 2;
      const attempt = settleAt(10 ** mid);
      if (attempt.total > targetTraces) lo = mid;
      else {
        hi = mid;
        fit = attempt;
      }
    }
    price = 10 ** hi;
    settled = fit;
  }
  groups.forEach((group, i) => {
    group.setting = settled.settings[i];
  });
  return price;
}

/**
 * No rule needs a reservoir larger than the whole budget's traces per second: beyond that the
 * reservoir alone would spend everything whenever it fills.
 */
export function maxUsefulReservoir(budgetTraces: number, monthScale: number, windowSeconds: number): number {
  const perSecond = budgetTraces / (monthScale * windowSeconds);
  return Math.max(1, Math.ceil(perSecond) + 1);
}

function minimumCost(group: DesignedGroup, monthScale: number): number {
  const p = hourlyProbabilities(group.profile, 0, group.minFixedRate);
  return groupCost(group.profile, p, monthScale);
}

/** Bisects the price per trace so that the groups' best settings cost at most the target. */
export function solvePrice(curves: SettingCurve[], targetTraces: number): number {
  const costAt = (price: number) => curves.reduce((sum, c) => sum + bestSetting(c, price).cost, 0);
  if (costAt(0) <= targetTraces) return 0;
  let lo = -30;
  let hi = 3;
  if (costAt(10 ** hi) > targetTraces) return 10 ** hi;
  for (let i = 0; i < 50; i++) {
    const mid = (lo + hi) / 2;
    if (costAt(10 ** mid) > targetTraces) lo = mid;
    else hi = mid;
  }
  return 10 ** hi;
}

/** Which endpoints to try as rules of their own. */
function chooseCandidates(model: TrafficModel, inPool: Uint8Array, slots: number): number[] {
  const E = model.endpoints.length;
  const pool: number[] = [];
  for (let e = 0; e < E; e++) if (inPool[e]) pool.push(e);
  if (pool.length <= MAX_EXHAUSTIVE_CANDIDATES || slots * CANDIDATES_PER_SLOT >= pool.length) return pool;
  const n = Math.max(50, slots * CANDIDATES_PER_SLOT);
  const H = model.hours;
  const faultHours = new Float64Array(E);
  const errorHours = new Float64Array(E);
  for (const e of pool) {
    for (let h = 0; h < H; h++) {
      if (model.hourlyFaults[e * H + h] > 0) faultHours[e]++;
      if (model.hourlyErrors[e * H + h] > 0) errorHours[e]++;
    }
  }
  const picked = new Set<number>();
  const top = (score: (e: number) => number) => {
    const sorted = pool.filter((e) => score(e) > 0).sort((a, b) => score(b) - score(a));
    for (const e of sorted.slice(0, n)) picked.add(e);
  };
  top((e) => model.totals[e]);
  top((e) => faultHours[e] + (model.recent[e].incident ? 100 : 0));
  top((e) => errorHours[e]);
  return [...picked];
}

function describe(pattern: RulePattern): string {
  return `${pattern.ServiceName} ${pattern.HTTPMethod} ${pattern.URLPath}`;
}

/** Finds the endpoints a pattern matches, looking only at the same service and method when those are literal. */
class RequestIndex {
  private readonly byServiceMethod = new Map<string, number[]>();
  constructor(private readonly requests: RequestFields[]) {
    requests.forEach((r, e) => {
      const key = `${r.service.toLowerCase()} ${r.method.toLowerCase()}`;
      const list = this.byServiceMethod.get(key);
      if (list) list.push(e);
      else this.byServiceMethod.set(key, [e]);
    });
  }
  matching(pattern: RulePattern): number[] {
    const literal = (v: string) => !v.includes("*") && !v.includes("?");
    const scope =
      literal(pattern.ServiceName) && literal(pattern.HTTPMethod)
        ? (this.byServiceMethod.get(
            `${pattern.ServiceName.toLowerCase()} ${pattern.HTTPMethod.toLowerCase()}`,
          ) ?? [])
        : this.requests.map((_, e) => e);
    return scope.filter((e) => patternMatches(pattern, this.requests[e]));
  }
}
