/**
 * Replays scenario traffic on the virtual clock and samples every request with the rules
 * currently in the emulated account, with X-Ray's semantics:
 *
 * - a request is matched by the first rule in evaluation order (priority, then name), using
 *   the same model as the planner (`shared/domain/sampling.ts`);
 * - per rule and second, the reservoir takes the first ReservoirSize requests, the fixed rate
 *   samples the rest;
 * - per rule and 10-second window, RequestCount and SampledCount go to the statistics;
 * - sampled requests become trace summaries (only sampled traces exist in X-Ray);
 * - every request counts in CloudWatch, under the dimensions of the configured metric sources.
 *
 * Work is done per slot (a minute when the period is a whole number of minutes): the period's
 * counts are split over its slots, a slot's requests over its seconds, and which requests were
 * sampled is drawn without replacement from the slot's requests, so that totals are exact and
 * the cost grows with the number of rules and sampled traces, not with the number of requests.
 */
import type { SamplingRule } from "../../shared/domain/formats.ts";
import {
  endpointOfMetric,
  type MetricDimension,
  metricDimensionsOf,
  type ResolvedMetricSource,
} from "../../shared/domain/metric-sources.ts";
import { evaluationOrder, firstMatches } from "../../shared/domain/sampling.ts";
import type { MetricStore } from "../cloudwatch/metric-store.ts";
import { SeededRandom } from "../seeded-random.ts";
import type { VirtualClock } from "../virtual-clock.ts";
import type { SamplingRuleStore } from "../xray/sampling-rules.ts";
import type { SamplingStatistics } from "../xray/sampling-statistics.ts";
import type { TraceStore } from "../xray/trace-store.ts";
import type { PeriodTraffic, ScenarioTraffic } from "./scenario-traffic.ts";

export interface TrafficSimulatorOptions {
  traffic: ScenarioTraffic;
  clock: VirtualClock;
  rules: SamplingRuleStore;
  statistics: SamplingStatistics;
  traces: TraceStore;
  metrics: MetricStore;
  /** Sources the endpoints' CloudWatch metrics are published under (the first that fits each endpoint). */
  metricSources: readonly ResolvedMetricSource[];
  seed: number;
  /** Seconds before a rule change reaches the simulated clients (X-Ray SDKs poll every 5 minutes). */
  rulePropagationSeconds?: number;
}

interface SlotRule {
  name: string;
  reservoir: number;
  fixedRate: number;
  endpoints: number[];
  /** Requests per second of the slot. */
  perSecond: Int32Array;
  sampledPerSecond: Int32Array;
  requests: number;
  sampled: number;
}

interface Slot {
  startMs: number;
  seconds: number;
  /** Seconds already simulated. */
  done: number;
  rules: SlotRule[];
  /** Per endpoint: requests, errors (4xx), faults (5xx) in the slot. */
  requests: Int32Array;
  errors: Int32Array;
  faults: Int32Array;
}

const FAULT_STATUSES = [500, 502, 503, 504];
const ERROR_STATUSES = [400, 403, 404, 429];

export class TrafficSimulator {
  private readonly o: TrafficSimulatorOptions;
  private readonly random: SeededRandom;
  private readonly slotSeconds: number;
  /** CloudWatch dimensions per endpoint and source (undefined: no source can report it). */
  private readonly published: { source: ResolvedMetricSource; dimensions: MetricDimension[] }[][];
  /** Endpoints no metric source can report: they have traffic and traces but no metrics. */
  readonly unpublishedEndpoints: number[] = [];

  // Period state: what is left of each endpoint's period counts.
  private periodId: string | undefined;
  private remaining = {
    requests: new Float64Array(0),
    errors: new Float64Array(0),
    faults: new Float64Array(0),
  };

  // Rules in force for the simulated clients.
  private appliedVersion = -1;
  private changeSeenAt: number | undefined;
  private ordered: SamplingRule[] = [];
  private matchOf: Int32Array = new Int32Array(0);

  private slot: Slot | undefined;
  private slotsClosed = 0;
  private carryMs = 0;
  private autoTimer: NodeJS.Timeout | undefined;
  /** Requests and sampled traces simulated so far. */
  readonly totals = { requests: 0, sampled: 0 };

