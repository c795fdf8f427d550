/**
 * Where a command that talks to an account talks to, and where it keeps its records:
 *
 * - AWS itself (the default): the SDK's usual region and credentials (AWS_REGION, AWS_PROFILE …);
 * - `--endpoint URL`: X-Ray and CloudWatch at that URL, e.g. a sandbox started with
 *   `xray-governor sandbox` (env XRAY_GOVERNOR_ENDPOINT);
 * - `--sandbox`: an embedded sandbox in this process, seeded with the demo scenario and its day
 *   of history replayed (rules, statistics, traces and metrics to read); gone when the command
 *   ends (a demo: nothing real changes).
 *
 * The governor's DynamoDB tables (audit, state) come from `--audit-table` / `--state-table`
 * (env XRAY_GOVERNOR_AUDIT_TABLE / XRAY_GOVERNOR_STATE_TABLE), at `--dynamodb-endpoint` if
 * given (env XRAY_GOVERNOR_DYNAMODB_ENDPOINT); with `--sandbox`, in-memory tables of the
 * same shape.
 */
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { XRayClient } from "@aws-sdk/client-xray";
import type { Command } from "commander";
import { xrayRetryStrategy } from "../shared/aws/applier.ts";
import { AuditStore } from "../shared/aws/audit-store.ts";
import { StateStore } from "../shared/aws/state-store.ts";
import type { MetricSource } from "../shared/domain/metric-sources.ts";
import { InputError } from "./errors.ts";

export interface TargetFlags {
  region?: string;
  endpoint?: string;
  sandbox?: boolean;
  auditTable?: string;
  stateTable?: string;
  dynamodbEndpoint?: string;
}

export interface AccountTarget {
  kind: "aws" | "endpoint" | "sandbox";
  /** For progress lines: "AWS us-east-1", "http://127.0.0.1:4566", "the embedded sandbox". */
  description: string;
  region: string;
  xray: XRayClient;
  cloudWatch: CloudWatchClient;
  /** The account's "now": the embedded sandbox's virtual time (the end of its replayed day), else the clock. */
  now(): Date;
  /** With `--sandbox`: the metric sources the sandbox publishes under; collect with these. */
  metricSources?: MetricSource[];
  /** The audit store, when one is configured (always with `--sandbox`). */
  audit?: AuditStore;
  state?: StateStore;
  close(): Promise<void>;
}

/** Adds the target flags to a command. */
export function withTargetOptions(command: Command): Command {
  return command
    .option("--region <region>", "AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, or us-east-1)")
    .option(
      "--endpoint <url>",
      "X-Ray and CloudWatch endpoint instead of AWS, e.g. a running `xray-governor sandbox` (env XRAY_GOVERNOR_ENDPOINT)",
    )
    .option("--sandbox", "use an embedded sandbox seeded with the demo scenario (nothing real changes)")
    .option("--audit-table <name>", "DynamoDB table of audit records (env XRAY_GOVERNOR_AUDIT_TABLE)")
    .option("--state-table <name>", "DynamoDB table of the governor's state (env XRAY_GOVERNOR_STATE_TABLE)")
    .option(
      "--dynamodb-endpoint <url>",
      "DynamoDB endpoint, e.g. a local one (env XRAY_GOVERNOR_DYNAMODB_ENDPOINT)",
    );
}

/**
 * A local endpoint (a sandbox, dynalite) needs no real credentials: dummy ones are used unless
 * some are configured in the environment, so nothing looks for them (or asks the network).
 */
function localCredentials(url: string | undefined, env: NodeJS.ProcessEnv) {
  if (!url || env.AWS_ACCESS_KEY_ID || env.AWS_PROFILE) return {};
  const host = new URL(url).hostname;
  const loopback = host === "localhost" || host === "::1" || host === "[::1]" || host.startsWith("127.");
  return loopback ? { credentials: { accessKeyId: "sandbox", secretAccessKey: "sandbox" } } : {};
}

function checkedUrl(value: string, flag: string): string {
  try {
    const url = new URL(value);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("not http(s)");
    return value;
  } catch {
    throw new InputError(`${flag} must be an http:// or https:// URL, got ${JSON.stringify(value)}`);
  }
}

/** Opens the target the flags (and environment) name. Close it when done. */
export async function openTarget(
  flags: TargetFlags,
  env: NodeJS.ProcessEnv = process.env,
): Promise<AccountTarget> {
  const endpoint = flags.endpoint ?? env.XRAY_GOVERNOR_ENDPOINT;
  if (flags.sandbox && flags.endpoint) throw new InputError("--sandbox and --endpoint exclude each other");
  if (flags.sandbox) return openSandbox(flags);

  const region = flags.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1";
  const clientConfig = {
    region,
    ...(endpoint ? { endpoint: checkedUrl(endpoint, "--endpoint") } : {}),
    ...localCredentials(endpoint, env),
  };
  const xray = new XRayClient({ ...clientConfig, retryStrategy: xrayRetryStrategy() });
  const cloudWatch = new CloudWatchClient({ ...clientConfig, maxAttempts: 5 });

  const dynamodbEndpoint = flags.dynamodbEndpoint ?? env.XRAY_GOVERNOR_DYNAMODB_ENDPOINT;
  const auditTable = flags.auditTable ?? env.XRAY_GOVERNOR_AUDIT_TABLE;
  const stateTable = flags.stateTable ?? env.XRAY_GOVERNOR_STATE_TABLE;
  const dynamo =
    auditTable || stateTable
      ? new DynamoDBClient({
          region,
          ...(dynamodbEndpoint ? { endpoint: checkedUrl(dynamodbEndpoint, "--dynamodb-endpoint") } : {}),
          ...localCredentials(dynamodbEndpoint, env),
        })
      : undefined;
  return {
    kind: endpoint ? "endpoint" : "aws",
    description: endpoint ? `${endpoint} (${region})` : `AWS ${region}`,
    region,
    xray,
    cloudWatch,
    now: () => new Date(),
    audit: dynamo && auditTable ? new AuditStore(dynamo, auditTable) : undefined,
    state: dynamo && stateTable ? new StateStore(dynamo, stateTable) : undefined,
    async close() {
      xray.destroy();
      cloudWatch.destroy();
      dynamo?.destroy();
    },
  };
}

/** The embedded demo sandbox (test and demo infrastructure, loaded only when asked for). */
async function openSandbox(flags: TargetFlags): Promise<AccountTarget> {
  const [{ startDemoSandbox }, { startLocalDynamo }] = await Promise.all([
    import("./default-scenario.ts"),
    import("../sandbox/dynamodb.ts"),
  ]);
  const { sandbox } = await startDemoSandbox({ region: flags.region });
  const dynamo = await startLocalDynamo();
  return {
    kind: "sandbox",
    description: "the embedded sandbox (demo scenario; nothing real changes)",
    region: sandbox.region,
    xray: sandbox.xrayClient({ retryStrategy: xrayRetryStrategy() }),
    cloudWatch: sandbox.cloudWatchClient(),
    now: () => sandbox.clock.date(),
    metricSources: sandbox.metricSources,
    audit: new AuditStore(dynamo.client, dynamo.tables.AuditTable),
    state: new StateStore(dynamo.client, dynamo.tables.StateTable),
    async close() {
      await sandbox.close();
      await dynamo.stop();
    },
  };
}
