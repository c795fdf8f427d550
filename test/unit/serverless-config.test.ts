/**
 * serverless.yml and the infra files it pulls in, read with the `yaml` package as osls would
 * see them: the runtime, that every handler exists, the schedule, the environment the code
 * reads, and that the IAM statements grant exactly the access the tuner needs (least privilege).
 */
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { TunerEnvironmentSchema } from "../../shared/aws/deployment.ts";
import { parseConfig } from "../../shared/domain/formats.ts";

const REPO = new URL("../../", import.meta.url);
const read = (path: string) => parse(readFileSync(new URL(path, REPO), "utf8"));

interface Statement {
  Sid: string;
  Effect: "Allow" | "Deny";
  Action: string[];
  Resource: "*" | ({ "Fn::Sub": string } | { "Fn::GetAtt": [string, string] })[];
}

const service = read("serverless.yml");
const params: Record<string, string> = service.params.default;
const statements: Statement[] = read("infra/iam.yml").statements;
const tables: Record<string, { Type: string }> = read("infra/tables.yml");

const ACCOUNT = { "AWS::Partition": "aws", "AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012" };

/** A statement's resources as concrete ARN patterns, for stage prod: `${param:…}` as osls resolves it, then Fn::Sub as CloudFormation does. */
function resourcesOf(statement: Statement): string[] {
  if (statement.Resource === "*") return ["*"];
  return statement.Resource.map((resource) => {
    if ("Fn::GetAtt" in resource) {
      const [id, attribute] = resource["Fn::GetAtt"];
      return `arn:aws:dynamodb:eu-west-1:123456789012:table/${id}.${attribute}`;
    }
    return resource["Fn::Sub"]
      .replace(/\$\{param:(\w+)\}/g, (_, name: string) => params[name].replace("${sls:stage}", "prod"))
      .replace(/\$\{(AWS::\w+)\}/g, (_, name: keyof typeof ACCOUNT) => ACCOUNT[name]);
  });
}

/**
 * IAM's wildcard match of a resource ARN (`*` any run of characters, `?` one; case-sensitive).
 * Hand-written: the one maintained IAM policy simulator on npm is AGPL, and glob libraries
 * treat `/` specially, which IAM does not.
 */