  constructor(options: TrafficSimulatorOptions) {
    this.o = options;
    this.random = SeededRandom.derive(options.seed, "traffic");
    this.slotSeconds = gcd(options.traffic.periodSeconds, 60);
    const n = options.traffic.endpoints.length;
    this.remaining = {
      requests: new Float64Array(n),
      errors: new Float64Array(n),
      faults: new Float64Array(n),
    };
    this.published = options.traffic.endpoints.map((endpoint, index) => {
      for (const source of options.metricSources) {
        const dimensions = metricDimensionsOf(source, endpoint);
        if (dimensions && endpointOfMetric(source, dimensions)) return [{ source, dimensions }];
      }
      this.unpublishedEndpoints.push(index);
      return [];
    });
  }

  /** Simulates the next `seconds` of virtual time (fractions carry over to the next call). */
  advance(seconds: number): void {
    if (!(seconds >= 0)) throw new Error(`advance() takes a non-negative number of seconds, got ${seconds}`);
    const totalMs = seconds * 1000 + this.carryMs;
    const whole = Math.floor(totalMs / 1000);
    this.carryMs = totalMs - whole * 1000;
    this.runUntil(this.o.clock.now() + whole * 1000);
  }

  /** Simulates up to `time` (virtual), second by second; a part of a second left over waits for the next call. */
  runUntil(time: number | Date | string): void {
    const target = new Date(time).getTime();
    const clock = this.o.clock;
    while (clock.now() + 1000 <= target) {
      const now = clock.now();
      if (!this.slot) this.slot = this.openSlot(now);
      this.simulateSecond(this.slot, now);
      clock.setTo(now + 1000);
      if (this.slot.done === this.slot.seconds) {
        this.closeSlot(this.slot);
        this.slot = undefined;
      }
    }
  }

  /** Advances `speed` virtual seconds per real second until stopped. */
  startAutoAdvance(speed: number, tickMs = 250): void {
    if (!(speed > 0)) throw new Error(`speed must be positive, got ${speed}`);
    this.stopAutoAdvance();
    this.autoTimer = setInterval(() => this.advance((speed * tickMs) / 1000), tickMs);
    this.autoTimer.unref();
  }

  stopAutoAdvance(): void {
    if (this.autoTimer) clearInterval(this.autoTimer);
    this.autoTimer = undefined;
  }

  /** The rules the simulated clients use now (after propagation). */
  rulesInForce(): readonly SamplingRule[] {
    this.refreshRules(this.o.clock.now());
    return this.ordered;
  }

  // -------------------------------------------------------------------------------------------

  private refreshRules(nowMs: number): void {
    const store = this.o.rules;
    if (store.version === this.appliedVersion) return;
    const delay = (this.o.rulePropagationSeconds ?? 0) * 1000;
    if (this.appliedVersion >= 0 && delay > 0) {
      this.changeSeenAt ??= nowMs;
      if (nowMs - this.changeSeenAt < delay) return;
    }
    this.changeSeenAt = undefined;
    this.appliedVersion = store.version;
    this.ordered = evaluationOrder(store.samplingRules());
    this.matchOf = firstMatches(this.ordered, this.o.traffic.endpoints);
  }

