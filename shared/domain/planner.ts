/**
 * The rules engine: a pure function of (snapshot, config) → plan. The snapshot's current
 * rules and month-to-date count are the state it starts from.
 */
import { createHash } from "node:crypto";
import {
  type Action,
  type Config,
  DEFAULT_RULE_NAME,
  DEFAULT_RULE_PRIORITY,
  PLAN_FORMAT,
  type SamplingRule,
  type Snapshot,
} from "./formats.ts";
import { managedRuleCapacity, splitRules } from "./ownership.ts";
import type {
  BudgetAnalysis,
  EndpointProjection,
  Plan,
  PlannedRule,
  PlanProjection,
  QuotaWhatIf,
  RuleReason,
} from "./plan.ts";
import {
  type Design,
  type DesignedGroup,
  type DesignShare,
  designRules,
  fillLeftover,
  maxUsefulReservoir,
  newDesignShare,
  settleSettings,
} from "./planner/design.ts";
import {
  type ExposureCaps,
  exposureOf,
  type GroupExposure,
  groupExposure,
  rawExposure,
} from "./planner/exposure.ts";
import { ruleNameFor, shadowFreeOrder } from "./planner/patterns.ts";
import { applyStability, releaseCuts, setSettings } from "./planner/stability.ts";
import { buildTrafficModel, type TrafficModel } from "./planner/traffic.ts";
import {
  groupCost,
  groupProfile,
  hourlyProbabilities,
  type MetricWeights,
  metricWeights,
  type Setting,
  type SettingCurve,
  settingCurve,
} from "./planner/value.ts";
import { endpointKey, endpointLabel, evaluationOrder, expectedTracesPerSecond } from "./sampling.ts";
import { defaultRule } from "./sampling-rule.ts";
import {
  monthlyTracesOf,
  monthlyUsdOf,
  periodsPerHour,
  ruleLoad,
  ruleOutcome,
  scoreOutcome,
  type WindowScore,
} from "./scoring.ts";

export interface PlanOptions {
  /** Also project the plan at these raised rule quotas (what the quota costs). */
  quotaWhatIf?: number[];
}

/** Plans the account's sampling rules for a snapshot under a config. */
export function planSampling(snapshot: Snapshot, config: Config, options: PlanOptions = {}): Plan {
  const model = buildTrafficModel(snapshot, { recentSeconds: config.stability.recentSeconds });
  const weights = metricWeights(model, config.objective);
  const { managed: currentManaged, unmanaged, defaultRule } = splitRules(snapshot.rules, config);
  const budget = budgetAnalysis(snapshot, config);
  // What the month can afford; the headroom comes off inside buildRules.
  const budgetTraces = monthlyTracesOf(budget.targetUsd + budget.headroomUsd, config);

  const capacity = managedRuleCapacity(unmanaged.length, config);
  const beforeOutcome = ruleOutcome(snapshot, snapshot.rules);
  const built = buildRules(snapshot, config, model, weights, unmanaged, capacity, budgetTraces, {
    previous: new Map(currentManaged.map((r) => [r.RuleName, r])),
    previousDefault: defaultRule,
    hasPreviousPlan: currentManaged.length > 0,
    recentProbability: recentProbabilities(snapshot, beforeOutcome, config.stability.recentSeconds),
  });
  budget.unmanagedUsd = monthlyUsdOf(built.unmanagedCost, config);
  budget.exposureUsd = monthlyUsdOf(built.exposureTraces, config);

  const projection = projectionOf(built.score);
  const projectionBefore = projectionOf(scoreOutcome(snapshot, beforeOutcome, config));

  const whatIf: QuotaWhatIf[] = [];
  for (const quota of options.quotaWhatIf ?? []) {
    if (quota <= config.ruleQuota) continue;
    const raised = { ...config, ruleQuota: quota };
    const raisedCapacity = managedRuleCapacity(unmanaged.length, raised);
    const alt = buildRules(snapshot, raised, model, weights, unmanaged, raisedCapacity, budgetTraces, {
      previous: new Map(),
      previousDefault: defaultRule,
      hasPreviousPlan: false,
    });
    whatIf.push({ ruleQuota: quota, managedCapacity: raisedCapacity, projection: projectionOf(alt.score) });
  }

  const actions = diffRules(snapshot.rules, built.rules, built.details, config);
  const baseFingerprint = ruleFingerprint(snapshot.rules);
  const planId = createHash("sha256")
    .update(baseFingerprint)
    .update(canonicalRules(built.rules))
    .digest("hex")
    .slice(0, 16);

  const warnings = [...built.warnings];
  for (const c of built.score.critical) {
    if (!c.met) {
      warnings.push(
        `critical ${c.critical.method} ${c.critical.path} projected at ${(c.rate * 100).toFixed(1)}% (minimum ${(c.critical.minFixedRate * 100).toFixed(1)}%)${c.worstEndpoint ? ` on ${c.worstEndpoint}` : ""}`,
      );
    }
  }
  if (projection.monthlyUsd > config.budget.monthlyUsd * 1.0000001) {
    warnings.push(
      "projected spend is over the budget: the critical floors or unmanaged rules need more than it allows",
    );
  }

  return {
    format: PLAN_FORMAT,
    planId,
    baseFingerprint,
    createdAt: snapshot.capturedAt,
    region: snapshot.region,
    rules: built.rules,
    actions,
    projection,
    projectionBefore,
    ruleDetails: built.details,
    endpoints: endpointProjections(snapshot, model, built.outcome, beforeOutcome),
    quota: {
      ruleQuota: config.ruleQuota,
      unmanagedRules: unmanaged.length,
      reserve: config.rules.reserve,
      managedCapacity: capacity,
      managedUsed: built.details.filter((d) => d.ownership === "managed").length,
      whatIf,
    },
    budget,
    warnings,
  };
}

