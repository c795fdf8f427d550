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
import {
  evaluationOrder,
  firstMatches,
  isUsedBySdks,
  type RequestFields,
  samplingProbability,
} from "../sampling.ts";
import {
  type Exposure,
  type ExposureCaps,
  exposureOf,
  type GroupExposure,
  maxFixedRateWithin,
  withinCaps,
} from "./exposure.ts";
import {
  CATCH_ALL,
  criticalPattern,
  endpointPattern,
  patternKey,
  patternMatches,
  type RulePattern,
  specificity,
} from "./patterns.ts";
import type { TrafficModel } from "./traffic.ts";
import {
  bestFixedRate,
  bestSetting,
  FIXED_RATE_GRID_RATIO,
  type GroupProfile,
  groupCost,
  groupProfile,
  groupValue,
  hourlyProbabilities,
  largestRateWhere,
  type MetricWeights,
  ProfileBuilder,
  probabilitiesFromShares,
  reservoirShares,
  type Setting,
  type SettingCurve,
  settingCurve,
} from "./value.ts";

export type GroupKind = "critical" | "endpoint" | "default";

export interface DesignedGroup {
  kind: GroupKind;
  pattern: RulePattern;
  /** For an endpoint rule: the endpoint it was made for. */
  target?: number;
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
  /** Per endpoint, how much of it the current rules sampled just now (see the incident floor). */
  recentProbability?: Float64Array;
  /** Share of the free rule slots given to the busiest endpoints before any other (default 0). */
  busiestShare?: number;
  /**
   * Work the layouts of one plan share (same model, objective and pool): the route candidates
   * and the candidates' first curves. Without it, each design works them out itself.
   */
  shared?: DesignShare;
}

/** What {@link designRules} keeps for the next layout of the same plan. */
export interface DesignShare {
  routes?: { inPool: Uint8Array; slots: number; routes: RouteCandidate[] };
  firstCurves: Map<string, FirstCurve>;
}

export function newDesignShare(): DesignShare {
  return { firstCurves: new Map() };
}

/** At most this share of the free rule slots (and at least one) goes to endpoints failing right now. */
const INCIDENT_SLOT_SHARE = 0.1;

/** Candidates for a rule of their own, when there are too many endpoints to try them all. */
const CANDIDATES_PER_SLOT = 4;
/** A shared route's pattern that takes other endpoints too is tried up to this many endpoints. */
const MAX_ROUTE_SPILL = 20;
const MAX_EXHAUSTIVE_CANDIDATES = 3000;

