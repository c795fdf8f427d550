/**
 * What a rule's settings are worth. A rule gives every request it matches the same
 * probability p_h in hour h (reservoir first, then fixed rate); its value is the expected
 * share of endpoint-hours seen (coverage), with an error caught and with a fault caught —
 * each normalised to its metric's mean, as scoring.md scores them — and its cost is the
 * traces it records per month.
 *
 * A group's counts are compressed into (exponent, weight) terms per hour:
 *   U(p) = Σ_h Σ_i w_i (1 − (1 − p_h)^{x_i})
 * with equal exponents merged and large exponents bucketed on a 1.5% log grid, so even a
 * group of 100,000 endpoints costs a few thousand terms to evaluate.
 */
import { expectedReservoirTraces } from "../sampling.ts";
import type { TrafficModel } from "./traffic.ts";

export interface MetricWeights {
  coverage: number;
  errors: number;
  faults: number;
}

/** Per endpoint-hour weights so that each metric's mean counts with its configured weight. */
export function metricWeights(model: TrafficModel, weights: MetricWeights): MetricWeights {
  let coverageHours = 0;
  let errorHours = 0;
  let faultHours = 0;
  for (let i = 0; i < model.hourlyRequests.length; i++) {
    if (model.hourlyRequests[i] > 0) coverageHours++;
    if (model.hourlyErrors[i] > 0) errorHours++;
    if (model.hourlyFaults[i] > 0) faultHours++;
  }
  return {
    coverage: coverageHours ? weights.coverage / coverageHours : 0,
    errors: errorHours ? weights.errors / errorHours : 0,
    faults: faultHours ? weights.faults / faultHours : 0,
  };
}

/** A group of endpoints that one rule would match, compressed for evaluation. */
export interface GroupProfile {
  members: number[];
  hours: number;
  /** Requests per hour of the whole group. */
  requests: Float64Array;
  /** requests per second per hour. */
  lambda: Float64Array;
  /** Term exponents and weights; hour h owns [start[h], start[h+1]). */
  exponents: Float64Array;
  weights: Float64Array;
  start: Int32Array;
  /** Value when every request is sampled. */
  maxValue: number;
  /** The greatest hourly request rate (per second). */
  peakLambda: number;
}

const SMALL_LIMIT = 64;
const SMALL_STEPS = 4;
const LOG_STEP = 0.015;

function bucketOf(count: number): number {
  if (count < SMALL_LIMIT) return Math.max(1, Math.round(count * SMALL_STEPS));
  return SMALL_LIMIT * SMALL_STEPS + Math.round(Math.log(count / SMALL_LIMIT) / LOG_STEP);
}

function exponentOf(bucket: number): number {
  if (bucket < SMALL_LIMIT * SMALL_STEPS) return bucket / SMALL_STEPS;
  return SMALL_LIMIT * Math.exp((bucket - SMALL_LIMIT * SMALL_STEPS) * LOG_STEP);
}

export function groupProfile(model: TrafficModel, weights: MetricWeights, members: number[]): GroupProfile {
  const H = model.hours;
  const requests = new Float64Array(H);
  const perHour: Map<number, number>[] = Array.from({ length: H }, () => new Map());
  const add = (h: number, count: number, weight: number) => {
    if (count <= 0 || weight <= 0) return;
    const bucket = bucketOf(count);
    const map = perHour[h];
    map.set(bucket, (map.get(bucket) ?? 0) + weight);
  };
  for (const e of members) {
    const base = e * H;
    for (let h = 0; h < H; h++) {
      const r = model.hourlyRequests[base + h];
      if (r <= 0) continue;
      requests[h] += r;
      add(h, r, weights.coverage);
      add(h, model.hourlyErrors[base + h], weights.errors);
      add(h, model.hourlyFaults[base + h], weights.faults);
    }
  }
  let size = 0;
  for (const map of perHour) size += map.size;
  const exponents = new Float64Array(size);
  const termWeights = new Float64Array(size);
  const start = new Int32Array(H + 1);
  let i = 0;
  let maxValue = 0;
  for (let h = 0; h < H; h++) {
    start[h] = i;
    for (const [bucket, weight] of perHour[h]) {
      exponents[i] = exponentOf(bucket);
      termWeights[i] = weight;
      maxValue += weight;
      i++;
    }
  }
  start[H] = i;
  const lambda = new Float64Array(H);
  let peakLambda = 0;
  for (let h = 0; h < H; h++) {
    lambda[h] = requests[h] / model.hourSeconds;
    peakLambda = Math.max(peakLambda, lambda[h]);
  }
  return {
    members,
    hours: H,
    requests,
    lambda,
    exponents,
    weights: termWeights,
    start,
    maxValue,
    peakLambda,
  };
}

/** Value of a group when hour h samples with probability p[h]. */
export function groupValue(profile: GroupProfile, p: ArrayLike<number>): number {
  let missed = 0;
  for (let h = 0; h < profile.hours; h++) {
    const from = profile.start[h];
    const to = profile.start[h + 1];
    if (from === to) continue;
    const ph = p[h];
    if (ph >= 1) continue;
    const logMiss = Math.log1p(-ph);
    for (let i = from; i < to; i++) missed += profile.weights[i] * Math.exp(profile.exponents[i] * logMiss);
  }
  return profile.maxValue - missed;
}

/** Expected traces per month of a group when hour h samples with probability p[h]. */
export function groupCost(profile: GroupProfile, p: ArrayLike<number>, monthScale: number): number {
  let traces = 0;
  for (let h = 0; h < profile.hours; h++) traces += p[h] * profile.requests[h];
  return traces * monthScale;
}