// ---------------------------------------------------------------------------------------------

interface PreviousState {
  previous: Map<string, SamplingRule>;
  previousDefault?: SamplingRule;
  hasPreviousPlan: boolean;
  /** Per endpoint, the share of its requests sampled over the recent periods under the current rules. */
  recentProbability?: Float64Array;
}

/** Request-weighted sampling probability of every endpoint over the last `recentSeconds`. */
function recentProbabilities(
  snapshot: Snapshot,
  outcome: ReturnType<typeof ruleOutcome>,
  recentSeconds: number,
): Float64Array {
  const periods = snapshot.endpoints[0]?.requests.length ?? 0;
  const from = Math.max(0, periods - Math.max(1, Math.round(recentSeconds / snapshot.periodSeconds)));
  return Float64Array.from(snapshot.endpoints, (ep, e) => {
    const p = outcome.probabilities(e);
    let sampled = 0;
    let requests = 0;
    for (let t = from; t < periods; t++) {
      sampled += p[t] * ep.requests[t];
      requests += ep.requests[t];
    }
    return requests > 0 ? sampled / requests : (p[periods - 1] ?? 0);
  });
}

interface BuiltRules {
  rules: SamplingRule[];
  details: PlannedRule[];
  score: WindowScore;
  outcome: ReturnType<typeof ruleOutcome>;
  /** Forecast traces per month of the unmanaged rules. */
  unmanagedCost: number;
  /** Traces per month kept free for a spike and a new endpoint under the chosen settings. */
  exposureTraces: number;
  warnings: string[];
}

interface NamedGroup {
  group: DesignedGroup;
  name: string;
  priority: number;
  desired: { reservoir: number; fixedRate: number };
}

function buildRules(
  snapshot: Snapshot,
  config: Config,
  model: TrafficModel,
  weights: MetricWeights,
  unmanaged: SamplingRule[],
  capacity: number,
  budgetTraces: number,
  state: PreviousState,
): BuiltRules {
  // What the plan may spend: the snapshot's own traffic, plus the exposure to a spike and to
  // a new endpoint kept free on top, within the budget less the safety margin.
  const goal = budgetTraces * (1 - config.budget.headroom);
  // Two ways to spend the rule slots: by each endpoint's own net gain (rare and failing endpoints
  // first), or the busiest endpoints first (which lets Default sample everyone else more). The
  // layout worth more at its best exposure cap wins; one that keeps more of the rules in force
  // wins unless the other is worth clearly more, so runs do not swap rule sets back and forth.
  // With a slot for every endpoint both ways give the same rules.
  const orders = capacity >= model.endpoints.length ? [0] : BUSIEST_SHARES;
  const kept = (l: LaidOut) => l.layout.live.filter((n) => state.previous.has(n.name)).length;
  let chosen: LaidOut | undefined;
  const shared = newDesignShare();
  for (const busiestShare of orders) {
    const candidate = layoutWithCaps(
      { config, model, weights, unmanaged, capacity, budgetTraces, state, shared },
      goal,
      busiestShare,
    );
    if (!chosen) chosen = candidate;
    else if (kept(candidate) === kept(chosen)) {
      if (candidate.value > chosen.value) chosen = candidate;
    } else {
      const [more, fewer] = kept(candidate) > kept(chosen) ? [candidate, chosen] : [chosen, candidate];
      chosen = fewer.value > more.value * (1 + LAYOUT_SWITCH_GAIN) ? fewer : more;
    }
  }
  const { design, layout, caps } = chosen as LaidOut;

  let managedTarget = Math.max(0, goal - design.unmanagedCost - caps.spike - caps.newcomer);
  let best: SettledRules | undefined;
  let last: SettledRules | undefined;
  const hardLimit = monthlyTracesOf(config.budget.monthlyUsd, config);
  for (let attempt = 0; attempt < 10; attempt++) {
    const settled = settleLayout(config, model, layout, design, managedTarget, budgetTraces, state, caps);
    last = settled;
    const spent = settled.spentTraces + settled.exposureTraces;
    if (spent <= goal * 1.0001 && settled.spentTraces <= hardLimit) {
      if (!best || settled.spentTraces > best.spentTraces) best = settled;
      if (spent >= goal * 0.997) break;
    }
    const managedSpent = Math.max(1, settled.spentTraces - settled.unmanagedTraces);
    const room = goal - settled.exposureTraces - settled.unmanagedTraces;
    const ratio = Math.max(0.3, Math.min(1.5, room / managedSpent));
    managedTarget *= attempt < 2 ? ratio : ratio ** 0.9;
  }
  return finishRules(snapshot, config, model, layout, design, best ?? (last as SettledRules), state);
}