export function designRules(input: DesignInput): Design {
  const { model, weights, config, capacity } = input;
  const share = input.shared ?? newDesignShare();
  const warnings: string[] = [];
  const E = model.endpoints.length;
  const maxReservoir = maxUsefulReservoir(input.budgetTraces, model.monthScale, model.windowSeconds);
  const curveOf = (profile: GroupProfile, minFixedRate = 0) =>
    settingCurve(profile, model.monthScale, { minFixedRate, maxReservoir, coarse: true });

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
  if (input.budgetTraces <= 0) {
    warnings.push(
      "this month's budget is spent: the plan samples only what critical minimums and people's rules require",
    );
  } else if (input.budgetTraces - unmanagedCost <= 0) {
    warnings.push("rules the governor does not manage already spend the whole budget");
  }

  // Endpoints held by an unmanaged rule evaluated after the managed band: a managed rule that
  // matched one of them would take its requests away from a person's rule.
  const stealable: number[] = [];
  for (let e = 0; e < E; e++) {
    if (heldBy[e] >= 0 && unmanagedOrdered[heldBy[e]].Priority >= bandStart) stealable.push(e);
  }
  const steals = (pattern: RulePattern) => stealable.some((e) => patternMatches(pattern, model.requests[e]));

  // 2. Critical entries become rules of their own, first in the list.
  const groups: DesignedGroup[] = [];
  const inPool = new Uint8Array(E);
  for (let e = 0; e < E; e++) if (heldBy[e] < 0) inPool[e] = 1;
  // The same pattern twice is one rule at the higher minimum; narrower patterns come first so a
  // broad one never swallows them, and every rule samples at least what any critical entry
  // matching its endpoints asks for.
  const entries = new Map<string, { pattern: RulePattern; minFixedRate: number; index: number }>();
  config.critical.forEach((critical, index) => {
    const pattern = criticalPattern(critical);
    const key = patternKey(pattern);
    const seen = entries.get(key);
    if (seen) seen.minFixedRate = Math.max(seen.minFixedRate, critical.minFixedRate);
    else entries.set(key, { pattern, minFixedRate: critical.minFixedRate, index });
  });
  const ordered = [...entries.values()].sort(
    (a, b) => specificity(b.pattern) - specificity(a.pattern) || a.index - b.index,
  );
  for (const { pattern, minFixedRate } of ordered) {
    if (groups.length >= capacity) {
      warnings.push(`no rule slot left for critical ${describe(pattern)}; raise the rule quota`);
      continue;
    }
    if (steals(pattern)) {
      warnings.push(
        `critical ${describe(pattern)} overlaps a rule the governor does not manage; left to that rule`,
      );
      continue;
    }
    const members: number[] = [];
    let required = minFixedRate;
    for (let e = 0; e < E; e++) {
      if (inPool[e] && patternMatches(pattern, model.requests[e])) {
        members.push(e);
        inPool[e] = 0;
        for (const other of ordered) {
          if (patternMatches(other.pattern, model.requests[e]))
            required = Math.max(required, other.minFixedRate);
        }
      }
    }
    groups.push({
      kind: "critical",
      pattern,
      members,
      minFixedRate: required,
      profile: groupProfile(model, weights, members),
      setting: emptySetting(required),
    });
  }
  for (let e = 0; e < E; e++) {
    if (heldBy[e] < 0) continue;
    for (const [index, critical] of config.critical.entries()) {
      const rule = unmanagedOrdered[heldBy[e]];
      if (
        rule.FixedRate < critical.minFixedRate &&
        patternMatches(criticalPattern(critical), model.requests[e])
      ) {
        warnings.push(
          `critical[${index}] endpoint ${model.endpoints[e].method} ${model.endpoints[e].path} is held by unmanaged rule ${rule.RuleName} at rate ${rule.FixedRate}`,
        );
      }
    }
  }

  const index = new RequestIndex(model.requests);
  // Endpoints failing right now get a rule of their own that samples them at least as much as
  // they were sampled just before: the plan never turns sampling down on an endpoint while it
  // fails (the value model alone could, since many faults are easy to catch at any rate).
  if (input.recentProbability) {
    const failing = [...Array(E).keys()]
      .filter((e) => inPool[e] && model.recent[e].incident)
      .sort((a, b) => model.recent[b].faultRatio - model.recent[a].faultRatio || a - b);
    const free = Math.max(0, capacity - groups.length);
    const slots = Math.min(free, Math.max(1, Math.floor(INCIDENT_SLOT_SHARE * free)));
    for (const e of failing.slice(0, slots)) {
      if (!inPool[e]) continue;
      const pattern = endpointPattern(model.endpoints[e]);
      if (steals(pattern)) continue;
      const members = index.matching(pattern).filter((m) => inPool[m]);
      const floor = Math.min(1, Math.max(...members.map((m) => input.recentProbability?.[m] ?? 0)));
      for (const m of members) inPool[m] = 0;
      groups.push({
        kind: "endpoint",
        pattern,
        target: e,
        members,
        minFixedRate: floor,
        profile: groupProfile(model, weights, members),
        setting: emptySetting(floor),
      });
    }
  }

  // 3. Rules of their own for endpoints, chosen greedily by their net gain at the current
  // price; the pool (what Default catches, newcomers included) shrinks as they are made.
  const pool = new ProfileBuilder(model, weights);
  for (let e = 0; e < E; e++) if (inPool[e]) pool.add(e);
  pool.add(model.newcomer);
  const candidates = new Map<number, Candidate>();
  const candidatesOf = new Map<number, number[]>();
  const addCandidate = (key: number, pattern: RulePattern, members: number[]) => {
    candidates.set(key, { pattern, members, endpoint: key < E ? key : undefined });
    for (const e of members) push(candidatesOf, e, key);
  };
  for (const c of chooseCandidates(model, inPool, capacity - groups.length)) {
    const pattern = endpointPattern(model.endpoints[c]);
    if (steals(pattern)) continue;
    addCandidate(
      c,
      pattern,
      index.matching(pattern).filter((e) => inPool[e]),
    );
  }
  // Routes that several services serve (`GET /health`, say) can share one rule, which spends one
  // slot where exact rules would spend one per service. Keys past E tell them apart.
  if (candidates.size > capacity - groups.length) {
    let key = E;
    for (const route of routeCandidates(model, inPool, index, capacity - groups.length, share)) {
      if (!steals(route.pattern)) addCandidate(key++, route.pattern, [...route.members]);
    }
  }
  // Both layouts of a plan start from the same candidates: their first curves are shared.
  const firstCurves = share.firstCurves;
  const candidateCurve = (candidate: Candidate): SettingCurve => {
    if (!candidate.curve) {
      const key = patternKey(candidate.pattern);
      const first = firstCurves.get(key);
      if (first && sameItems(first.members, candidate.members)) {
        candidate.profile = first.profile;
        candidate.curve = first.curve;
      } else {
        candidate.profile = groupProfile(model, weights, candidate.members);
        candidate.curve = curveOf(candidate.profile);
        if (!first)
          firstCurves.set(key, {
            members: [...candidate.members],
            profile: candidate.profile,
            curve: candidate.curve,
          });
      }
    }
    return candidate.curve;
  };

  const fixedCurves = groups.map((g) => curveOf(g.profile, g.minFixedRate));
  const chosen: DesignedGroup[] = [];
  const chosenCurves: SettingCurve[] = [];
  let poolProfile = pool.build();
  let poolCurve = curveOf(poolProfile);
  const price = () => solvePrice([...fixedCurves, ...chosenCurves, poolCurve], targetTraces);

  let mu = price();
  let slots = capacity - groups.length;
  let busiestSlots = Math.floor((input.busiestShare ?? 0) * slots);
  let step = 0;
  while (slots > 0 && candidates.size > 0) {
    const poolSetting = bestSetting(poolCurve, mu);
    const poolP = hourlyProbabilities(poolProfile, poolSetting.reservoir, poolSetting.fixedRate);
    const poolNet = poolSetting.value - mu * poolSetting.cost;
    let poolRequests = 0;
    for (let h = 0; h < poolProfile.hours; h++) poolRequests += poolProfile.requests[h];
    const gains: { candidate: number; gain: number }[] = [];
    // With a slot for every candidate, each takes its own rule even at no net gain: the gain
    // leaves out the room a busy endpoint makes Default keep for its spikes, which then shrinks.
    const roomForAll = candidates.size <= slots;
    for (const [c, candidate] of candidates) {
      const curve = candidateCurve(candidate);
      const profile = candidate.profile as GroupProfile;
      const own = bestSetting(curve, mu);
      let requests = 0;
      for (let h = 0; h < profile.hours; h++) requests += profile.requests[h];
      let gain: number;
      if (poolSetting.reservoir > 0 && requests > POOL_EFFECT_SHARE * poolRequests) {
        // A busy endpoint leaving the pool frees the pool's reservoir for everyone else.
        const without = poolWithout(poolProfile, profile, poolSetting.reservoir, poolSetting.fixedRate);
        const netWithout =
          groupValue(poolProfile, without) -
          groupValue(profile, without) -
          mu *
            (groupCost(poolProfile, without, model.monthScale) -
              groupCost(profile, without, model.monthScale));
        gain = own.value - mu * own.cost + netWithout - poolNet;
      } else {
        const stay = groupValue(profile, poolP) - mu * groupCost(profile, poolP, model.monthScale);
        gain = own.value - mu * own.cost - stay;
      }
      if (busiestSlots > 0 && !roomForAll) {
        gains.push({ candidate: c, gain: requests });
        continue;
      }
      if (gain > 1e-12 || roomForAll) gains.push({ candidate: c, gain });
    }
    if (gains.length === 0) break;
    gains.sort((a, b) => b.gain - a.gain || a.candidate - b.candidate);
    // One at a time while slots are scarce; in batches when there is room for most candidates.
    const batch = gains.length <= slots ? gains.length : Math.max(1, Math.floor(slots / 6));
    const touched = new Set<number>();
    let made = 0;
    for (const { candidate: c } of gains) {
      if (made >= batch || slots === 0) break;
      const candidate = candidates.get(c) as Candidate;
      if (candidate.members.some((e) => touched.has(e))) continue;
      chosenCurves.push(candidateCurve(candidate));
      chosen.push({
        kind: "endpoint",
        pattern: candidate.pattern,
        target: candidate.endpoint,
        members: candidate.members,
        minFixedRate: 0,
        profile: candidate.profile as GroupProfile,
        setting: emptySetting(0),
      });
      candidates.delete(c);
      made++;
      slots--;
      busiestSlots--;
      for (const e of candidate.members) {
        touched.add(e);
        inPool[e] = 0;
        pool.remove(e);
      }
    }
    // Candidates that shared an endpoint with a new rule now match fewer pool endpoints.
    for (const e of touched) {
      for (const c of candidatesOf.get(e) ?? []) {
        const candidate = candidates.get(c);
        if (!candidate) continue;
        candidate.members = candidate.members.filter((m) => inPool[m]);
        candidate.profile = undefined;
        candidate.curve = undefined;
        const gone = candidate.endpoint !== undefined && !inPool[candidate.endpoint];
        if (candidate.members.length === 0 || gone) candidates.delete(c);
      }
    }
    poolProfile = pool.build();
    // The pool changes little per step: its curve and the price are refreshed every few steps.
    if (++step % POOL_REFRESH_STEPS === 0 || slots === 0) {
      poolCurve = curveOf(poolProfile);
      mu = price();
    }
  }
  poolProfile = pool.build();

  groups.push(...chosen, {
    kind: "default",
    pattern: CATCH_ALL,
    members: poolProfile.members.filter((e) => e !== model.newcomer),
    minFixedRate: 0,
    profile: poolProfile,
    setting: emptySetting(0),
  });
  return { groups, unmanagedOrdered, heldBy, unmanagedCost, targetTraces, warnings };
}