function iamMatches(pattern: string, arn: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${source}$`).test(arn);
}

function allowed(action: string, arn: string): boolean {
  return statements.some(
    (s) =>
      s.Effect === "Allow" && s.Action.includes(action) && resourcesOf(s).some((r) => iamMatches(r, arn)),
  );
}

const rule = (name: string) => `arn:aws:xray:eu-west-1:123456789012:sampling-rule/${name}`;
const X_RAY_WRITES = [
  "xray:CreateSamplingRule",
  "xray:UpdateSamplingRule",
  "xray:DeleteSamplingRule",
  "xray:TagResource",
  "xray:UntagResource",
];

describe("serverless.yml", () => {
  it("deploys the functions on Node.js 22 with serverless-esbuild", () => {
    expect(service.provider.runtime).toBe("nodejs22.x");
    expect(service.plugins).toContain("serverless-esbuild");
    expect(service.custom.esbuild).toMatchObject({ bundle: true, target: "node22", platform: "node" });
  });

  it("points every function at a file that exports its handler", () => {
    const functions = Object.entries<{ handler: string }>(service.functions);
    expect(functions.map(([name]) => name)).toContain("tuner");
    for (const [, { handler }] of functions) {
      const [file, exported] = [handler.slice(0, handler.lastIndexOf(".")), handler.split(".").at(-1)];
      const source = new URL(`${file}.ts`, REPO);
      expect(existsSync(source), `${file}.ts`).toBe(true);
      expect(readFileSync(source, "utf8")).toMatch(new RegExp(`export const ${exported}\\b`));
    }
  });

  it("runs the tuner on an EventBridge schedule, every 15 minutes unless the tunerSchedule param says otherwise", () => {
    const events = service.functions.tuner.events;
    expect(events).toEqual([{ schedule: { rate: "${param:tunerSchedule}", enabled: true } }]);
    expect(params.tunerSchedule).toBe("rate(15 minutes)");
  });

  it("sets every environment variable the tuner reads, the tables by reference to infra/tables.yml", () => {
    const environment = service.provider.environment;
    const deploymentVariables = Object.keys(TunerEnvironmentSchema.shape).filter(
      (name) => name !== "AWS_REGION",
    );
    for (const name of deploymentVariables) expect(environment, name).toHaveProperty(name);
    expect(environment.XRAY_GOVERNOR_AUDIT_TABLE).toEqual({ Ref: "AuditTable" });
    expect(environment.XRAY_GOVERNOR_STATE_TABLE).toEqual({ Ref: "StateTable" });
    expect(environment.XRAY_GOVERNOR_RULE_PREFIX).toBe("${param:ruleNamePrefix}");
    expect(environment.XRAY_GOVERNOR_CONFIG_PARAMETER).toBe("${param:configParameter}");
    expect(service.resources.Resources).toBe("${file(infra/tables.yml)}");
    expect(Object.keys(tables).sort()).toEqual(["AuditTable", "StateTable"]);
  });

  it("takes the role's statements from infra/iam.yml, and the defaults agree with the config's", () => {
    expect(service.provider.iam.role.statements).toBe("${file(infra/iam.yml):statements}");
    expect(params.ruleNamePrefix).toBe(parseConfig({ budget: { monthlyUsd: 1 } }).rules.namePrefix);
    // A hierarchical name (/…): the parameter's ARN is `parameter` followed by the name.
    expect(params.configParameter.startsWith("/")).toBe(true);
  });
});

describe("the IAM statements (infra/iam.yml)", () => {
  it("only allow, never with a wildcard action", () => {
    for (const s of statements) {
      expect(s.Effect).toBe("Allow");
      for (const action of s.Action) expect(action, s.Sid).not.toContain("*");
    }
  });

  it("grant X-Ray exactly the reads and writes the governor makes", () => {
    const xray = new Set(statements.flatMap((s) => s.Action).filter((a) => a.startsWith("xray:")));
    expect([...xray].sort()).toEqual(
      [
        "xray:GetSamplingRules",
        "xray:GetSamplingStatisticSummaries",
        "xray:GetTraceSummaries",
        "xray:ListTagsForResource",
        ...X_RAY_WRITES,
      ].sort(),
    );
  });

  it("let the tuner write rules under its prefix, and no other rule", () => {
    for (const action of X_RAY_WRITES) {
      expect(allowed(action, rule("xgov-get-orders-1a2b3c")), action).toBe(true);
      expect(allowed(action, rule("team-payments")), action).toBe(false);
      expect(allowed(action, rule("XGOV-upper-case")), action).toBe(false);
      expect(allowed(action, rule("my-xgov-rule")), action).toBe(false);
    }
    expect(allowed("xray:UpdateSamplingRule", rule("xgov-a").replace("eu-west-1", "us-east-1"))).toBe(false);
  });

  it("let the tuner update Default's rate and reservoir, but not delete or retag it", () => {
    expect(allowed("xray:UpdateSamplingRule", rule("Default"))).toBe(true);
    for (const action of X_RAY_WRITES.filter((a) => a !== "xray:UpdateSamplingRule")) {
      expect(allowed(action, rule("Default")), action).toBe(false);
    }
  });

  it("use Resource '*' only for actions that have no resource type", () => {
    const onAnything = statements.filter((s) => s.Resource === "*").flatMap((s) => s.Action);
    expect(onAnything.sort()).toEqual(
      [
        "cloudwatch:GetMetricData",
        "cloudwatch:ListMetrics",
        "xray:GetSamplingRules",
        "xray:GetSamplingStatisticSummaries",
        "xray:GetTraceSummaries",
      ].sort(),
    );
    expect(allowed("xray:ListTagsForResource", rule("team-payments"))).toBe(true);
    expect(allowed("xray:ListTagsForResource", "arn:aws:xray:eu-west-1:123456789012:group/g/1")).toBe(false);
  });

  it("give DynamoDB item reads and writes on the governor's own tables only", () => {
    const dynamo = statements.filter((s) => s.Action.some((a) => a.startsWith("dynamodb:")));
    for (const s of dynamo) {
      expect(
        s.Action.every((a) => ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"].includes(a)),
      ).toBe(true);
      expect(s.Resource).not.toBe("*");
      for (const resource of s.Resource as { "Fn::GetAtt": [string, string] }[]) {
        expect(Object.keys(tables)).toContain(resource["Fn::GetAtt"][0]);
        expect(resource["Fn::GetAtt"][1]).toBe("Arn");
      }
    }
    expect(dynamo.flatMap((s) => s.Action)).toContain("dynamodb:PutItem");
  });

  it("let the tuner read the config parameter and no other", () => {
    const parameter = (name: string) => `arn:aws:ssm:eu-west-1:123456789012:parameter${name}`;
    const ssm = statements.flatMap((s) => s.Action).filter((a) => a.startsWith("ssm:"));
    expect(ssm).toEqual(["ssm:GetParameter"]);
    expect(allowed("ssm:GetParameter", parameter("/xray-governor/prod/config"))).toBe(true);
    expect(allowed("ssm:GetParameter", parameter("/xray-governor/dev/config"))).toBe(false);
    expect(allowed("ssm:GetParameter", parameter("/xray-governor/prod/slack-token"))).toBe(false);
  });
});
