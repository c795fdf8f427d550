/**
 * The traffic the plan will face, per endpoint and hour of the day.
 *
 * The plan takes effect at the end of the snapshot, so the next day's hour h is forecast by the
 * snapshot's hour h (same time of day): requests follow yesterday's daily profile. Errors and
 * faults do not come back in the same hours, so they are forecast as a chance per hour and an
 * intensity: each hour tomorrow an endpoint fails with the share of hours it failed in
 * yesterday (shrunk toward the fleet's share, so an endpoint that never failed keeps a small
 * chance), and when it fails, it fails with yesterday's errors-per-request in those hours. The
 * recent past overrides the first hours: an endpoint failing or spiking right now is expected
 * to go on doing so for a while.
 */
import type { Endpoint, Snapshot } from "../formats.ts";
import { type RequestFields, requestOf } from "../sampling.ts";
import { periodsPerHour, SECONDS_PER_MONTH } from "../scoring.ts";

export interface RecentSignal {
  /** Requests per second in the recent window. */
  requestRate: number;
  /** Requests per second in the hour before it. */
  referenceRate: number;
  /** Share of recent requests that were 5xx, and 4xx + 5xx. */
  faultRatio: number;
  errorRatio: number;
  spike: boolean;
  incident: boolean;
}

/** Per endpoint and hour (flat: [row * hours + hour]): when it fails, how hard, and how likely. */
export interface FailureForecast {
  /** Expected count in the hour if the endpoint fails in it. */
  count: Float64Array;
  /** Chance that the endpoint fails at all in the hour. */
  chance: Float64Array;
}

export interface TrafficModel {
  periodSeconds: number;
  hours: number;
  hourSeconds: number;
  windowSeconds: number;
  /** Multiplies a count over the window into a count per 30-day month. */
  monthScale: number;
  endpoints: Endpoint[];
  requests: RequestFields[];
  /** Forecast requests per endpoint and hour, flat: [row * hours + hour]. */
  hourlyRequests: Float64Array;
  /** 4xx + 5xx, and 5xx alone. */
  errors: FailureForecast;
  faults: FailureForecast;
  /** Forecast requests over the window, per row. */
  totals: Float64Array;
  /** Hours of the snapshot with errors (4xx + 5xx) and with faults, per endpoint. */
  observedErrorHours: Float64Array;
  observedFaultHours: Float64Array;
  /**
   * Row index of a virtual endpoint standing for one that appears after the snapshot: as busy
   * as a median endpoint, on the fleet's daily profile, failing twice as often as the fleet.
   * It is not in `endpoints`; the catch-all rule carries it, so Default keeps sampling what no
   * rule was made for.
   */
  newcomer: number;
  recent: RecentSignal[];
}

export interface ForecastOptions {
  /** Seconds at the end of the snapshot that count as "now". */
  recentSeconds: number;
  /** How many hours an incident seen just now is expected to last. */
  incidentHours?: number;
  /** How many hours a spike seen just now is expected to last. */
  spikeHours?: number;
}

const RECENT_SPIKE_FACTOR = 3;
const MIN_SPIKE_REQUESTS = 30;
/** Pseudo-hours of the fleet's failure chance mixed into each endpoint's own. */
const CHANCE_PRIOR_HOURS = 3;
/** Pseudo-requests of the fleet's failure intensity mixed into each endpoint's own. */
const INTENSITY_PRIOR_REQUESTS = 200;
const NEWCOMER_FAILURE_FACTOR = 2;