const POOL_REFRESH_STEPS = 3;

/** A candidate with more than this share of the pool's requests changes the pool's own sampling. */
const POOL_EFFECT_SHARE = 0.005;

/** The pool's hourly probabilities once a candidate's traffic has left it. */
function poolWithout(
  pool: GroupProfile,
  leaving: GroupProfile,
  reservoir: number,
  fixedRate: number,
): Float64Array {
  const p = new Float64Array(pool.hours);
  for (let h = 0; h < pool.hours; h++) {
    p[h] = samplingProbability(Math.max(0, pool.lambda[h] - leaving.lambda[h]), reservoir, fixedRate);
  }
  return p;
}

interface Candidate {
  pattern: RulePattern;
  /** The endpoint an exact rule is for; undefined for a route shared by several services. */
  endpoint?: number;
  /** Pool endpoints the candidate's pattern would take. */
  members: number[];
  profile?: GroupProfile;
  curve?: SettingCurve;
}

function emptySetting(fixedRate: number): Setting {
  return { reservoir: 0, fixedRate, value: 0, cost: 0 };
}

export interface SettleResult {
  price: number;
  /** Value of the settled settings on the forecast (the objective). */
  value: number;
  /** The largest exposure of any rule in each stress case. */
  exposure: Exposure;
}

