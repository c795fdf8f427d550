/**
 * Small hand-built scenarios for the sandbox tests: endpoints with steady traffic, so that
 * what the simulator should do can be worked out by hand.
 */
import { SNAPSHOT_FORMAT, type Snapshot } from "../../shared/domain/formats.ts";
import { samplingRule } from "../../shared/domain/sampling-rule.ts";

export const SCENARIO_START = "2026-11-16T00:00:00.000Z";

export interface SteadyEndpoint {
  service: string;
  method?: string;
  path: string;
  host?: string;
  serviceType?: string;
  /** Requests per period, every period. */
  requests: number;
  errors?: number;
  faults?: number;
}

/** A snapshot@1 with steady per-period counts (Default rule only unless rules are given). */
export function steadyScenario(
  endpoints: SteadyEndpoint[],
  options: { periods?: number; periodSeconds?: number; start?: string; rules?: Snapshot["rules"] } = {},
): Snapshot {
  const periods = options.periods ?? 12;
  return {
    format: SNAPSHOT_FORMAT,
    capturedAt: SCENARIO_START,
    region: "us-east-1",
    start: options.start ?? SCENARIO_START,
    periodSeconds: options.periodSeconds ?? 300,
    endpoints: endpoints.map((e) => ({
      service: e.service,
      serviceType: e.serviceType ?? "AWS::Lambda::Function",
      host: e.host ?? "api.example.com",
      method: e.method ?? "GET",
      path: e.path,
      requests: new Array(periods).fill(e.requests),
      errors: new Array(periods).fill(e.errors ?? 0),
      faults: new Array(periods).fill(e.faults ?? 0),
    })),
    rules: options.rules ?? [],
  };
}

/** A rule with X-Ray's fields, matching everything unless overridden. */
export function ruleFor(
  name: string,
  overrides: Partial<Snapshot["rules"][number]> = {},
): Snapshot["rules"][number] {
  return samplingRule({ RuleName: name, Priority: 100, ...overrides });
}