/** Rule slots given to the busiest endpoints first: none (by net gain), then all. */
const BUSIEST_SHARES = [0, 1];
/** How much more a layout must be worth to replace one that keeps more of the rules in force. */
const LAYOUT_SWITCH_GAIN = 0.01;

interface LaidOut {
  design: Design;
  layout: Layout;
  caps: ExposureCaps;
  /** What the settled plan is worth at the caps (the planner's objective). */
  value: number;
}

/** What every layout of one plan is made from. */
interface LayoutInput {
  config: Config;
  model: TrafficModel;
  weights: MetricWeights;
  unmanaged: SamplingRule[];
  capacity: number;
  budgetTraces: number;
  state: PreviousState;
  /** What the layouts of this plan share (see DesignShare). */
  shared: DesignShare;
}

/** Designs the rules, lays them out, and picks the exposure cap whose settled plan is worth most. */
function layoutWithCaps(input: LayoutInput, goal: number, busiestShare: number): LaidOut {
  const { config, model, weights, unmanaged, capacity, budgetTraces, state, shared } = input;
  const design = designRules({
    model,
    weights,
    config,
    unmanaged,
    capacity,
    budgetTraces: goal * 0.95,
    recentProbability: state.recentProbability,
    busiestShare,
    shared,
  });
  const layout = layoutRules(design, model, weights, config, unmanaged, state, budgetTraces);
  const maxReservoir = maxUsefulReservoir(budgetTraces, model.monthScale, model.windowSeconds);
  keepBudgetOverFloors(layout, model, goal - design.unmanagedCost, maxReservoir, design.warnings);

  // How much exposure to allow: a tighter cap keeps more budget for sampling but forbids
  // high fixed rates on busy or catch-all rules. Pick the cap whose plan is worth most.
  let caps: ExposureCaps | undefined;
  let bestValue = Number.NEGATIVE_INFINITY;
  for (const share of EXPOSURE_CAP_STEPS) {
    const candidate = {
      spike: share * budgetTraces,
      newcomer: share * budgetTraces,
    };
    const target = goal - design.unmanagedCost - candidate.spike - candidate.newcomer;
    if (target <= 0) continue;
    const settled = settleSettings(
      layout.settled.map((n) => n.group),
      target,
      model.monthScale,
      maxReservoir,
      [],
      layout.exposures,
      candidate,
      layout.curves,
    );
    if (settled.value > bestValue) {
      bestValue = settled.value;
      caps = candidate;
    }
  }
  return { design, layout, caps: caps ?? { spike: 0, newcomer: 0 }, value: bestValue };
}

/**
 * The budget is a hard limit: when the critical minimums alone cost more than it allows, they
 * are scaled down together (and the plan says so) rather than overspend.
 */
function keepBudgetOverFloors(
  layout: Layout,
  model: TrafficModel,
  room: number,
  maxReservoir: number,
  warnings: string[],
): void {
  let floors = 0;
  let spike = 0;
  let newcomer = 0;
  layout.settled.forEach((n, i) => {
    if (n.group.minFixedRate <= 0) return;
    floors += groupCost(
      n.group.profile,
      hourlyProbabilities(n.group.profile, 0, n.group.minFixedRate),
      model.monthScale,
    );
    const x = rawExposure(layout.exposures[i], 0, n.group.minFixedRate);
    spike = Math.max(spike, x.spike);
    newcomer = Math.max(newcomer, x.newcomer);
  });
  if (floors <= room) return;
  // Scaled down, the minimums are the planner's choice, not a person's: the room a spike or a
  // newcomer under them would need comes out of the budget too (it scales with the rates).
  const factor = Math.max(0, (0.98 * room) / (floors + spike + newcomer));
  warnings.push(
    `the budget cannot pay the critical minimum rates (they would cost ${(floors / Math.max(room, 1)).toFixed(1)}× what it allows): they are scaled down to ${(factor * 100).toFixed(1)}% of their minimum`,
  );
  layout.settled.forEach((n, i) => {
    if (n.group.minFixedRate <= 0) return;
    n.group.minFixedRate *= factor;
    layout.exposures[i].floorRate = 0;
    layout.curves[i] = settingCurve(n.group.profile, model.monthScale, {
      minFixedRate: n.group.minFixedRate,
      maxReservoir,
    });
    for (const setting of layout.curves[i].settings) {
      setting.exposure = exposureOf(layout.exposures[i], setting.reservoir, setting.fixedRate);
    }
  });
}

/** Exposure caps tried, as shares of the budget. */
const EXPOSURE_CAP_STEPS = [0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 1];

