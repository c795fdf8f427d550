/**
 * The tuner Lambda's environment for tests: what serverless.yml sets, and where the SDK finds
 * the local services (sandbox for X-Ray and CloudWatch, dynalite, the parameter store) and
 * dummy credentials.
 */
import type { Sandbox } from "../../sandbox/index.ts";
import type { LocalDynamo } from "./dynalite.ts";
import type { LocalParameterStore } from "./parameter-store.ts";

export function tunerEnvironment(
  services: { sandbox: Sandbox; dynamo: LocalDynamo; parameters: LocalParameterStore },
  configParameter: string,
): Record<string, string> {
  const { sandbox, dynamo, parameters } = services;
  return {
    AWS_REGION: sandbox.region,
    AWS_ACCESS_KEY_ID: "sandbox",
    AWS_SECRET_ACCESS_KEY: "sandbox",
    AWS_ENDPOINT_URL_XRAY: sandbox.endpoint,
    AWS_ENDPOINT_URL_CLOUDWATCH: sandbox.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_SSM: parameters.endpoint,
    XRAY_GOVERNOR_CONFIG_PARAMETER: configParameter,
    XRAY_GOVERNOR_AUDIT_TABLE: dynamo.tables.AuditTable,
    XRAY_GOVERNOR_STATE_TABLE: dynamo.tables.StateTable,
    XRAY_GOVERNOR_RULE_PREFIX: "xgov-",
  };
}