export function buildTrafficModel(snapshot: Snapshot, options: ForecastOptions): TrafficModel {
  const { endpoints, periodSeconds } = snapshot;
  const periods = endpoints[0]?.requests.length ?? 0;
  const perHour = periodsPerHour(periodSeconds);
  const hours = Math.max(1, Math.ceil(periods / perHour));
  const hourSeconds = perHour * periodSeconds;
  const windowSeconds = Math.max(periodSeconds, periods * periodSeconds);
  const incidentHours = Math.min(hours, options.incidentHours ?? 3);
  const spikeHours = Math.min(hours, options.spikeHours ?? 2);
  const recentPeriods = Math.min(periods, Math.max(1, Math.round(options.recentSeconds / periodSeconds)));
  const referencePeriods = Math.min(periods - recentPeriods, perHour);

  const E = endpoints.length;
  const rows = E + 1;
  const hourlyRequests = new Float64Array(rows * hours);
  const observedErrors = new Float64Array(E * hours);
  const observedFaults = new Float64Array(E * hours);
  for (let e = 0; e < E; e++) {
    const ep = endpoints[e];
    for (let t = 0; t < periods; t++) {
      const i = e * hours + Math.floor(t / perHour);
      hourlyRequests[i] += ep.requests[t];
      observedErrors[i] += ep.errors[t] + ep.faults[t];
      observedFaults[i] += ep.faults[t];
    }
  }
  const errors = forecastFailures(hourlyRequests, observedErrors, E, hours);
  const faults = forecastFailures(hourlyRequests, observedFaults, E, hours);
  const observedErrorHours = countHours(observedErrors, E, hours);
  const observedFaultHours = countHours(observedFaults, E, hours);

  // The first forecast hours are "now": carry a spike or an incident into them.
  const recent: RecentSignal[] = [];
  for (let e = 0; e < E; e++) {
    const signal = recentSignal(endpoints[e], periods, recentPeriods, referencePeriods, periodSeconds);
    recent.push(signal);
    const base = e * hours;
    if (signal.spike) {
      const factor = signal.requestRate / Math.max(signal.referenceRate, 1e-9);
      for (let h = 0; h < spikeHours; h++) {
        hourlyRequests[base + h] *= factor;
        errors.count[base + h] *= factor;
        faults.count[base + h] *= factor;
      }
    }
    if (signal.incident) {
      // Failing now makes the next hours certain to fail; how hard stays the endpoint's usual
      // intensity (at least one): a heavy incident's first faults are easy to catch at any rate,
      // but the hours to come may fail more quietly, and those need sampling.
      for (let h = 0; h < incidentHours; h++) {
        if (hourlyRequests[base + h] <= 0) continue;
        if (signal.faultRatio > 0) {
          faults.count[base + h] = Math.max(1, faults.count[base + h] * faults.chance[base + h]);
          faults.chance[base + h] = 1;
        }
        errors.count[base + h] = Math.max(1, errors.count[base + h] * errors.chance[base + h]);
        errors.chance[base + h] = 1;
      }
    }
  }

  addNewcomer(hourlyRequests, errors, faults, observedErrors, observedFaults, E, hours);
  const totals = new Float64Array(rows);
  for (let row = 0; row < rows; row++) {
    for (let h = 0; h < hours; h++) totals[row] += hourlyRequests[row * hours + h];
  }

  return {
    periodSeconds,
    hours,
    hourSeconds,
    windowSeconds,
    monthScale: SECONDS_PER_MONTH / windowSeconds,
    endpoints,
    requests: endpoints.map(requestOf),
    hourlyRequests,
    errors,
    faults,
    totals,
    observedErrorHours,
    observedFaultHours,
    newcomer: E,
    recent,
  };
}

function countHours(counts: Float64Array, E: number, H: number): Float64Array {
  const out = new Float64Array(E);
  for (let e = 0; e < E; e++) for (let h = 0; h < H; h++) if (counts[e * H + h] > 0) out[e]++;
  return out;
}

/**
 * Chance and intensity per endpoint-hour from what an endpoint did yesterday. The chance that an
 * hour has failures grows with the hour's traffic, 1 − e^{−κ·n_h}, with κ fitted so the chances
 * add up to the hours that failed yesterday (shrunk toward the fleet's share of failing hours, so
 * an endpoint that never failed keeps a small chance); given that it fails, it fails with its
 * failures per request (shrunk toward the fleet's) spread over that chance.
 */
function forecastFailures(
  requests: Float64Array,
  observed: Float64Array,
  E: number,
  H: number,
): FailureForecast {
  const rows = E + 1;
  const count = new Float64Array(rows * H);
  const chance = new Float64Array(rows * H);
  let fleetHours = 0;
  let fleetFailingHours = 0;
  let fleetFailures = 0;
  let fleetRequests = 0;
  for (let i = 0; i < E * H; i++) {
    if (requests[i] <= 0) continue;
    fleetHours++;
    fleetRequests += requests[i];
    fleetFailures += observed[i];
    if (observed[i] > 0) fleetFailingHours++;
  }
  const fleetShare = fleetHours > 0 ? fleetFailingHours / fleetHours : 0;
  const fleetRate = fleetRequests > 0 ? fleetFailures / fleetRequests : 0;
  for (let e = 0; e < E; e++) {
    let activeHours = 0;
    let failingHours = 0;
    let failures = 0;
    let total = 0;
    for (let h = 0; h < H; h++) {
      const i = e * H + h;
      if (requests[i] <= 0) continue;
      activeHours++;
      total += requests[i];
      failures += observed[i];
      if (observed[i] > 0) failingHours++;
    }
    if (activeHours === 0) continue;
    const expectedHours = Math.min(
      activeHours * 0.999,
      (activeHours * (failingHours + CHANCE_PRIOR_HOURS * fleetShare)) / (activeHours + CHANCE_PRIOR_HOURS),
    );
    const rate = (failures + INTENSITY_PRIOR_REQUESTS * fleetRate) / (total + INTENSITY_PRIOR_REQUESTS);
    const kappa = fitChanceScale(requests, e * H, H, expectedHours);
    for (let h = 0; h < H; h++) {
      const i = e * H + h;
      if (requests[i] <= 0) continue;
      const c = Math.max(1e-9, -Math.expm1(-kappa * requests[i]));
      chance[i] = c;
      // Expected failures in the hour, spread over the chance that it has any; at least one.
      count[i] = Math.max(1, (rate * requests[i]) / c);
    }
  }
  return { count, chance };
}