interface Layout {
  /** Managed rules that match traffic (or are critical), in evaluation order, then Default. */
  settled: NamedGroup[];
  live: NamedGroup[];
  pool: DesignedGroup;
  /** Per settled rule: what a spike or a newcomer would add under its settings. */
  exposures: GroupExposure[];
  /** Per settled rule: the settings worth considering, computed once. */
  curves: SettingCurve[];
  /** Every rule people made, as it is in the account. */
  unmanaged: SamplingRule[];
  /** Requests per second each rule takes in each snapshot period (by rule name). */
  load: { index: Map<string, number>; lambda: Float64Array[]; periodSeconds: number };
  unmanagedNames: Set<string>;
}

/** Names, orders and prioritises the designed rules, and finds which endpoints each really takes. */
function layoutRules(
  design: Design,
  model: TrafficModel,
  weights: MetricWeights,
  config: Config,
  unmanaged: SamplingRule[],
  state: PreviousState,
  budgetTraces: number,
): Layout {
  const prefix = config.rules.namePrefix;
  // Order managed rules: critical first, then so that no rule is shadowed by a broader one.
  const critical = design.groups.filter((g) => g.kind === "critical");
  const endpointGroups = design.groups.filter((g) => g.kind === "endpoint");
  const pool = design.groups.find((g) => g.kind === "default") as DesignedGroup;
  const targetsOf = (g: DesignedGroup) =>
    g.target !== undefined ? [model.requests[g.target]] : g.members.map((e) => model.requests[e]);
  // Critical rules keep the design's order: narrower patterns first.
  const criticalOrder = critical;
  const endpointOrder = shadowFreeOrder(
    endpointGroups.map((g) => g.pattern),
    endpointGroups.map(targetsOf),
  ).map((i) => endpointGroups[i]);
  const ordered = [...criticalOrder, ...endpointOrder];
  const band = config.rules.priorityBand;
  const step = Math.max(1, Math.min(10, Math.floor((band.max - band.min) / Math.max(1, ordered.length))));
  const usedNames = new Set<string>();
  const named: NamedGroup[] = ordered.map((group, i) => {
    const method = group.pattern.HTTPMethod === "*" ? "" : group.pattern.HTTPMethod;
    const path = group.pattern.URLPath === "*" ? "" : group.pattern.URLPath;
    const label = group.kind === "critical" ? `critical-${method}${path}` : undefined;
    let name = ruleNameFor(group.pattern, prefix, label);
    while (usedNames.has(name.toLowerCase())) name = ruleNameFor(group.pattern, prefix, `${label ?? ""}${i}`);
    usedNames.add(name.toLowerCase());
    return {
      group,
      name,
      priority: Math.min(band.max, band.min + i * step),
      desired: { reservoir: 0, fixedRate: 0 },
    };
  });

  // Who really takes which endpoint, once every rule is in place (patterns can overlap).
  const all = evaluationOrder([
    ...unmanaged,
    ...named.map((n) => managedRule(n, config)),
    defaultRuleWith(state.previousDefault, 0, 0),
  ]);
  const ruleLoaded = ruleLoad(model, all);
  const taken = ruleLoaded.assignment;
  const membersByRule = new Map<number, number[]>();
  for (let e = 0; e < taken.length; e++) {
    const list = membersByRule.get(taken[e]);
    if (list) list.push(e);
    else membersByRule.set(taken[e], [e]);
  }
  const membersOf = (ruleName: string) =>
    membersByRule.get(all.findIndex((r) => r.RuleName === ruleName)) ?? [];
  const live: NamedGroup[] = [];
  for (const n of named) {
    const members = membersOf(n.name);
    if (members.length === 0 && n.group.kind !== "critical") continue;
    if (members.join() !== n.group.members.join()) {
      n.group.members = members;
      n.group.profile = groupProfile(model, weights, members);
    }
    live.push(n);
  }
  const poolMembers = membersOf(DEFAULT_RULE_NAME);
  if (poolMembers.join() !== pool.members.join()) {
    pool.members = poolMembers;
    pool.profile = groupProfile(model, weights, [...poolMembers, model.newcomer]);
  }
  const defaultNamed: NamedGroup = {
    group: pool,
    name: DEFAULT_RULE_NAME,
    priority: DEFAULT_RULE_PRIORITY,
    desired: { reservoir: 0, fixedRate: 0 },
  };
  const settled = [...live, defaultNamed];
  const exposures = settled.map((n) =>
    groupExposure(model, n.group.profile, n.group.members, n.group.kind === "default", n.group.minFixedRate),
  );
  const maxReservoir = maxUsefulReservoir(budgetTraces, model.monthScale, model.windowSeconds);
  const curves = settled.map((n, i) => {
    const curve = settingCurve(n.group.profile, model.monthScale, {
      minFixedRate: n.group.minFixedRate,
      maxReservoir,
    });
    for (const setting of curve.settings)
      setting.exposure = exposureOf(exposures[i], setting.reservoir, setting.fixedRate);
    return curve;
  });
  const load = {
    index: new Map(ruleLoaded.ordered.map((r, i) => [r.RuleName, i])),
    lambda: ruleLoaded.lambda,
    periodSeconds: model.periodSeconds,
  };
  return {
    settled,
    live,
    pool,
    exposures,
    curves,
    load,
    unmanaged,
    unmanagedNames: new Set(unmanaged.map((r) => r.RuleName)),
  };
}

