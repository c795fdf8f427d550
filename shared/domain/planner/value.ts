/**
 * What a rule's settings are worth. A rule gives every request it matches the same
 * probability p_h in hour h (reservoir first, then fixed rate); its value is the expected
 * share of endpoint-hours seen (coverage), with an error caught and with a fault caught —
 * each normalised to its metric's mean, as scoring.md scores them — and its cost is the
 * traces it records per month.
 *
 * Counts are expected values (Poisson): an hour expecting x errors has at least one caught
 * with probability 1 − e^{−p·x}; weighted by the chance the hour has errors at all, the value
 * of a group is
 *   U(p) = Σ_h Σ_i w_i (1 − e^{−p_h·x_i})
 * with its terms compressed per hour:
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
  // Expected endpoint-hours with at least one request, error or fault.
  let coverageHours = 0;
  let errorHours = 0;
  let faultHours = 0;
  for (let i = 0; i < model.hourlyRequests.length; i++) {
    coverageHours += -Math.expm1(-model.hourlyRequests[i]);
    errorHours += model.errors.chance[i] * -Math.expm1(-model.errors.count[i]);
    faultHours += model.faults.chance[i] * -Math.expm1(-model.faults.count[i]);
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

/** Counts are bucketed on a 4% log grid: exponents within 2% of the true count. */
const LOG_STEP = 0.04;

function bucketOf(count: number): number {
  return Math.round(Math.log(count) / LOG_STEP);
}

function exponentOf(bucket: number): number {
  return Math.exp(bucket * LOG_STEP);
}

/**
 * Accumulates a group's compressed terms; endpoints can be added and removed, so a pool that
 * loses one endpoint at a time is not rebuilt from scratch.
 */
export class ProfileBuilder {
  private readonly terms: Map<number, number>[];
  private readonly requests: Float64Array;
  private readonly memberSet = new Set<number>();

  constructor(
    private readonly model: TrafficModel,
    private readonly weights: MetricWeights,
    members: Iterable<number> = [],
  ) {
    this.terms = Array.from({ length: model.hours }, () => new Map());
    this.requests = new Float64Array(model.hours);
    for (const e of members) this.add(e);
  }

  get size(): number {
    return this.memberSet.size;
  }

  add(e: number): void {
    if (this.memberSet.has(e)) return;
    this.memberSet.add(e);
    this.apply(e, 1);
  }

  remove(e: number): void {
    if (!this.memberSet.delete(e)) return;
    this.apply(e, -1);
  }

  private apply(e: number, sign: 1 | -1): void {
    const { model, weights } = this;
    const H = model.hours;
    const base = e * H;
    for (let h = 0; h < H; h++) {
      const r = model.hourlyRequests[base + h];
      if (r <= 0) continue;
      this.requests[h] += sign * r;
      if (this.requests[h] < 1e-9) this.requests[h] = 0;
      this.term(h, r, sign * weights.coverage);
      this.term(h, model.errors.count[base + h], sign * weights.errors * model.errors.chance[base + h]);
      this.term(h, model.faults.count[base + h], sign * weights.faults * model.faults.chance[base + h]);
    }
  }

  private term(h: number, count: number, weight: number): void {
    if (count <= 1e-9 || weight === 0) return;
    const bucket = bucketOf(count);
    const map = this.terms[h];
    const next = (map.get(bucket) ?? 0) + weight;
    if (Math.abs(next) < 1e-15) map.delete(bucket);
    else map.set(bucket, next);
  }