/** κ such that Σ_h (1 − e^{−κ·n_h}) equals the expected failing hours (bisection in log κ). */
function fitChanceScale(requests: Float64Array, base: number, H: number, target: number): number {
  if (target <= 0) return 0;
  const hours = (kappa: number) => {
    let sum = 0;
    for (let h = 0; h < H; h++) if (requests[base + h] > 0) sum += -Math.expm1(-kappa * requests[base + h]);
    return sum;
  };
  let lo = -30;
  let hi = 10;
  for (let i = 0; i < 32; i++) {
    const mid = (lo + hi) / 2;
    if (hours(Math.exp(mid)) < target) lo = mid;
    else hi = mid;
  }
  return Math.exp((lo + hi) / 2);
}

function addNewcomer(
  requests: Float64Array,
  errors: FailureForecast,
  faults: FailureForecast,
  observedErrors: Float64Array,
  observedFaults: Float64Array,
  E: number,
  H: number,
): void {
  const totals: number[] = [];
  const profile = new Float64Array(H);
  let all = 0;
  let allErrors = 0;
  let allFaults = 0;
  for (let e = 0; e < E; e++) {
    let total = 0;
    for (let h = 0; h < H; h++) {
      const r = requests[e * H + h];
      total += r;
      profile[h] += r;
      allErrors += observedErrors[e * H + h];
      allFaults += observedFaults[e * H + h];
    }
    all += total;
    if (total > 0) totals.push(total);
  }
  if (totals.length === 0 || all <= 0) return;
  totals.sort((a, b) => a - b);
  const median = totals[Math.floor(totals.length / 2)];
  const base = E * H;
  for (let h = 0; h < H; h++) {
    const r = (median * profile[h]) / all;
    requests[base + h] = r;
    errors.count[base + h] = (NEWCOMER_FAILURE_FACTOR * r * allErrors) / all;
    errors.chance[base + h] = 1;
    faults.count[base + h] = (NEWCOMER_FAILURE_FACTOR * r * allFaults) / all;
    faults.chance[base + h] = 1;
  }
}

function recentSignal(
  ep: Endpoint,
  periods: number,
  recentPeriods: number,
  referencePeriods: number,
  periodSeconds: number,
): RecentSignal {
  let recentRequests = 0;
  let recentFaults = 0;
  let recentErrors = 0;
  for (let t = periods - recentPeriods; t < periods; t++) {
    recentRequests += ep.requests[t];
    recentFaults += ep.faults[t];
    recentErrors += ep.errors[t] + ep.faults[t];
  }
  let referenceRequests = 0;
  let referenceFaults = 0;
  let referenceErrors = 0;
  const from = periods - recentPeriods - referencePeriods;
  for (let t = from; t < periods - recentPeriods; t++) {
    referenceRequests += ep.requests[t];
    referenceFaults += ep.faults[t];
    referenceErrors += ep.errors[t] + ep.faults[t];
  }
  const requestRate = recentRequests / (recentPeriods * periodSeconds);
  const referenceRate =
    referencePeriods > 0 ? referenceRequests / (referencePeriods * periodSeconds) : requestRate;
  const faultRatio = recentRequests > 0 ? recentFaults / recentRequests : 0;
  const errorRatio = recentRequests > 0 ? recentErrors / recentRequests : 0;
  const referenceFaultRatio = referenceRequests > 0 ? referenceFaults / referenceRequests : 0;
  const referenceErrorRatio = referenceRequests > 0 ? referenceErrors / referenceRequests : 0;
  const spike =
    referencePeriods > 0 &&
    recentRequests >= MIN_SPIKE_REQUESTS &&
    requestRate > RECENT_SPIKE_FACTOR * referenceRate;
  // Failing now: faults (or errors) well above what the previous hour's ratio predicts.
  const incident =
    (recentFaults >= 2 && faultRatio > 3 * referenceFaultRatio + 0.01) ||
    (recentErrors >= 3 && errorRatio > 3 * referenceErrorRatio + 0.05);
  return { requestRate, referenceRate, faultRatio, errorRatio, spike, incident };
}