/** One settling of the layout: the rules, and what they spend on the snapshot (fast). */
interface SettledRules {
  rules: SamplingRule[];
  /** The settings of every settled rule, restored before finishing. */
  settings: Setting[];
  held: Set<string>;
  spentTraces: number;
  unmanagedTraces: number;
  /** Traces per month kept free for a spike and a new endpoint under these settings. */
  exposureTraces: number;
  warnings: string[];
}

/** Settles the layout's settings at a target and applies stability against the previous plan. */
function settleLayout(
  config: Config,
  model: TrafficModel,
  layout: Layout,
  design: Design,
  managedTarget: number,
  budgetTraces: number,
  state: PreviousState,
  caps: ExposureCaps,
): SettledRules {
  const { settled, live, pool } = layout;
  const warnings = [...design.warnings];
  const maxReservoir = maxUsefulReservoir(budgetTraces, model.monthScale, model.windowSeconds);
  settleSettings(
    settled.map((n) => n.group),
    managedTarget,
    model.monthScale,
    maxReservoir,
    warnings,
    layout.exposures,
    caps,
    layout.curves,
  );
  for (const n of settled) {
    setSettings(
      n.group,
      n.group.setting.reservoir,
      roundRate(n.group.setting.fixedRate, n.group.minFixedRate),
      model.monthScale,
    );
    n.desired = { reservoir: n.group.setting.reservoir, fixedRate: n.group.setting.fixedRate };
  }

  // Stability against the previous plan.
  let held = new Set<string>();
  let costLimits = new Map<string, number>();
  if (state.hasPreviousPlan) {
    const previous = new Map(state.previous);
    if (state.previousDefault) previous.set(DEFAULT_RULE_NAME, state.previousDefault);
    const outcome = applyStability(settled, previous, {
      deadband: config.stability.deadband,
      maxIncreaseFactor: config.stability.maxIncreaseFactor,
      smallIncreaseTraces: 0.01 * budgetTraces,
      monthScale: model.monthScale,
    });
    held = outcome.heldInDeadband;
    costLimits = outcome.costLimits;
    const total = settled.reduce((sum, n) => sum + n.group.setting.cost, 0);
    if (total > managedTarget) releaseCuts(settled, held, model.monthScale);
  }
  // What a reservoir step left unspent goes to the rules that buy most with it (not those held).
  const settings = settled.map((n) => n.group.setting);
  const leftover = managedTarget - settings.reduce((sum, s) => sum + s.cost, 0);
  fillLeftover(
    settled.map((n) => n.group),
    settings,
    leftover,
    model.monthScale,
    layout.exposures,
    caps,
    (i) => held.has(settled[i].name),
    (i) => costLimits.get(settled[i].name) ?? Number.POSITIVE_INFINITY,
  );
  settled.forEach((n, i) => {
    if (settings[i] !== n.group.setting)
      setSettings(
        n.group,
        settings[i].reservoir,
        roundRate(settings[i].fixedRate, n.group.minFixedRate),
        model.monthScale,
      );
  });

  const rules = evaluationOrder([
    // Every rule people made stays as it is, those the SDKs ignore (a ResourceARN or attributes) too.
    ...layout.unmanaged,
    ...live.map((n) => managedRule(n, config)),
    defaultRuleWith(state.previousDefault, pool.setting.reservoir, pool.setting.fixedRate),
  ]);
  // Spend on the snapshot from the rule load (which rule takes which traffic does not change
  // between settlings, only the settings do).
  const { load, unmanagedNames } = layout;
  let spent = 0;
  let unmanagedSpent = 0;
  for (const rule of rules) {
    const r = load.index.get(rule.RuleName);
    if (r === undefined) continue;
    let traces = 0;
    for (const lambda of load.lambda[r])
      traces += expectedTracesPerSecond(lambda, rule.ReservoirSize, rule.FixedRate);
    traces *= load.periodSeconds * model.monthScale;
    spent += traces;
    if (unmanagedNames.has(rule.RuleName)) unmanagedSpent += traces;
  }
  // The worst single spike and the worst newcomer among the rules the governor sets.
  let spike = 0;
  let newcomer = 0;
  settled.forEach((n, i) => {
    const x = exposureOf(layout.exposures[i], n.group.setting.reservoir, n.group.setting.fixedRate);
    spike = Math.max(spike, x.spike);
    newcomer = Math.max(newcomer, x.newcomer);
  });
  return {
    rules,
    settings: settled.map((n) => ({ ...n.group.setting })),
    held,
    spentTraces: spent,
    unmanagedTraces: unmanagedSpent,
    exposureTraces: spike + newcomer,
    warnings,
  };
}