  private openSlot(nowMs: number): Slot {
    this.refreshRules(nowMs);
    const slotMs = this.slotSeconds * 1000;
    const startMs = Math.floor(nowMs / slotMs) * slotMs;
    const seconds = this.slotSeconds - Math.floor((nowMs - startMs) / 1000);
    const slotStart = nowMs;
    const endpoints = this.o.traffic.endpoints.length;
    const slot: Slot = {
      startMs: slotStart,
      seconds,
      done: 0,
      rules: [],
      requests: new Int32Array(endpoints),
      errors: new Int32Array(endpoints),
      faults: new Int32Array(endpoints),
    };
    const period = this.o.traffic.periodAt(nowMs);
    if (!period) return slot;
    this.loadPeriod(period);
    // Share of what is left of the period that falls in this slot.
    const share = Math.min(1, (seconds * 1000) / Math.max(1000, period.endMs - nowMs));
    const rem = this.remaining;
    const byRule = new Map<number, number[]>();
    for (let e = 0; e < endpoints; e++) {
      const left = rem.requests[e];
      if (left <= 0) continue;
      const r = this.random.binomial(left, share);
      if (r === 0) continue;
      const f = hypergeometric(this.random, left, rem.faults[e], r);
      const err = hypergeometric(this.random, left - rem.faults[e], rem.errors[e], r - f);
      rem.requests[e] -= r;
      rem.faults[e] -= f;
      rem.errors[e] -= err;
      slot.requests[e] = r;
      slot.faults[e] = f;
      slot.errors[e] = err;
      const rule = this.matchOf[e];
      if (rule < 0) continue;
      let list = byRule.get(rule);
      if (!list) {
        list = [];
        byRule.set(rule, list);
      }
      list.push(e);
    }
    for (const [ruleIndex, members] of byRule) {
      const rule = this.ordered[ruleIndex];
      let total = 0;
      for (const e of members) total += slot.requests[e];
      slot.rules.push({
        name: rule.RuleName,
        reservoir: rule.ReservoirSize,
        fixedRate: rule.FixedRate,
        endpoints: members,
        perSecond: spreadOverSeconds(this.random, total, seconds),
        sampledPerSecond: new Int32Array(seconds),
        requests: total,
        sampled: 0,
      });
    }
    return slot;
  }

  private loadPeriod(period: PeriodTraffic): void {
    if (period.id === this.periodId) return;
    this.periodId = period.id;
    const rem = this.remaining;
    for (let e = 0; e < this.o.traffic.endpoints.length; e++) {
      const c = period.counts(e);
      const requests = c?.requests ?? 0;
      const faults = Math.min(c?.faults ?? 0, requests);
      rem.requests[e] = requests;
      rem.faults[e] = faults;
      rem.errors[e] = Math.min(c?.errors ?? 0, requests - faults);
    }
  }

  private simulateSecond(slot: Slot, nowMs: number): void {
    const s = slot.done;
    for (const rule of slot.rules) {
      const n = rule.perSecond[s];
      if (n === 0) continue;
      const taken = Math.min(n, rule.reservoir);
      const sampled = taken + this.random.binomial(n - taken, rule.fixedRate);
      rule.sampledPerSecond[s] = sampled;
      rule.sampled += sampled;
      this.o.statistics.record(rule.name, nowMs, n, sampled);
    }
    slot.done++;
  }

  private closeSlot(slot: Slot): void {
    const traces: { timeMs: number; endpoint: number; status: number; responseTimeMs: number }[] = [];
    for (const rule of slot.rules) {
      this.totals.requests += rule.requests;
      this.totals.sampled += rule.sampled;
      if (rule.sampled === 0) continue;
      // Which of the rule's requests were sampled: drawn without replacement over
      // (endpoint, outcome) categories.
      const items: { endpoint: number; outcome: 0 | 1 | 2 }[] = [];
      let populationLeft = rule.requests;
      let sampleLeft = rule.sampled;
      for (const e of rule.endpoints) {
        if (sampleLeft === 0) break;
        const categories: [0 | 1 | 2, number][] = [
          [2, slot.faults[e]],
          [1, slot.errors[e]],
          [0, slot.requests[e] - slot.faults[e] - slot.errors[e]],
        ];
        for (const [outcome, count] of categories) {
          if (count === 0) continue;
          const k = hypergeometric(this.random, populationLeft, count, sampleLeft);
          for (let i = 0; i < k; i++) items.push({ endpoint: e, outcome });
          populationLeft -= count;
          sampleLeft -= k;
          if (sampleLeft === 0) break;
        }
      }
      this.random.shuffle(items);
      let next = 0;
      for (let s = 0; s < rule.sampledPerSecond.length; s++) {
        for (let i = 0; i < rule.sampledPerSecond[s] && next < items.length; i++) {
          const item = items[next++];
          traces.push({
            timeMs: slot.startMs + s * 1000 + Math.floor(this.random.next() * 1000),
            endpoint: item.endpoint,
            status:
              item.outcome === 2
                ? this.random.pick(FAULT_STATUSES)
                : item.outcome === 1
                  ? this.random.pick(ERROR_STATUSES)
                  : 200,
            responseTimeMs: this.responseTime(item.endpoint, item.outcome),
          });
        }
      }
    }
    traces.sort((a, b) => a.timeMs - b.timeMs);
    for (const t of traces) this.o.traces.add(t.timeMs, t.endpoint, t.status, t.responseTimeMs);
    this.o.traces.prune(this.o.clock.now());
    this.publishMetrics(slot);
    // A long-running sandbox forgets what AWS would have forgotten (CloudWatch keeps minute data 15 days).
    if (++this.slotsClosed % 60 === 0) {
      this.o.statistics.prune(this.o.clock.now());
      this.o.metrics.prune(this.o.clock.now() - 15 * 86_400_000);
    }
  }

