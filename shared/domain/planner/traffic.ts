/**
 * The traffic the plan will face: the snapshot's daily profile per endpoint and hour, adjusted
 * for what the last periods show (an endpoint that started failing or spiking just now).
 *
 * The plan takes effect at the end of the snapshot, so the next day's hour h is forecast by the
 * snapshot's hour h (the same time of day). The recent past overrides the first hours.
 */
import type { Endpoint, Snapshot } from "../formats.ts";
import { endpointKey, type RequestFields, requestOf } from "../sampling.ts";
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

export interface TrafficModel {
  hours: number;
  hourSeconds: number;
  windowSeconds: number;
  /** Multiplies a count over the window into a count per 30-day month. */
  monthScale: number;
  endpoints: Endpoint[];
  keys: string[];
  requests: RequestFields[];
  /** Forecast counts per endpoint and hour, flat: [endpoint * hours + hour]. */
  hourlyRequests: Float64Array;
  hourlyErrors: Float64Array;
  hourlyFaults: Float64Array;
  /** Forecast requests over the window, per endpoint. */
  totals: Float64Array;
  /** Observed requests in the snapshot window, per endpoint. */
  observedTotals: Float64Array;
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

const SPIKE_FACTOR = 3;
const MIN_SPIKE_REQUESTS = 30;

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
  const hourlyErrors = new Float64Array(rows * hours);
  const hourlyFaults = new Float64Array(rows * hours);
  const totals = new Float64Array(rows);
  const observedTotals = new Float64Array(E);
  const recent: RecentSignal[] = [];

  for (let e = 0; e < E; e++) {
    const ep = endpoints[e];
    const base = e * hours;
    for (let t = 0; t < periods; t++) {
      const h = base + Math.floor(t / perHour);
      const r = ep.requests[t];
      hourlyRequests[h] += r;
      hourlyErrors[h] += ep.errors[t] + ep.faults[t];
      hourlyFaults[h] += ep.faults[t];
      observedTotals[e] += r;
    }
    const signal = recentSignal(ep, periods, recentPeriods, referencePeriods, periodSeconds);
    recent.push(signal);
    // The first forecast hours are "now": carry a spike or an incident into them.
    if (signal.spike) {
      const factor = signal.requestRate / Math.max(signal.referenceRate, 1e-9);
      for (let h = 0; h < spikeHours; h++) {
        hourlyRequests[base + h] *= factor;
        hourlyErrors[base + h] *= factor;
        hourlyFaults[base + h] *= factor;
      }
    }
    if (signal.incident) {
      for (let h = 0; h < incidentHours; h++) {
        const requests = Math.max(hourlyRequests[base + h], signal.requestRate * hourSeconds);
        hourlyRequests[base + h] = requests;
        hourlyFaults[base + h] = Math.max(hourlyFaults[base + h], signal.faultRatio * requests);
        hourlyErrors[base + h] = Math.max(hourlyErrors[base + h], signal.errorRatio * requests);
      }
    }
    for (let h = 0; h < hours; h++) totals[e] += hourlyRequests[base + h];
  }
  smoothErrorForecast(hourlyRequests, hourlyErrors, E, hours);
  smoothErrorForecast(hourlyRequests, hourlyFaults, E, hours);
  addNewcomer(hourlyRequests, hourlyErrors, hourlyFaults, totals, E, hours);

  return {
    hours,
    hourSeconds,
    windowSeconds,
    monthScale: SECONDS_PER_MONTH / windowSeconds,
    endpoints,
    keys: endpoints.map(endpointKey),
    requests: endpoints.map(requestOf),
    hourlyRequests,
    hourlyErrors,
    hourlyFaults,
    totals,
    observedTotals,
    recent,
    newcomer: E,
  };
}

const NEWCOMER_FAILURE_FACTOR = 2;

function addNewcomer(
  requests: Float64Array,
  errors: Float64Array,
  faults: Float64Array,
  totals: Float64Array,
  E: number,
  H: number,
): void {
  const busy = Array.from(totals.subarray(0, E))
    .filter((t) => t > 0)
    .sort((a, b) => a - b);
  if (busy.length === 0) return;
  const median = busy[Math.floor(busy.length / 2)];
  const profile = new Float64Array(H);
  let all = 0;
  let allErrors = 0;
  let allFaults = 0;
  for (let e = 0; e < E; e++) {
    for (let h = 0; h < H; h++) {
      profile[h] += requests[e * H + h];
      allErrors += errors[e * H + h];
      allFaults += faults[e * H + h];
    }
  }
  for (let h = 0; h < H; h++) all += profile[h];
  if (all <= 0) return;
  const base = E * H;
  for (let h = 0; h < H; h++) {
    const r = (median * profile[h]) / all;
    requests[base + h] = r;
    errors[base + h] = Math.min(r, (NEWCOMER_FAILURE_FACTOR * r * allErrors) / all);
    faults[base + h] = Math.min(r, (NEWCOMER_FAILURE_FACTOR * r * allFaults) / all);
  }
  totals[E] = median;
}

/**
 * Errors do not come back in the same hours tomorrow: an endpoint's errors are forecast as its
 * (shrunk) error rate spread over its traffic, mixed with a share of yesterday's own hours.
 * Shrinking toward the fleet's rate gives endpoints without errors yesterday a little of the
 * chance that they fail tomorrow.
 */
const SAME_HOUR_SHARE = 0.3;
const SHRINK_REQUESTS = 300;

function smoothErrorForecast(requests: Float64Array, counts: Float64Array, E: number, H: number): void {
  let allRequests = 0;
  let allCounts = 0;
  for (let i = 0; i < requests.length; i++) {
    allRequests += requests[i];
    allCounts += counts[i];
  }
  const fleetRate = allRequests > 0 ? allCounts / allRequests : 0;
  for (let e = 0; e < E; e++) {
    let r = 0;
    let c = 0;
    for (let h = 0; h < H; h++) {
      r += requests[e * H + h];
      c += counts[e * H + h];
    }
    const rate = (c + SHRINK_REQUESTS * fleetRate) / (r + SHRINK_REQUESTS);
    for (let h = 0; h < H; h++) {
      const i = e * H + h;
      counts[i] = SAME_HOUR_SHARE * counts[i] + (1 - SAME_HOUR_SHARE) * rate * requests[i];
    }
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
    requestRate > SPIKE_FACTOR * referenceRate;
  // Failing now: faults (or errors) well above what the previous hour's ratio predicts.
  const incident =
    (recentFaults >= 2 && faultRatio > 3 * referenceFaultRatio + 0.01) ||
    (recentErrors >= 3 && errorRatio > 3 * referenceErrorRatio + 0.05);
  return { requestRate, referenceRate, faultRatio, errorRatio, spike, incident };
}