/**
 * Settles every group's settings at one price per trace so that the total cost meets the
 * target, with every rule's exposure to a spike and to a newcomer within the caps. `curves`
 * (one per group, from {@link settingCurve}) can be passed in when settling repeatedly.
 */
export function settleSettings(
  groups: DesignedGroup[],
  targetTraces: number,
  monthScale: number,
  maxReservoir: number,
  warnings: string[],
  exposures?: GroupExposure[],
  caps?: ExposureCaps,
  curves: SettingCurve[] = groups.map((g) =>
    settingCurve(g.profile, monthScale, { minFixedRate: g.minFixedRate, maxReservoir }),
  ),
): SettleResult {
  const allowed = curves.map((curve, i) => {
    if (!exposures || !caps) return curve;
    const within = curve.settings.filter((s) =>
      withinCaps(exposureOf(exposures[i], s.reservoir, s.fixedRate), caps),
    );
    // A rule that cannot meet the caps (a critical minimum, say) keeps its cheapest settings.
    return { ...curve, settings: within.length > 0 ? within : [cheapest(curve)] };
  });
  const floors = groups.reduce((sum, g) => sum + minimumCost(g, monthScale), 0);
  if (floors > targetTraces) {
    warnings.push(
      "the budget is too small for every floor: critical minimum rates alone exceed it; sampling only what they require",
    );
  }
  // Reservoirs come from the curves at the price that meets the target ...
  const coarsePrice = solvePrice(allowed, targetTraces);
  const reservoirs = allowed.map((curve) => bestSetting(curve, coarsePrice).reservoir);
  // ... then, reservoirs fixed, the price is bisected again over the fixed rates alone, which
  // are dense enough to meet the target closely even where a reservoir step would jump over it.
  const sameReservoir = allowed.map((curve, i) => ({
    ...curve,
    settings: curve.settings.filter((s) => s.reservoir === reservoirs[i]),
  }));
  const price = solvePrice(sameReservoir, targetTraces);
  // Finally each fixed rate is refined between its grid neighbours at that price.
  const settings = groups.map((group, i) => {
    const coarse = bestSetting(sameReservoir[i], price);
    const share = reservoirShares(group.profile, coarse.reservoir);
    let maxRate = 1;
    if (exposures && caps) {
      const max = maxFixedRateWithin(exposures[i], coarse.reservoir, caps, group.minFixedRate);
      maxRate = max < 0 ? group.minFixedRate : max;
    }
    const lo = Math.max(group.minFixedRate, coarse.fixedRate / FIXED_RATE_GRID_RATIO);
    const hi = Math.min(maxRate, Math.max(coarse.fixedRate * FIXED_RATE_GRID_RATIO, 1e-6));
    if (hi <= lo) return coarse;
    const refined = bestFixedRate(group.profile, share, coarse.reservoir, price, monthScale, lo, hi);
    return refined.value - price * refined.cost >= coarse.value - price * coarse.cost ? refined : coarse;
  });
  // Refining can overshoot the target a little: scale the refined rates back toward the grid.
  let total = settings.reduce((sum, s) => sum + s.cost, 0);
  if (total > targetTraces) {
    const coarse = groups.map((_, i) => bestSetting(sameReservoir[i], price));
    const coarseTotal = coarse.reduce((sum, s) => sum + s.cost, 0);
    if (coarseTotal <= targetTraces) {
      settings.splice(0, settings.length, ...coarse);
      total = coarseTotal;
    }
  }
  let value = 0;
  const exposure: Exposure = { spike: 0, newcomer: 0 };
  groups.forEach((group, i) => {
    group.setting = settings[i];
    value += group.setting.value;
    if (exposures) {
      const x = exposureOf(exposures[i], group.setting.reservoir, group.setting.fixedRate);
      exposure.spike = Math.max(exposure.spike, x.spike);
      exposure.newcomer = Math.max(exposure.newcomer, x.newcomer);
    }
  });
  return { price, value, exposure };
}