/** Projects the chosen settling exactly and explains every rule. */
function finishRules(
  snapshot: Snapshot,
  config: Config,
  model: TrafficModel,
  layout: Layout,
  design: Design,
  chosen: SettledRules,
  state: PreviousState,
): BuiltRules {
  layout.settled.forEach((n, i) => {
    n.group.setting = chosen.settings[i];
  });
  const outcome = ruleOutcome(snapshot, chosen.rules);
  const score = scoreOutcome(snapshot, outcome, config);
  const details = ruleDetails(snapshot, config, model, outcome, layout.settled, state, chosen.held);
  return {
    rules: chosen.rules,
    details,
    score,
    outcome,
    unmanagedCost: design.unmanagedCost,
    exposureTraces: chosen.exposureTraces,
    warnings: chosen.warnings,
  };
}

/** Rates are kept to 4 significant digits (never below a critical minimum). */
function roundRate(rate: number, minimum: number): number {
  if (rate <= 0) return Math.max(0, minimum);
  const digits = 4 - Math.ceil(Math.log10(rate));
  const factor = 10 ** Math.max(0, Math.min(12, digits));
  const rounded = Math.round(rate * factor) / factor;
  return Math.min(1, Math.max(minimum, rounded));
}

function managedRule(n: NamedGroup, config: Config): SamplingRule {
  const { key, value } = config.rules.ownerTag;
  return {
    RuleName: n.name,
    ResourceARN: "*",
    Priority: n.priority,
    FixedRate: n.group.setting.fixedRate,
    ReservoirSize: n.group.setting.reservoir,
    ServiceName: n.group.pattern.ServiceName,
    ServiceType: n.group.pattern.ServiceType,
    Host: n.group.pattern.Host,
    HTTPMethod: n.group.pattern.HTTPMethod,
    URLPath: n.group.pattern.URLPath,
    Version: 1,
    Attributes: {},
    Tags: [{ Key: key, Value: value }],
  };
}

function defaultRuleWith(
  previous: SamplingRule | undefined,
  reservoir: number,
  fixedRate: number,
): SamplingRule {
  return defaultRule({ ...(previous ?? {}), FixedRate: fixedRate, ReservoirSize: reservoir });
}

// ---------------------------------------------------------------------------------------------
// Reasons

function ruleDetails(
  snapshot: Snapshot,
  config: Config,
  model: TrafficModel,
  outcome: ReturnType<typeof ruleOutcome>,
  settled: NamedGroup[],
  state: PreviousState,
  held: Set<string>,
): PlannedRule[] {
  const byName = new Map(settled.map((n) => [n.name, n]));
  const pool = byName.get(DEFAULT_RULE_NAME)?.group;
  const poolRate = pool ? meanProbability(pool) : 0;
  const before = new Map(snapshot.rules.map((r) => [r.RuleName, r]));
  const periods = snapshot.endpoints[0]?.requests.length ?? 0;
  const windowSeconds = Math.max(1, periods * snapshot.periodSeconds);
  return outcome.ordered.map((rule, r) => {
    let endpointCount = 0;
    let requests = 0;
    let traces = 0;
    const probabilities = outcome.probabilities;
    for (let e = 0; e < snapshot.endpoints.length; e++) {
      if (outcome.assignment[e] !== r) continue;
      endpointCount++;
      const p = probabilities(e);
      const series = snapshot.endpoints[e].requests;
      for (let t = 0; t < periods; t++) {
        requests += series[t];
        traces += p[t] * series[t];
      }
    }
    const scale = (30 * 86_400) / windowSeconds;
    const named = byName.get(rule.RuleName);
    const { reason, explanation } = named
      ? explain(named, model, poolRate, held.has(rule.RuleName))
      : {
          reason: "kept (not managed)" as RuleReason,
          explanation: "a person's rule: never changed by the governor",
        };
    return {
      rule,
      ownership: named ? (rule.RuleName === DEFAULT_RULE_NAME ? "default" : "managed") : "unmanaged",
      reason,
      explanation,
      before: before.get(rule.RuleName) ?? (state.previous.get(rule.RuleName) as SamplingRule | undefined),
      endpointCount,
      requestsPerMonth: requests * scale,
      projectedTracesPerMonth: traces * scale,
      projectedUsdPerMonth: monthlyUsdOf(traces * scale, config),
    } satisfies PlannedRule;
  });
}

function meanProbability(group: DesignedGroup): number {
  const p = hourlyProbabilities(group.profile, group.setting.reservoir, group.setting.fixedRate);
  let requests = 0;
  for (let h = 0; h < group.profile.hours; h++) requests += group.profile.requests[h];
  return requests > 0 ? groupCost(group.profile, p, 1) / requests : (p[0] ?? 0);
}