  build(): GroupProfile {
    const { model } = this;
    const H = model.hours;
    let size = 0;
    for (const map of this.terms) size += map.size;
    const exponents = new Float64Array(size);
    const termWeights = new Float64Array(size);
    const start = new Int32Array(H + 1);
    let i = 0;
    let maxValue = 0;
    for (let h = 0; h < H; h++) {
      start[h] = i;
      // Ascending exponents: evaluation stops where the remaining terms are all caught.
      const buckets = [...this.terms[h]].filter(([, weight]) => weight > 0).sort((a, b) => a[0] - b[0]);
      for (const [bucket, weight] of buckets) {
        exponents[i] = exponentOf(bucket);
        termWeights[i] = weight;
        maxValue += weight;
        i++;
      }
    }
    start[H] = i;
    const requests = Float64Array.from(this.requests);
    const lambda = new Float64Array(H);
    let peakLambda = 0;
    for (let h = 0; h < H; h++) {
      lambda[h] = requests[h] / model.hourSeconds;
      peakLambda = Math.max(peakLambda, lambda[h]);
    }
    return {
      members: [...this.memberSet].sort((a, b) => a - b),
      hours: H,
      requests,
      lambda,
      exponents: exponents.subarray(0, i),
      weights: termWeights.subarray(0, i),
      start,
      maxValue,
      peakLambda,
    };
  }
}

export function groupProfile(model: TrafficModel, weights: MetricWeights, members: number[]): GroupProfile {
  return new ProfileBuilder(model, weights, members).build();
}

/** e^-y is read from a table of e^(-i/64) and corrected by a cubic in the remainder. */
const EXP_TABLE_STEPS = 64;
const EXP_TABLE_RANGE = 40;
const EXP_TABLE = Float64Array.from({ length: EXP_TABLE_RANGE * EXP_TABLE_STEPS + 2 }, (_, i) =>
  Math.exp(-i / EXP_TABLE_STEPS),
);

/**
 * e^-y for y ≥ 0, within 3·10⁻⁹ of Math.exp and about four times faster: the planner's value
 * model evaluates it some fifty million times per plan of 10,000 endpoints (see the timing bench).
 * No library offers a fast approximate exponential, hence this one.
 */
export function expNegative(y: number): number {
  if (!(y < EXP_TABLE_RANGE)) return Math.exp(-y);
  const scaled = y * EXP_TABLE_STEPS;
  const i = scaled | 0;
  const r = (scaled - i) / EXP_TABLE_STEPS;
  return EXP_TABLE[i] * (1 - r * (1 - r * (0.5 - r / 6)));
}

/** Value of a group when hour h samples with probability p[h]. */
export function groupValue(profile: GroupProfile, p: ArrayLike<number>): number {
  let missed = 0;
  for (let h = 0; h < profile.hours; h++) {
    const from = profile.start[h];
    const to = profile.start[h + 1];
    if (from === to) continue;
    const ph = p[h];
    // Terms are sorted by exponent; past e^-40 the rest add nothing a double can hold.
    const limit = ph > 0 ? 40 / ph : Number.POSITIVE_INFINITY;
    for (let i = from; i < to; i++) {
      const x = profile.exponents[i];
      if (x > limit) break;
      missed += profile.weights[i] * expNegative(x * ph);
    }
  }
  return profile.maxValue - missed;
}

/** Expected traces per month of a group when hour h samples with probability p[h]. */
export function groupCost(profile: GroupProfile, p: ArrayLike<number>, monthScale: number): number {
  let traces = 0;
  for (let h = 0; h < profile.hours; h++) traces += p[h] * profile.requests[h];
  return traces * monthScale;
}

/**
 * The largest rate in [lo, hi] at which `fits` holds, by bisection: `fits` holds at `lo` and,
 * once it fails, fails for every larger rate (cost and exposure grow with the fixed rate).
 */
export function largestRateWhere(lo: number, hi: number, fits: (rate: number) => boolean): number {
  if (fits(hi)) return hi;
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2;
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
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
  /** Extra traces per month under a spike and a newcomer, when known (see exposure.ts). */
  exposure?: { spike: number; newcomer: number };
}

/** The settings worth considering for a group, from which the best at any price is chosen. */
export interface SettingCurve {
  profile: GroupProfile;
  settings: Setting[];
}

