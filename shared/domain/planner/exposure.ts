/**
 * What the budget must keep free for the traffic a snapshot cannot show: one endpoint spiking
 * tenfold for a couple of hours, and an endpoint that appears after the snapshot and falls to a
 * catch-all rule (Default or a broad rule). Both are priced under a rule's settings, so a rule
 * whose reservoir caps its cost exposes little and a busy endpoint at a high fixed rate exposes
 * much. The planner caps every rule's exposure and keeps the caps free in the budget.
 */
import { expectedReservoirTraces } from "../sampling.ts";
import type { TrafficModel } from "./traffic.ts";
import { type GroupProfile, largestRateWhere } from "./value.ts";

export const SPIKE_FACTOR = 10;
export const SPIKE_HOURS = 2;
/** A newcomer is assumed as busy as this quantile of today's endpoints. */
export const NEW_ENDPOINT_QUANTILE = 0.9;

/** The traffic a rule would see in the two stress cases, precomputed per rule. */
export interface GroupExposure {
  /** Spike: the rule's own rate and the added rate over the worst member's busiest hours. */
  spikeBase: Float64Array;
  spikeAdded: Float64Array;
  /** Newcomer (catch-all rules only): the rule's rate per hour and the newcomer's rate. */
  newcomerBase?: Float64Array;
  newcomerAdded: number;
  /**
   * A fixed rate the rule must keep (a critical minimum): a person pinned that much, so only
   * the exposure above it is the planner's to keep room for.
   */
  floorRate: number;
  hourSeconds: number;
  monthScale: number;
  /** Per reservoir: the stress terms A and B (see rawExposure). */
  cache: Map<number, { spikeA: number; spikeB: number; newcomerA: number; newcomerB: number }>;
}

export interface Exposure {
  spike: number;
  newcomer: number;
}

/** Requests per second of a typical newcomer. */
export function newcomerRate(model: TrafficModel): number {
  const totals = Array.from(model.totals).sort((a, b) => a - b);
  if (totals.length === 0) return 0;
  const typical = totals[Math.min(totals.length - 1, Math.floor(NEW_ENDPOINT_QUANTILE * totals.length))];
  return typical / (model.hours * model.hourSeconds);
}

export function groupExposure(
  model: TrafficModel,
  profile: GroupProfile,
  members: readonly number[],
  catchAll: boolean,
  floorRate = 0,
): GroupExposure {
  const H = model.hours;
  const span = Math.min(SPIKE_HOURS, H);
  // The member whose tenfold spike adds the most requests (the same rule, so the most traces).
  let worst = -1;
  let worstStart = 0;
  let worstSum = 0;
  for (const e of members) {
    for (let h = 0; h + span <= H; h++) {
      let sum = 0;
      for (let i = 0; i < span; i++) sum += model.hourlyRequests[e * H + h + i];
      if (sum > worstSum) {
        worstSum = sum;
        worst = e;
        worstStart = h;
      }
    }
  }
  const spikeBase = new Float64Array(worst >= 0 ? span : 0);
  const spikeAdded = new Float64Array(worst >= 0 ? span : 0);
  for (let i = 0; i < spikeBase.length; i++) {
    const h = worstStart + i;
    spikeBase[i] = profile.lambda[h];
    spikeAdded[i] = ((SPIKE_FACTOR - 1) * model.hourlyRequests[worst * H + h]) / model.hourSeconds;
  }
  return {
    spikeBase,
    spikeAdded,
    newcomerBase: catchAll ? profile.lambda : undefined,
    newcomerAdded: catchAll ? newcomerRate(model) : 0,
    floorRate,
    hourSeconds: model.hourSeconds,
    monthScale: model.monthScale,
    cache: new Map(),
  };
}

/** Extra traces per month in each stress case under a reservoir and fixed rate (above the floor). */
export function exposureOf(g: GroupExposure, reservoir: number, fixedRate: number): Exposure {
  const raw = rawExposure(g, reservoir, fixedRate);
  if (g.floorRate <= 0) return raw;
  const floor = rawExposure(g, 0, g.floorRate);
  return {
    spike: Math.max(0, raw.spike - floor.spike),
    newcomer: Math.max(0, raw.newcomer - floor.newcomer),
  };
}

/**
 * For a reservoir k, a rule's traces per second are m(λ) + f·(λ − m(λ)) with m = E[min(N, k)],
 * so the extra traces of a stress case are A + f·B with A and B fixed per reservoir: computed
 * once per reservoir, every fixed rate costs O(1). Unlike {@link exposureOf}, nothing pinned is
 * taken off.
 */
export function rawExposure(g: GroupExposure, reservoir: number, fixedRate: number): Exposure {
  let terms = g.cache.get(reservoir);
  if (!terms) {
    terms = { spikeA: 0, spikeB: 0, newcomerA: 0, newcomerB: 0 };
    for (let i = 0; i < g.spikeBase.length; i++) {
      const before = g.spikeBase[i];
      const after = before + g.spikeAdded[i];
      const mBefore = expectedReservoirTraces(before, reservoir);
      const mAfter = expectedReservoirTraces(after, reservoir);
      terms.spikeA += mAfter - mBefore;
      terms.spikeB += after - mAfter - (before - mBefore);
    }
    if (g.newcomerBase) {
      for (let h = 0; h < g.newcomerBase.length; h++) {
        const before = g.newcomerBase[h];
        const after = before + g.newcomerAdded;
        const mBefore = expectedReservoirTraces(before, reservoir);
        const mAfter = expectedReservoirTraces(after, reservoir);
        terms.newcomerA += mAfter - mBefore;
        terms.newcomerB += after - mAfter - (before - mBefore);
      }
    }
    g.cache.set(reservoir, terms);
  }
  const scale = g.hourSeconds * g.monthScale;
  return {
    spike: (terms.spikeA + fixedRate * terms.spikeB) * scale,
    newcomer: (terms.newcomerA + fixedRate * terms.newcomerB) * scale,
  };
}

export interface ExposureCaps {
  spike: number;
  newcomer: number;
}

export function withinCaps(exposure: Exposure, caps: ExposureCaps): boolean {
  return exposure.spike <= caps.spike * (1 + 1e-9) && exposure.newcomer <= caps.newcomer * (1 + 1e-9);
}

/**
 * The largest fixed rate (at least `minFixedRate`) whose exposure stays within the caps for a
 * reservoir, or -1 when even the minimum exceeds them. Exposure grows with the fixed rate.
 */
export function maxFixedRateWithin(
  g: GroupExposure,
  reservoir: number,
  caps: ExposureCaps,
  minFixedRate: number,
): number {
  const fits = (rate: number) => withinCaps(exposureOf(g, reservoir, rate), caps);
  return fits(minFixedRate) ? largestRateWhere(minFixedRate, 1, fits) : -1;
}