/**
 * Reservoirs are a ladder, so the settings at one price can fall short of the target by a
 * reservoir step. The traces left over go, a share at a time, to the rule whose fixed rate buys
 * the most value per trace, as far as its exposure caps allow: the plan spends what it may.
 */
export function fillLeftover(
  groups: DesignedGroup[],
  settings: Setting[],
  leftover: number,
  monthScale: number,
  exposures: GroupExposure[],
  caps: ExposureCaps,
  fixed: (i: number) => boolean = () => false,
  maxCost: (i: number) => number = () => Number.POSITIVE_INFINITY,
): void {
  const total = settings.reduce((sum, s) => sum + s.cost, 0);
  if (!(leftover > FILL_MIN_SHARE * Math.max(1, total))) return;
  const shares = new Map<number, Float64Array>();
  const shareOf = (i: number) => {
    let share = shares.get(i);
    if (!share) {
      share = reservoirShares(groups[i].profile, settings[i].reservoir);
      shares.set(i, share);
    }
    return share;
  };
  const evaluate = (i: number, fixedRate: number): Setting => {
    const p = probabilitiesFromShares(shareOf(i), fixedRate);
    const { reservoir, exposure } = settings[i];
    const profile = groups[i].profile;
    return {
      reservoir,
      fixedRate,
      value: groupValue(profile, p),
      cost: groupCost(profile, p, monthScale),
      exposure,
    };
  };
  const maxRate = groups.map((group, i) => {
    if (fixed(i)) return settings[i].fixedRate;
    const max = maxFixedRateWithin(exposures[i], settings[i].reservoir, caps, group.minFixedRate);
    return max < 0 ? settings[i].fixedRate : max;
  });
  for (let round = 0; round < FILL_ROUNDS && leftover > FILL_MIN_SHARE * total; round++) {
    // The rule with the most value per extra trace at its current rate.
    let best = -1;
    let bestRatio = 0;
    groups.forEach((_, i) => {
      const s = settings[i];
      if (s.fixedRate >= maxRate[i] - 1e-12 || s.cost <= 0) return;
      const step = Math.min(maxRate[i], Math.max(s.fixedRate * 1.01, s.fixedRate + 1e-6));
      const next = evaluate(i, step);
      const dCost = next.cost - s.cost;
      if (dCost <= 0) return;
      const ratio = (next.value - s.value) / dCost;
      if (ratio > bestRatio) {
        bestRatio = ratio;
        best = i;
      }
    });
    if (best < 0) return;
    const current = settings[best];
    const budget = Math.min(
      round === FILL_ROUNDS - 1 ? leftover : leftover / 2,
      Math.max(0, maxCost(best) - current.cost),
    );
    const rate = largestRateWhere(
      current.fixedRate,
      maxRate[best],
      (f) => evaluate(best, f).cost - current.cost <= budget,
    );
    const chosen = evaluate(best, rate);
    leftover -= chosen.cost - current.cost;
    settings[best] = chosen;
    if (chosen.fixedRate >= maxRate[best] - 1e-12 || chosen.cost >= maxCost(best) * (1 - 1e-9))
      maxRate[best] = chosen.fixedRate;
  }
}

