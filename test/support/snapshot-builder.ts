/**
 * Small hand-built domain documents for unit tests: sampling rules, endpoints with traffic
 * series, snapshots and configs, each valid unless a test breaks one field on purpose.
 */
import {
  type Config,
  type ConfigInput,
  type Endpoint,
  parseConfig,
  type SamplingRule,
  SNAPSHOT_FORMAT,
  type Snapshot,
} from "../../shared/domain/formats.ts";
import { defaultRule } from "../../shared/domain/sampling-rule.ts";

export { defaultRule, samplingRule } from "../../shared/domain/sampling-rule.ts";

export const OWNER_TAG = { Key: "xray-governor:managed", Value: "true" };

export interface EndpointInput {
  service?: string;
  serviceType?: string;
  host?: string;
  method?: string;
  path: string;
  /** One count per period. */
  requests: number[];
  errors?: number[];
  faults?: number[];
}

export function endpoint(input: EndpointInput): Endpoint {
  const zeros = input.requests.map(() => 0);
  return {
    service: input.service ?? "shop-api",
    ...(input.serviceType ? { serviceType: input.serviceType } : {}),
    ...(input.host ? { host: input.host } : {}),
    method: input.method ?? "GET",
    path: input.path,
    requests: [...input.requests],
    errors: [...(input.errors ?? zeros)],
    faults: [...(input.faults ?? zeros)],
  };
}

/** The same count in every period. */
export function steady(count: number, periods: number): number[] {
  return Array.from({ length: periods }, () => count);
}

export interface SnapshotInput {
  endpoints: Endpoint[];
  rules?: SamplingRule[];
  periodSeconds?: number;
  start?: string;
  monthToDate?: Snapshot["monthToDate"];
}

/** A snapshot ending at the end of its last period; rules default to a fresh account's Default alone. */
export function snapshot(input: SnapshotInput): Snapshot {
  const periodSeconds = input.periodSeconds ?? 300;
  const start = input.start ?? "2026-11-16T00:00:00.000Z";
  const periods = input.endpoints[0]?.requests.length ?? 0;
  return {
    format: SNAPSHOT_FORMAT,
    capturedAt: new Date(Date.parse(start) + periods * periodSeconds * 1000).toISOString(),
    region: "us-east-1",
    start,
    periodSeconds,
    endpoints: input.endpoints,
    rules: input.rules ?? [defaultRule()],
    ...(input.monthToDate ? { monthToDate: input.monthToDate } : {}),
  };
}

/** A parsed config: every default filled in. */
export function config(input: Partial<ConfigInput> = {}): Config {
  return parseConfig({ budget: { monthlyUsd: 100 }, ...input });
}