function explain(
  named: NamedGroup,
  model: TrafficModel,
  poolRate: number,
  held: boolean,
): { reason: RuleReason; explanation: string } {
  const { group } = named;
  const rate = meanProbability(group);
  const pct = (x: number) => `${(x * 100).toFixed(x < 0.01 ? 2 : 1)}%`;
  const settings = `reservoir ${group.setting.reservoir}/s + ${pct(group.setting.fixedRate)}`;
  const suffix = held ? " (kept: the change was inside the deadband)" : "";
  if (group.kind === "default") {
    return {
      reason: "catch-all",
      explanation: `${group.members.length} endpoints without a rule of their own, and any new ones, at ${settings} (${pct(rate)} of requests)${suffix}`,
    };
  }
  if (group.kind === "critical") {
    return {
      reason: "critical",
      explanation: `configured critical: at least ${pct(group.minFixedRate)} of requests, ${group.members.length} endpoint(s)${suffix}`,
    };
  }
  const H = model.hours;
  let faultHours = 0;
  let errorHours = 0;
  let requests = 0;
  let incident = false;
  for (const e of group.members) {
    faultHours += model.observedFaultHours[e];
    errorHours += model.observedErrorHours[e];
    for (let h = 0; h < H; h++) requests += model.hourlyRequests[e * H + h];
    if (model.recent[e].incident) incident = true;
  }
  const perSecond = requests / (H * model.hourSeconds);
  // A route several services serve shares one rule: say so before the reason.
  const shared =
    group.target === undefined && group.members.length > 1
      ? `${group.members.length} endpoints of ${group.pattern.HTTPMethod} ${group.pattern.URLPath} across services, `
      : "";
  const why = (reason: RuleReason, text: string) => ({ reason, explanation: `${shared}${text}${suffix}` });
  if (rate < poolRate) {
    return why(
      "bulk traffic",
      `${perSecond.toFixed(2)} req/s: sampled at ${pct(rate)} (${settings}) so its volume does not dilute the rest`,
    );
  }
  if (incident || faultHours > 0) {
    return why(
      "fault-prone",
      `${incident ? "failing right now; " : ""}5xx in ${faultHours} of the last day's endpoint-hours: sampled at ${pct(rate)} (${settings}) to catch them`,
    );
  }
  if (errorHours > 0) {
    return why(
      "error-prone",
      `4xx/5xx in ${errorHours} of the last day's endpoint-hours: sampled at ${pct(rate)} (${settings}) to catch them`,
    );
  }
  return why(
    "rare endpoints floor",
    `${(perSecond * 3600).toFixed(1)} req/hour: sampled at ${pct(rate)} (${settings}) so every hour with traffic is seen`,
  );
}

// ---------------------------------------------------------------------------------------------
// Diff

const STORED_FIELDS = [
  "Priority",
  "FixedRate",
  "ReservoirSize",
  "ServiceName",
  "ServiceType",
  "Host",
  "HTTPMethod",
  "URLPath",
  "ResourceARN",
] as const;

function sameRule(a: SamplingRule, b: SamplingRule): boolean {
  return STORED_FIELDS.every((f) =>
    typeof a[f] === "number" ? Math.abs((a[f] as number) - (b[f] as number)) < 1e-9 : a[f] === b[f],
  );
}

/** Desired vs current managed rules (and Default) → create / update / delete actions. */
export function diffRules(
  current: SamplingRule[],
  desired: SamplingRule[],
  details: PlannedRule[],
  config: Config,
): Action[] {
  const { managed, defaultRule } = splitRules(current, config);
  const wanted = splitRules(desired, config);
  const reasons = new Map(details.map((d) => [d.rule.RuleName, `${d.reason}: ${d.explanation}`]));
  const actions: Action[] = [];
  const currentByName = new Map(managed.map((r) => [r.RuleName, r]));
  const desiredNames = new Set(wanted.managed.map((r) => r.RuleName));
  for (const rule of managed) {
    if (!desiredNames.has(rule.RuleName)) {
      actions.push({
        type: "delete",
        ruleName: rule.RuleName,
        before: rule,
        reason: "no longer needed by the plan",
      });
    }
  }
  for (const rule of wanted.managed) {
    const before = currentByName.get(rule.RuleName);
    const reason = reasons.get(rule.RuleName) ?? "planned";
    if (!before) actions.push({ type: "create", ruleName: rule.RuleName, after: rule, reason });
    else if (!sameRule(before, rule))
      actions.push({ type: "update", ruleName: rule.RuleName, before, after: rule, reason });
  }
  if (wanted.defaultRule && defaultRule && !sameRule(defaultRule, wanted.defaultRule)) {
    actions.push({
      type: "update",
      ruleName: DEFAULT_RULE_NAME,
      before: defaultRule,
      after: wanted.defaultRule,
      reason: reasons.get(DEFAULT_RULE_NAME) ?? "catch-all",
    });
  }
  return actions;
}

// ---------------------------------------------------------------------------------------------
// Projections, budget, fingerprints