/** Leftovers under this share of the spend are not worth a fill. */
const FILL_MIN_SHARE = 1e-3;
const FILL_ROUNDS = 6;

function cheapest(curve: SettingCurve): Setting {
  return curve.settings.reduce((a, b) => (b.cost < a.cost ? b : a));
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
  // Observed counts, not the smoothed forecast: what failed yesterday is worth trying first.
  return topOfEach(pool, Math.max(50, slots * CANDIDATES_PER_SLOT), [
    (e) => model.totals[e],
    (e) => model.observedFaultHours[e] + (model.recent[e].incident ? 100 : 0),
    (e) => model.observedErrorHours[e],
  ]);
}

/** The `n` items with the highest positive score under each scoring, together. */
function topOfEach<T>(items: readonly T[], n: number, scorings: ((item: T) => number)[]): T[] {
  const picked = new Set<T>();
  for (const score of scorings) {
    const scored = items.map((item) => ({ item, s: score(item) })).filter((x) => x.s > 0);
    scored.sort((a, b) => b.s - a.s);
    for (const { item } of scored.slice(0, n)) picked.add(item);
  }
  return [...picked];
}

/**
 * Routes (method and path) that more than one service serves, as patterns for any service, with
 * the pool endpoints each would take: all of them when there are few, else the busiest, the most
 * faulty and the most erroneous. The pattern may take more than the route (`/orders/*` for
 * `/orders/{id}` also takes every `/orders/{id}/…` of every service): such a pattern is tried only
 * while it takes few endpoints, since a big mix of busy and rare endpoints is rarely worth one
 * rate, and costs planning time. The layouts of one plan start from the same pool, so the
 * answer is kept in their share.
 */
