/**
 * The sandbox: an in-process emulator of the parts of X-Ray and CloudWatch the governor uses,
 * on a local port, for tests, the demo and `xray-governor sandbox`. Production code never
 * imports it; entry points wire it in.
 *
 * ```ts
 * const sandbox = await startSandbox({ ruleQuota: 25 });
 * const xray = sandbox.xrayClient();           // a real @aws-sdk/client-xray client pointed at it
 * await xray.send(new GetSamplingRulesCommand({}));
 * await sandbox.close();
 * ```
 */
import { CloudWatchClient, type CloudWatchClientConfig } from "@aws-sdk/client-cloudwatch";
import { XRayClient, type XRayClientConfig } from "@aws-sdk/client-xray";
import { DEFAULT_RULE_NAME, type SamplingRule } from "../shared/domain/formats.ts";
import { type FaultConfig, FaultInjector } from "./faults.ts";
import { type CallCounts, type SandboxHttpServer, startHttpServer } from "./http-server.ts";
import { VirtualClock } from "./virtual-clock.ts";
import { type RulePageSizes, ruleOperations } from "./xray/rule-operations.ts";
import { SamplingRuleStore } from "./xray/sampling-rules.ts";

export type { FaultConfig, FaultSpec } from "./faults.ts";

/** A rule to start with: X-Ray's fields (Version, ResourceARN, Attributes default), optional tags. */
export type InitialRule = Omit<SamplingRule, "Version" | "ResourceARN" | "Attributes" | "Tags"> &
  Partial<Pick<SamplingRule, "Version" | "ResourceARN" | "Attributes" | "Tags">>;

export interface PageSizes extends RulePageSizes {}

export interface SandboxOptions {
  /** Local port; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string;
  region?: string;
  /** Rules in the account at the start (a `Default` entry sets Default's rate and reservoir). */
  rules?: readonly InitialRule[];
  /** Sampling rules per region, Default included. Default 25. */
  ruleQuota?: number;
  /** Faults per operation (changeable later through `sandbox.faults`). */
  faults?: FaultConfig;
  /** Seed of every random draw (faults, traffic). Default 1. */
  seed?: number;
  /** Virtual time at the start. Default: now. */
  start?: Date | string | number;
  /** Items per page of the list operations (small values make pagination easy to test). */
  pageSizes?: Partial<PageSizes>;
}

/** What SDK clients need to talk to the sandbox: endpoint, region and dummy credentials. */
export interface SandboxClientConfig {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

export interface Sandbox {
  /** `http://127.0.0.1:PORT`: both X-Ray and CloudWatch answer here. */
  endpoint: string;
  port: number;
  region: string;
  clock: VirtualClock;
  rules: SamplingRuleStore;
  faults: FaultInjector;
  /** Calls received per operation name. */
  calls: CallCounts;
  clientConfig: SandboxClientConfig;
  xrayClient(overrides?: XRayClientConfig): XRayClient;
  cloudWatchClient(overrides?: CloudWatchClientConfig): CloudWatchClient;
  close(): Promise<void>;
}

export const DEFAULT_PAGE_SIZES: PageSizes = { samplingRules: 100, tags: 50 };

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const region = options.region ?? "us-east-1";
  const seed = options.seed ?? 1;
  const clock = new VirtualClock(options.start ?? Date.now());
  const pageSizes: PageSizes = { ...DEFAULT_PAGE_SIZES, ...options.pageSizes };
  const rules = new SamplingRuleStore({ region, ruleQuota: options.ruleQuota ?? 25, clock });
  loadRules(rules, options.rules ?? []);
  const faults = new FaultInjector(options.faults ?? {}, seed);

  const http: SandboxHttpServer = await startHttpServer({
    port: options.port ?? 0,
    host: options.host ?? "127.0.0.1",
    routes: { xray: ruleOperations(rules, pageSizes), cloudwatch: {} },
    faults,
  });
  const clientConfig: SandboxClientConfig = {
    endpoint: http.endpoint,
    region,
    credentials: { accessKeyId: "sandbox", secretAccessKey: "sandbox" },
  };
  const clients: { destroy(): void }[] = [];
  return {
    endpoint: http.endpoint,
    port: http.port,
    region,
    clock,
    rules,
    faults,
    calls: http.calls,
    clientConfig,
    xrayClient(overrides = {}) {
      const client = new XRayClient({ ...clientConfig, ...overrides });
      clients.push(client);
      return client;
    },
    cloudWatchClient(overrides = {}) {
      const client = new CloudWatchClient({ ...clientConfig, ...overrides });
      clients.push(client);
      return client;
    },
    async close() {
      for (const client of clients) client.destroy();
      await http.close();
    },
  };
}

/** Puts the starting rules in the store, checked like a create (a bad rule fails the start). */
function loadRules(store: SamplingRuleStore, rules: readonly InitialRule[]): void {
  for (const rule of rules) {
    if (rule.RuleName === DEFAULT_RULE_NAME) {
      store.update(
        { RuleName: DEFAULT_RULE_NAME },
        { FixedRate: rule.FixedRate, ReservoirSize: rule.ReservoirSize },
      );
      if (rule.Tags?.length) store.tag(store.arnOf(DEFAULT_RULE_NAME), rule.Tags);
      continue;
    }
    store.create(
      {
        RuleName: rule.RuleName,
        ResourceARN: rule.ResourceARN ?? "*",
        Priority: rule.Priority,
        FixedRate: rule.FixedRate,
        ReservoirSize: rule.ReservoirSize,
        ServiceName: rule.ServiceName,
        ServiceType: rule.ServiceType,
        Host: rule.Host,
        HTTPMethod: rule.HTTPMethod,
        URLPath: rule.URLPath,
        Version: rule.Version ?? 1,
        Attributes: rule.Attributes ?? {},
        ...(rule.SamplingRateBoost ? { SamplingRateBoost: rule.SamplingRateBoost } : {}),
      },
      rule.Tags ?? [],
    );
  }
}
