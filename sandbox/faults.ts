/**
 * Fault injection per operation: throttling, server errors, slow answers and dropped
 * connections, at given rates, from a seeded random source so that a test sees the same
 * faults on every run. Changeable while the sandbox runs.
 */
import { SeededRandom } from "./seeded-random.ts";

export interface FaultSpec {
  /** Share of calls answered with the service's throttling error (X-Ray: ThrottledException, 429). */
  throttleRate?: number;
  /** Share of calls answered 503 ServiceUnavailable. */
  serverErrorRate?: number;
  /** Share of calls whose connection is closed without an answer. */
  dropRate?: number;
  /** Real milliseconds added before every answer of the operation. */
  latencyMs?: number;
  /** At most this many faults from this spec, then it stays quiet (e.g. "the first 2 calls fail"). */
  times?: number;
}

/** Faults by operation name (`GetSamplingRules`, `GetMetricData`, …); `*` applies to every operation. */
export type FaultConfig = Record<string, FaultSpec>;

export type FaultKind = "throttle" | "server-error" | "drop";

export interface FaultDecision {
  kind?: FaultKind;
  latencyMs: number;
}

export interface InjectedFault {
  operation: string;
  kind: FaultKind;
}

export class FaultInjector {
  private specs = new Map<string, FaultSpec & { used: number }>();
  private readonly random: SeededRandom;
  /** Every fault injected so far, in order. */
  readonly injected: InjectedFault[] = [];

  constructor(config: FaultConfig = {}, seed = 1) {
    this.random = SeededRandom.derive(seed, "faults");
    for (const [operation, spec] of Object.entries(config)) this.set(operation, spec);
  }

  /** Replaces the faults of one operation (or `*`). */
  set(operation: string, spec: FaultSpec): void {
    for (const key of ["throttleRate", "serverErrorRate", "dropRate"] as const) {
      const rate = spec[key];
      if (rate !== undefined && !(rate >= 0 && rate <= 1)) {
        throw new Error(`faults.${operation}.${key} must be between 0 and 1, got ${rate}`);
      }
    }
    if (spec.latencyMs !== undefined && !(spec.latencyMs >= 0)) {
      throw new Error(`faults.${operation}.latencyMs must not be negative, got ${spec.latencyMs}`);
    }
    this.specs.set(operation, { ...spec, used: 0 });
  }

  /** Removes the faults of one operation, or of all when none is named. */
  clear(operation?: string): void {
    if (operation === undefined) this.specs.clear();
    else this.specs.delete(operation);
  }

  /** What happens to this call. */
  decide(operation: string): FaultDecision {
    let latencyMs = 0;
    for (const key of [operation, "*"]) {
      const spec = this.specs.get(key);
      if (!spec) continue;
      latencyMs = Math.max(latencyMs, spec.latencyMs ?? 0);
      if (spec.times !== undefined && spec.used >= spec.times) continue;
      const draw = this.random.next();
      let threshold = 0;
      for (const [kind, rate] of [
        ["drop", spec.dropRate],
        ["throttle", spec.throttleRate],
        ["server-error", spec.serverErrorRate],
      ] as const) {
        threshold += rate ?? 0;
        if (draw < threshold) {
          spec.used++;
          this.injected.push({ operation, kind });
          return { kind, latencyMs };
        }
      }
    }
    return { latencyMs };
  }
}
