/**
 * Traffic to replay: one or more snapshot@1 documents (say, a day and the next day), their
 * endpoints joined by identity, looked up by time. Optionally repeated, so an auto-advancing
 * sandbox never runs out of traffic.
 */
import type { Endpoint, Snapshot } from "../../shared/domain/formats.ts";
import { endpointKey } from "../../shared/domain/sampling.ts";

/** An endpoint's fields (no series): what requests to it look like. */
export type TrafficEndpoint = Pick<Endpoint, "service" | "serviceType" | "host" | "method" | "path">;

export interface PeriodTraffic {
  /** Which document and period (changes when a new period starts). */
  id: string;
  /** Start and end of the period, milliseconds since the epoch (in virtual time). */
  startMs: number;
  endMs: number;
  /** Counts for the period, by endpoint index (undefined: the endpoint has no traffic then). */
  counts(endpoint: number): { requests: number; errors: number; faults: number } | undefined;
}

interface Window {
  snapshot: Snapshot;
  startMs: number;
  endMs: number;
  periodMs: number;
  /** Union endpoint index → index into snapshot.endpoints, or -1. */
  seriesOf: Int32Array;
}

export class ScenarioTraffic {
  readonly endpoints: TrafficEndpoint[] = [];
  readonly startMs: number;
  readonly endMs: number;
  readonly periodSeconds: number;
  private readonly windows: Window[];

  constructor(
    snapshots: readonly Snapshot[],
    private readonly repeat = false,
  ) {
    if (snapshots.length === 0) throw new Error("a scenario needs at least one snapshot");
    const periodSeconds = snapshots[0].periodSeconds;
    for (const s of snapshots) {
      if (s.periodSeconds !== periodSeconds) {
        throw new Error(`every scenario snapshot must have the same periodSeconds (${periodSeconds})`);
      }
    }
    this.periodSeconds = periodSeconds;
    const indexByKey = new Map<string, number>();
    for (const s of snapshots) {
      for (const e of s.endpoints) {
        const key = endpointKey(e);
        if (indexByKey.has(key)) continue;
        indexByKey.set(key, this.endpoints.length);
        this.endpoints.push({
          service: e.service,
          serviceType: e.serviceType,
          host: e.host,
          method: e.method,
          path: e.path,
        });
      }
    }
    this.windows = [...snapshots]
      .map((snapshot) => {
        const startMs = Date.parse(snapshot.start);
        const periods = snapshot.endpoints[0]?.requests.length ?? 0;
        const seriesOf = new Int32Array(this.endpoints.length).fill(-1);
        snapshot.endpoints.forEach((e, i) => {
          seriesOf[indexByKey.get(endpointKey(e)) as number] = i;
        });
        return {
          snapshot,
          startMs,
          endMs: startMs + periods * periodSeconds * 1000,
          periodMs: periodSeconds * 1000,
          seriesOf,
        };
      })
      .sort((a, b) => a.startMs - b.startMs);
    this.startMs = this.windows[0].startMs;
    this.endMs = Math.max(...this.windows.map((w) => w.endMs));
  }

  /** The period covering `timeMs`, or undefined when there is no traffic then. */
  periodAt(timeMs: number): PeriodTraffic | undefined {
    let t = timeMs;
    let shift = 0;
    if (this.repeat && t >= this.endMs) {
      const span = this.endMs - this.startMs;
      const cycles = Math.floor((t - this.startMs) / span);
      shift = cycles * span;
      t -= shift;
    }
    for (let w = this.windows.length - 1; w >= 0; w--) {
      const window = this.windows[w];
      if (t < window.startMs || t >= window.endMs) continue;
      const period = Math.floor((t - window.startMs) / window.periodMs);
      const startMs = window.startMs + period * window.periodMs + shift;
      const endpoints = window.snapshot.endpoints;
      return {
        id: `${w}:${period}:${shift}`,
        startMs,
        endMs: startMs + window.periodMs,
        counts: (endpoint) => {
          const i = window.seriesOf[endpoint];
          if (i < 0) return undefined;
          const e = endpoints[i];
          return { requests: e.requests[period], errors: e.errors[period], faults: e.faults[period] };
        },
      };
    }
    return undefined;
  }
}