/** Per-hour probabilities of a rule with reservoir k and fixed rate f over a group's traffic. */
export function hourlyProbabilities(
  profile: GroupProfile,
  reservoir: number,
  fixedRate: number,
): Float64Array {
  const reservoirShare = reservoirShares(profile, reservoir);
  return probabilitiesFromShares(reservoirShare, fixedRate);
}

/** Per hour, the share of requests the reservoir takes: E[min(N,k)] / λ. */
export function reservoirShares(profile: GroupProfile, reservoir: number): Float64Array {
  const share = new Float64Array(profile.hours);
  for (let h = 0; h < profile.hours; h++) {
    const lambda = profile.lambda[h];
    if (reservoir <= 0) share[h] = 0;
    else if (lambda <= 1e-9) share[h] = 1;
    else share[h] = Math.min(1, expectedReservoirTraces(lambda, reservoir) / lambda);
  }
  return share;
}

export function probabilitiesFromShares(share: Float64Array, fixedRate: number): Float64Array {
  const p = new Float64Array(share.length);
  for (let h = 0; h < share.length; h++) p[h] = share[h] + fixedRate * (1 - share[h]);
  return p;
}

/** One choice of settings for a rule, with what it is worth and what it costs. */
export interface Setting {
  reservoir: number;
  fixedRate: number;
  value: number;
  /** Traces per month. */
  cost: number;
}

/** The settings worth considering for a group, from which the best at any price is chosen. */
export interface SettingCurve {
  profile: GroupProfile;
  settings: Setting[];
}

const FIXED_RATE_GRID: number[] = (() => {
  const grid = [0];
  const steps = 48;
  for (let i = 0; i <= steps; i++) grid.push(10 ** (-5 + (5 * i) / steps));
  return grid;
})();

const RESERVOIR_LADDER = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024];

export interface CurveOptions {
  /** The rule must sample at least this share of what the reservoir leaves (critical endpoints). */
  minFixedRate?: number;
  /** Largest reservoir to consider (traces/second). */
  maxReservoir?: number;
}

export function reservoirCandidates(profile: GroupProfile, maxReservoir = 1024): number[] {
  const limit = Math.min(maxReservoir, Math.ceil(1.5 * profile.peakLambda) + 1);
  return [0, ...RESERVOIR_LADDER.filter((k) => k <= limit)];
}

export function settingCurve(
  profile: GroupProfile,
  monthScale: number,
  options: CurveOptions = {},
): SettingCurve {
  const minRate = options.minFixedRate ?? 0;
  const rates = FIXED_RATE_GRID.filter((f) => f >= minRate);
  if (minRate > 0 && !rates.includes(minRate)) rates.unshift(minRate);
  const settings: Setting[] = [];
  for (const reservoir of reservoirCandidates(profile, options.maxReservoir)) {
    const share = reservoirShares(profile, reservoir);
    for (const fixedRate of rates) {
      const p = probabilitiesFromShares(share, fixedRate);
      settings.push({
        reservoir,
        fixedRate,
        value: groupValue(profile, p),
        cost: groupCost(profile, p, monthScale),
      });
    }
  }
  return { profile, settings };
}

/** The setting with the most value net of cost at price `mu` (value per trace). */
export function bestSetting(curve: SettingCurve, mu: number): Setting {
  let best = curve.settings[0];
  let bestNet = best.value - mu * best.cost;
  for (let i = 1; i < curve.settings.length; i++) {
    const s = curve.settings[i];
    const net = s.value - mu * s.cost;
    if (net > bestNet) {
      best = s;
      bestNet = net;
    }
  }
  return best;
}

/**
 * Refines a setting's fixed rate at price `mu` by golden-section search: value is concave in
 * the fixed rate for a fixed reservoir, and cost linear, so net value is unimodal.
 */
export function refineFixedRate(
  profile: GroupProfile,
  setting: Setting,
  mu: number,
  monthScale: number,
  minFixedRate = 0,
): Setting {
  const share = reservoirShares(profile, setting.reservoir);
  const net = (f: number) => {
    const p = probabilitiesFromShares(share, f);
    return groupValue(profile, p) - mu * groupCost(profile, p, monthScale);
  };
  let lo = Math.max(minFixedRate, setting.fixedRate / 1.35);
  let hi = Math.min(1, Math.max(setting.fixedRate * 1.35, setting.fixedRate + 1e-5));
  if (setting.fixedRate === 0) {
    lo = minFixedRate;
    hi = Math.max(minFixedRate, 1e-5);
  }
  const ratio = (Math.sqrt(5) - 1) / 2;
  let a = hi - ratio * (hi - lo);
  let b = lo + ratio * (hi - lo);
  let fa = net(a);
  let fb = net(b);
  for (let i = 0; i < 30 && hi - lo > 1e-7; i++) {
    if (fa < fb) {
      lo = a;
      a = b;
      fa = fb;
      b = lo + ratio * (hi - lo);
      fb = net(b);
    } else {
      hi = b;
      b = a;
      fb = fa;
      a = hi - ratio * (hi - lo);
      fa = net(a);
    }
  }
  const candidates = [setting.fixedRate, (lo + hi) / 2];
  let best = setting;
  let bestNet = setting.value - mu * setting.cost;
  for (const f of candidates) {
    const p = probabilitiesFromShares(share, f);
    const value = groupValue(profile, p);
    const cost = groupCost(profile, p, monthScale);
    if (value - mu * cost > bestNet + 1e-15) {
      best = { reservoir: setting.reservoir, fixedRate: f, value, cost };
      bestNet = value - mu * cost;
    }
  }
  return best;
}