function routeCandidates(
  model: TrafficModel,
  inPool: Uint8Array,
  index: RequestIndex,
  slots: number,
  share: DesignShare,
): RouteCandidate[] {
  const cached = share.routes;
  if (cached && cached.slots === slots && sameItems(cached.inPool, inPool)) return cached.routes;
  const byRoute = new Map<string, { pattern: RulePattern; services: Set<string>; own: number[] }>();
  model.endpoints.forEach((ep, e) => {
    if (!inPool[e]) return;
    const own = endpointPattern(ep);
    const pattern = { ...own, ServiceName: "*" };
    const key = patternKey(pattern);
    const route = byRoute.get(key);
    if (route) {
      route.services.add(own.ServiceName.toLowerCase());
      route.own.push(e);
    } else byRoute.set(key, { pattern, services: new Set([own.ServiceName.toLowerCase()]), own: [e] });
  });
  let served = [...byRoute.values()].filter((r) => r.services.size > 1);
  const n = Math.max(50, slots * CANDIDATES_PER_SLOT);
  if (served.length > n) {
    const sumOf = (of: ArrayLike<number>) => (r: (typeof served)[number]) =>
      r.own.reduce((sum, e) => sum + of[e], 0);
    served = topOfEach(served, n, [
      sumOf(model.totals),
      sumOf(model.observedFaultHours),
      sumOf(model.observedErrorHours),
    ]);
  }
  const routes: RouteCandidate[] = [];
  for (const route of served) {
    const members = index.matching(route.pattern).filter((e) => inPool[e]);
    if (members.length > route.own.length && members.length > MAX_ROUTE_SPILL) continue;
    routes.push({ pattern: route.pattern, members });
  }
  share.routes = { inPool: Uint8Array.from(inPool), slots, routes };
  return routes;
}

interface RouteCandidate {
  pattern: RulePattern;
  members: number[];
}

interface FirstCurve {
  members: readonly number[];
  profile: GroupProfile;
  curve: SettingCurve;
}

function sameItems(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function describe(pattern: RulePattern): string {
  return `${pattern.ServiceName} ${pattern.HTTPMethod} ${pattern.URLPath}`;
}

/**
 * Finds the endpoints a pattern matches, looking only at the same service and method when those
 * are literal, or at the same method and first path segment when those are.
 */
class RequestIndex {
  private readonly byServiceMethod = new Map<string, number[]>();
  private readonly byMethodSegment = new Map<string, number[]>();
  constructor(private readonly requests: RequestFields[]) {
    requests.forEach((r, e) => {
      push(this.byServiceMethod, `${r.service.toLowerCase()} ${r.method.toLowerCase()}`, e);
      push(this.byMethodSegment, `${r.method.toLowerCase()} ${firstSegment(r.urlPath).toLowerCase()}`, e);
    });
  }
  matching(pattern: RulePattern): number[] {
    const literal = (v: string) => !v.includes("*") && !v.includes("?");
    let scope: number[];
    if (literal(pattern.ServiceName) && literal(pattern.HTTPMethod)) {
      scope =
        this.byServiceMethod.get(
          `${pattern.ServiceName.toLowerCase()} ${pattern.HTTPMethod.toLowerCase()}`,
        ) ?? [];
    } else {
      // A pattern's first segment pins the request's when it is literal and ends at a slash or
      // at the pattern's end (`/orders/*`, `/health`), not when a wildcard runs into it.
      const slash = pattern.URLPath.indexOf("/", 1);
      const segment = pattern.URLPath.startsWith("/") ? firstSegment(pattern.URLPath) : "";
      const pinned = segment !== "" && literal(segment) && (slash > 0 || literal(pattern.URLPath));
      scope =
        literal(pattern.HTTPMethod) && pinned
          ? (this.byMethodSegment.get(`${pattern.HTTPMethod.toLowerCase()} ${segment.toLowerCase()}`) ?? [])
          : this.requests.map((_, e) => e);
    }
    return scope.filter((e) => patternMatches(pattern, this.requests[e]));
  }
}

/** The first segment of a path: `orders` for `/orders/42/items`. */
function firstSegment(path: string): string {
  const slash = path.indexOf("/", 1);
  return path.slice(path.startsWith("/") ? 1 : 0, slash > 0 ? slash : undefined);
}

function push<K>(map: Map<K, number[]>, key: K, value: number): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