  private publishMetrics(slot: Slot): void {
    const metrics = this.o.metrics;
    const slotTime = Math.floor(slot.startMs / (this.slotSeconds * 1000)) * this.slotSeconds * 1000;
    for (let e = 0; e < slot.requests.length; e++) {
      const requests = slot.requests[e];
      if (requests === 0) continue;
      for (const { source, dimensions } of this.published[e]) {
        metrics.put(source.namespace, source.metrics.requests, dimensions, slotTime, requests);
        if (source.metrics.errors)
          metrics.put(source.namespace, source.metrics.errors, dimensions, slotTime, slot.errors[e]);
        if (source.metrics.faults)
          metrics.put(source.namespace, source.metrics.faults, dimensions, slotTime, slot.faults[e]);
      }
    }
  }

  /** Milliseconds: a per-endpoint typical latency with log-normal noise; failures are slower. */
  private responseTime(endpoint: number, outcome: 0 | 1 | 2): number {
    const typical = 20 + ((endpoint * 2654435761) % 400);
    const noise = Math.exp(0.5 * this.random.normal());
    return Math.round(typical * noise * (outcome === 2 ? 4 : 1));
  }
}

/** Splits `total` requests uniformly at random over `seconds` seconds (a multinomial draw). */
function spreadOverSeconds(random: SeededRandom, total: number, seconds: number): Int32Array {
  const out = new Int32Array(seconds);
  if (total <= 4 * seconds) {
    for (let i = 0; i < total; i++) out[random.int(seconds)]++;
    return out;
  }
  let left = total;
  for (let s = 0; s < seconds - 1 && left > 0; s++) {
    const n = random.binomial(left, 1 / (seconds - s));
    out[s] = n;
    left -= n;
  }
  out[seconds - 1] += left;
  return out;
}

/**
 * Successes in n draws without replacement from N items of which K are successes. Exact
 * (draw by draw) for small n, the normal approximation otherwise, always within the feasible
 * range so that totals stay exact. SeededRandom has no hypergeometric draw, and the one on npm
 * (@stdlib/random-base-hypergeometric) returned 0 for every large case we tried.
 */
export function hypergeometric(random: SeededRandom, N: number, K: number, n: number): number {
  if (n <= 0 || K <= 0) return 0;
  if (n >= N) return K;
  if (K >= N) return n;
  const lo = Math.max(0, n - (N - K));
  const hi = Math.min(n, K);
  if (lo === hi) return lo;
  if (n <= 40 || K <= 40) {
    // Draw by draw over the smaller side.
    if (n <= K) {
      let k = 0;
      let successes = K;
      let population = N;
      for (let i = 0; i < n; i++) {
        if (random.next() * population < successes) {
          k++;
          successes--;
        }
        population--;
      }
      return k;
    }
    // Few successes: for each success, whether it is among the n drawn.
    let k = 0;
    let drawn = n;
    let population = N;
    for (let i = 0; i < K; i++) {
      if (random.next() * population < drawn) {
        k++;
        drawn--;
      }
      population--;
    }
    return k;
  }
  const p = K / N;
  const variance = (n * p * (1 - p) * (N - n)) / (N - 1);
  const value = Math.round(n * p + Math.sqrt(variance) * random.normal());
  return Math.min(hi, Math.max(lo, value));
}

function gcd(a: number, b: number): number {
  let x = Math.abs(Math.round(a));
  let y = Math.abs(Math.round(b));
  while (y) [x, y] = [y, x % y];
  return Math.max(1, x);
}