function projectionOf(score: WindowScore): PlanProjection {
  return {
    monthlyUsd: score.monthlyUsd,
    budgetUsd: score.budgetUsd,
    faultCapture: score.faultCapture,
    errorCapture: score.errorCapture,
    coverage: score.coverage,
    monthlyTraces: score.monthlyTraces,
    rareCoverage: score.rareCoverage,
    criticalMet: score.criticalMet,
  };
}

function budgetAnalysis(snapshot: Snapshot, config: Config): BudgetAnalysis {
  const monthlyUsd = config.budget.monthlyUsd;
  let affordable = monthlyUsd;
  let pacing: BudgetAnalysis["pacing"];
  if (snapshot.monthToDate) {
    const since = new Date(snapshot.monthToDate.since);
    const now = new Date(snapshot.capturedAt);
    const monthEnd = Date.UTC(since.getUTCFullYear(), since.getUTCMonth() + 1, 1);
    const elapsed = Math.min(
      1,
      Math.max(0, (now.getTime() - since.getTime()) / (monthEnd - since.getTime())),
    );
    const spentUsd = monthlyUsdOf(snapshot.monthToDate.tracesRecorded, config);
    const remaining = monthlyUsd - spentUsd;
    affordable = elapsed < 1 ? Math.max(0, remaining / (1 - elapsed)) : Math.max(0, remaining);
    pacing = {
      monthToDateTraces: snapshot.monthToDate.tracesRecorded,
      monthToDateUsd: spentUsd,
      monthFractionElapsed: elapsed,
      affordableMonthlyUsd: affordable,
    };
  }
  const base = Math.min(monthlyUsd, affordable);
  const headroomUsd = base * config.budget.headroom;
  return { monthlyUsd, targetUsd: base - headroomUsd, headroomUsd, unmanagedUsd: 0, exposureUsd: 0, pacing };
}

function canonicalRules(rules: SamplingRule[]): string {
  return JSON.stringify(
    evaluationOrder(rules).map((r) => [
      r.RuleName,
      ...STORED_FIELDS.map((f) => r[f]),
      (r.Tags ?? []).map((t) => `${t.Key}=${t.Value}`).sort(),
    ]),
  );
}

/** A hash of a rule state: the same rules (names, settings, patterns, tags) give the same value. */
export function ruleFingerprint(rules: SamplingRule[]): string {
  return createHash("sha256").update(canonicalRules(rules)).digest("hex").slice(0, 16);
}

function endpointProjections(
  snapshot: Snapshot,
  model: TrafficModel,
  after: ReturnType<typeof ruleOutcome>,
  before: ReturnType<typeof ruleOutcome>,
): EndpointProjection[] {
  const periods = snapshot.endpoints[0]?.requests.length ?? 0;
  const perHour = periodsPerHour(snapshot.periodSeconds);
  const scale = model.monthScale;
  const days = Math.max(1e-9, (periods * snapshot.periodSeconds) / 86_400);
  return snapshot.endpoints.map((ep, e) => {
    const pa = after.probabilities(e);
    const pb = before.probabilities(e);
    let requests = 0;
    let tracesAfter = 0;
    let tracesBefore = 0;
    let faults = 0;
    let errors = 0;
    let coverageAfter = 0;
    let coverageBefore = 0;
    let hours = 0;
    for (let h0 = 0; h0 < periods; h0 += perHour) {
      let missA = 0;
      let missB = 0;
      let any = 0;
      for (let t = h0; t < Math.min(periods, h0 + perHour); t++) {
        const r = ep.requests[t];
        any += r;
        missA += r * Math.log1p(-Math.min(pa[t], 1 - 1e-15));
        missB += r * Math.log1p(-Math.min(pb[t], 1 - 1e-15));
      }
      if (any > 0) {
        hours++;
        coverageAfter += 1 - Math.exp(missA);
        coverageBefore += 1 - Math.exp(missB);
      }
    }
    for (let t = 0; t < periods; t++) {
      const r = ep.requests[t];
      requests += r;
      tracesAfter += pa[t] * r;
      tracesBefore += pb[t] * r;
      faults += ep.faults[t];
      errors += ep.errors[t];
    }
    const ruleAfter = after.assignment[e] >= 0 ? after.ordered[after.assignment[e]].RuleName : "";
    const ruleBefore = before.assignment[e] >= 0 ? before.ordered[before.assignment[e]].RuleName : "";
    return {
      key: endpointKey(ep),
      label: endpointLabel(ep),
      service: ep.service,
      method: ep.method,
      path: ep.path,
      ruleName: ruleAfter,
      ruleNameBefore: ruleBefore,
      probability: requests > 0 ? tracesAfter / requests : (pa[0] ?? 0),
      probabilityBefore: requests > 0 ? tracesBefore / requests : (pb[0] ?? 0),
      requestsPerMonth: requests * scale,
      tracesPerMonth: tracesAfter * scale,
      tracesPerMonthBefore: tracesBefore * scale,
      faultsPerDay: faults / days,
      errorsPerDay: errors / days,
      coverage: hours ? coverageAfter / hours : 1,
      coverageBefore: hours ? coverageBefore / hours : 1,
    };
  });
}