const FIXED_RATE_STEPS = 48;
/** Ratio between neighbouring fixed rates of the settings grid. */
export const FIXED_RATE_GRID_RATIO = 10 ** (6 / FIXED_RATE_STEPS);
/** Fixed rates tried: 0, then 10⁻⁶ … 1 in steps of about 33%. */
const FIXED_RATE_GRID: number[] = (() => {
  const grid = [0];
  for (let i = 0; i <= FIXED_RATE_STEPS; i++) grid.push(10 ** (-6 + (6 * i) / FIXED_RATE_STEPS));
  return grid;
})();

const RESERVOIR_LADDER = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024];

export interface CurveOptions {
  /** The rule must sample at least this share of what the reservoir leaves (critical endpoints). */
  minFixedRate?: number;
  /** Largest reservoir to consider (traces/second). */
  maxReservoir?: number;
  /** A quarter of the fixed rates only (steps of about 75%): enough to compare designs. */
  coarse?: boolean;
}

export function reservoirCandidates(profile: GroupProfile, maxReservoir = 1024, coarse = false): number[] {
  const limit = Math.min(maxReservoir, Math.ceil(1.5 * profile.peakLambda) + 1);
  // Coarse: powers of two only.
  const ladder = coarse ? RESERVOIR_LADDER.filter((k) => (k & (k - 1)) === 0) : RESERVOIR_LADDER;
  return [0, ...ladder.filter((k) => k <= limit)];
}

export function settingCurve(
  profile: GroupProfile,
  monthScale: number,
  options: CurveOptions = {},
): SettingCurve {
  const minRate = options.minFixedRate ?? 0;
  const grid = options.coarse
    ? FIXED_RATE_GRID.filter((_, i) => i % 2 === 0 || i === FIXED_RATE_GRID.length - 1)
    : FIXED_RATE_GRID;
  const rates = grid.filter((f) => f >= minRate);
  if (minRate > 0 && !rates.includes(minRate)) rates.unshift(minRate);
  const settings: Setting[] = [];
  for (const reservoir of reservoirCandidates(profile, options.maxReservoir, options.coarse)) {
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
 * The fixed rate with the most value net of cost at price `mu`, for a given reservoir:
 * value is concave in the fixed rate and cost linear, so net value is unimodal and a
 * golden-section search (on a square-root scale, to resolve small rates) finds it.
 */
export function bestFixedRate(
  profile: GroupProfile,
  share: Float64Array,
  reservoir: number,
  mu: number,
  monthScale: number,
  minFixedRate = 0,
  maxFixedRate = 1,
): Setting {
  const evaluate = (f: number): Setting => {
    const p = probabilitiesFromShares(share, f);
    return {
      reservoir,
      fixedRate: f,
      value: groupValue(profile, p),
      cost: groupCost(profile, p, monthScale),
    };
  };
  const net = (s: Setting) => s.value - mu * s.cost;
  // Search x in [sqrt(min), sqrt(max)], f = x², to resolve small rates.
  let lo = Math.sqrt(minFixedRate);
  let hi = Math.sqrt(Math.max(minFixedRate, maxFixedRate));
  const ratio = (Math.sqrt(5) - 1) / 2;
  let a = hi - ratio * (hi - lo);
  let b = lo + ratio * (hi - lo);
  let sa = evaluate(a * a);
  let sb = evaluate(b * b);
  for (let i = 0; i < 24 && hi - lo > 1e-7 * hi; i++) {
    if (net(sa) < net(sb)) {
      lo = a;
      a = b;
      sa = sb;
      b = lo + ratio * (hi - lo);
      sb = evaluate(b * b);
    } else {
      hi = b;
      b = a;
      sb = sa;
      a = hi - ratio * (hi - lo);
      sa = evaluate(a * a);
    }
  }
  let best = net(sa) >= net(sb) ? sa : sb;
  for (const f of [minFixedRate, Math.max(minFixedRate, maxFixedRate)]) {
    const s = evaluate(f);
    if (net(s) > net(best)) best = s;
  }
  return best;
}
