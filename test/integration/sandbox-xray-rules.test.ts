/**
 * The sandbox's X-Ray sampling-rule API, through the real @aws-sdk/client-xray: the SDK must
 * see the same answers, exception classes and statuses as from X-Ray.
 */
import {
  CreateSamplingRuleCommand,
  DeleteSamplingRuleCommand,
  GetSamplingRulesCommand,
  InvalidRequestException,
  ListTagsForResourceCommand,
  paginateGetSamplingRules,
  ResourceNotFoundException,
  RuleLimitExceededException,
  type SamplingRuleRecord,
  TagResourceCommand,
  TooManyTagsException,
  UntagResourceCommand,
  UpdateSamplingRuleCommand,
  type XRayClient,
} from "@aws-sdk/client-xray";
import { afterEach, describe, expect, it } from "vitest";
import { type InitialRule, type Sandbox, type SandboxOptions, startSandbox } from "../../sandbox/index.ts";

const sandboxes: Sandbox[] = [];
afterEach(async () => {
  await Promise.all(sandboxes.splice(0).map((s) => s.close()));
});

async function sandboxWith(options: SandboxOptions = {}): Promise<{ sandbox: Sandbox; xray: XRayClient }> {
  const sandbox = await startSandbox({ start: "2026-11-16T00:00:00.000Z", ...options });
  sandboxes.push(sandbox);
  return { sandbox, xray: sandbox.xrayClient() };
}

/** A rule both the SDK (every X-Ray field) and the sandbox's starting rules accept. */
type TestRule = InitialRule & Pick<Required<InitialRule>, "ResourceARN" | "Version">;

function rule(name: string, overrides: Partial<InitialRule> = {}): TestRule {
  return {
    RuleName: name,
    ResourceARN: "*",
    Priority: 100,
    FixedRate: 0.1,
    ReservoirSize: 1,
    ServiceName: "orders-api",
    ServiceType: "*",
    Host: "*",
    HTTPMethod: "GET",
    URLPath: "/orders/*",
    Version: 1,
    ...overrides,
  };
}

async function allRules(xray: XRayClient): Promise<SamplingRuleRecord[]> {
  const records: SamplingRuleRecord[] = [];
  for await (const page of paginateGetSamplingRules({ client: xray }, {})) {
    records.push(...(page.SamplingRuleRecords ?? []));
  }
  return records;
}

async function rejection(
  promise: Promise<unknown>,
): Promise<Error & { $metadata: { httpStatusCode?: number } }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { $metadata: { httpStatusCode?: number } };
  }
  throw new Error("expected the call to fail");
}

describe("sandbox X-Ray sampling rules", () => {
  it("starts with X-Ray's Default rule: 1 request/second and 5%, priority 10000", async () => {
    // Prepare
    const { sandbox, xray } = await sandboxWith({ region: "eu-west-1" });

    // Act
    const records = await allRules(xray);

    // Assess
    expect(records).toHaveLength(1);
    expect(records[0].SamplingRule).toMatchObject({
      RuleName: "Default",
      RuleARN: "arn:aws:xray:eu-west-1:000000000000:sampling-rule/Default",
      Priority: 10000,
      FixedRate: 0.05,
      ReservoirSize: 1,
      URLPath: "*",
      Version: 1,
    });
    expect(records[0].CreatedAt).toEqual(new Date("2026-11-16T00:00:00.000Z"));
    expect(sandbox.calls.GetSamplingRules).toBe(1);
  });

  it("creates a rule with tags, lists it with its ARN and timestamps, and reads its tags", async () => {
    // Prepare
    const { sandbox, xray } = await sandboxWith();
    sandbox.clock.setTo(Date.parse("2026-11-16T01:00:00.000Z"));

    // Act
    const created = await xray.send(
      new CreateSamplingRuleCommand({
        SamplingRule: rule("xgov-orders"),
        Tags: [{ Key: "xray-governor:managed", Value: "true" }],
      }),
    );
    const records = await allRules(xray);
    const tags = await xray.send(
      new ListTagsForResourceCommand({ ResourceARN: created.SamplingRuleRecord?.SamplingRule?.RuleARN }),
    );

    // Assess
    expect(created.SamplingRuleRecord?.SamplingRule?.RuleARN).toBe(
      "arn:aws:xray:us-east-1:000000000000:sampling-rule/xgov-orders",
    );
    expect(created.SamplingRuleRecord?.CreatedAt).toEqual(new Date("2026-11-16T01:00:00.000Z"));
    expect(records.map((r) => r.SamplingRule?.RuleName)).toEqual(["Default", "xgov-orders"]);
    expect(records[1].SamplingRule).toMatchObject({ ...rule("xgov-orders"), Attributes: {} });
    expect(tags.Tags).toEqual([{ Key: "xray-governor:managed", Value: "true" }]);
  });

  it("pages GetSamplingRules with NextToken", async () => {
    // Prepare
    const { sandbox, xray } = await sandboxWith({
      pageSizes: { samplingRules: 2 },
      rules: ["a", "b", "c", "d"].map((n) => rule(n)),
    });

    // Act
    const first = await xray.send(new GetSamplingRulesCommand({}));
    const everything = await allRules(xray);

    // Assess
    expect(first.SamplingRuleRecords).toHaveLength(2);
    expect(first.NextToken).toBeTruthy();
    expect(everything.map((r) => r.SamplingRule?.RuleName)).toEqual(["Default", "a", "b", "c", "d"]);
    expect(sandbox.calls.GetSamplingRules).toBe(1 + 3);
  });

  it("rejects a NextToken it did not issue", async () => {
    const { xray } = await sandboxWith();
    const error = await rejection(xray.send(new GetSamplingRulesCommand({ NextToken: "not-a-token" })));
    expect(error).toBeInstanceOf(InvalidRequestException);
  });

  it("updates only the fields sent, and bumps ModifiedAt", async () => {
    // Prepare
    const { sandbox, xray } = await sandboxWith({ rules: [rule("xgov-a")] });
    sandbox.clock.setTo(Date.parse("2026-11-16T02:00:00.000Z"));

    // Act
    const updated = await xray.send(
      new UpdateSamplingRuleCommand({
        SamplingRuleUpdate: { RuleName: "xgov-a", FixedRate: 0.5, Priority: 7 },
      }),
    );

    // Assess
    expect(updated.SamplingRuleRecord?.SamplingRule).toMatchObject({
      ...rule("xgov-a"),
      FixedRate: 0.5,
      Priority: 7,
    });
    expect(updated.SamplingRuleRecord?.ModifiedAt).toEqual(new Date("2026-11-16T02:00:00.000Z"));
    expect(updated.SamplingRuleRecord?.CreatedAt).toEqual(new Date("2026-11-16T00:00:00.000Z"));
  });

  it("identifies a rule by ARN as well as by name, but not by both", async () => {
    // Prepare
    const { sandbox, xray } = await sandboxWith({ rules: [rule("xgov-a"), rule("xgov-b")] });
    const arn = sandbox.rules.arnOf("xgov-a");

    // Act
    await xray.send(
      new UpdateSamplingRuleCommand({ SamplingRuleUpdate: { RuleARN: arn, ReservoirSize: 9 } }),
    );
    const deleted = await xray.send(new DeleteSamplingRuleCommand({ RuleARN: arn }));
    const both = await rejection(
      xray.send(new DeleteSamplingRuleCommand({ RuleName: "xgov-b", RuleARN: arn })),
    );

    // Assess
    expect(deleted.SamplingRuleRecord?.SamplingRule).toMatchObject({ RuleName: "xgov-a", ReservoirSize: 9 });
    expect((await allRules(xray)).map((r) => r.SamplingRule?.RuleName)).toEqual(["Default", "xgov-b"]);
    expect(both).toBeInstanceOf(InvalidRequestException);
  });

  it("lets Default's rate and reservoir change, but nothing else, and never deletes it", async () => {
    // Prepare
    const { xray } = await sandboxWith();

    // Act
    const changed = await xray.send(
      new UpdateSamplingRuleCommand({
        SamplingRuleUpdate: { RuleName: "Default", FixedRate: 0.01, ReservoirSize: 0 },
      }),
    );
    const priority = await rejection(
      xray.send(new UpdateSamplingRuleCommand({ SamplingRuleUpdate: { RuleName: "Default", Priority: 5 } })),
    );
    const path = await rejection(
      xray.send(
        new UpdateSamplingRuleCommand({ SamplingRuleUpdate: { RuleName: "Default", URLPath: "/x" } }),
      ),
    );
    const deletion = await rejection(xray.send(new DeleteSamplingRuleCommand({ RuleName: "Default" })));

    // Assess
    expect(changed.SamplingRuleRecord?.SamplingRule).toMatchObject({ FixedRate: 0.01, ReservoirSize: 0 });
    for (const error of [priority, path, deletion]) {
      expect(error).toBeInstanceOf(InvalidRequestException);
      expect(error.$metadata.httpStatusCode).toBe(400);
    }
    expect(priority.message).toMatch(/Default/);
    expect((await allRules(xray))[0].SamplingRule).toMatchObject({
      Priority: 10000,
      URLPath: "*",
      FixedRate: 0.01,
    });
  });

  it.each([
    ["Priority 0", { Priority: 0 }, /samplingRule\.priority.*greater than or equal to 1/],
    ["Priority 10000", { Priority: 10000 }, /samplingRule\.priority.*less than or equal to 9999/],
    ["a fractional Priority", { Priority: 1.5 }, /samplingRule\.priority.*integer/],
    ["FixedRate above 1", { FixedRate: 1.5 }, /samplingRule\.fixedRate/],
    ["a negative reservoir", { ReservoirSize: -1 }, /samplingRule\.reservoirSize/],
    ["Version 2", { Version: 2 }, /Version must be 1/],
    ["a 33-character name", { RuleName: "x".repeat(33) }, /samplingRule\.ruleName.*less than or equal to 32/],
    ["a 65-character service name", { ServiceName: "s".repeat(65) }, /samplingRule\.serviceName/],
    [
      "an 11-character method",
      { HTTPMethod: "M".repeat(11) },
      /samplingRule\.hTTPMethod|samplingRule\.httpMethod/,
    ],
    [
      "a 129-character path",
      { URLPath: `/${"p".repeat(128)}` },
      /samplingRule\.uRLPath|samplingRule\.urlPath/,
    ],
    ["a 501-character resource ARN", { ResourceARN: "r".repeat(501) }, /samplingRule\.resourceARN/],
    [
      "six attributes",
      { Attributes: Object.fromEntries([1, 2, 3, 4, 5, 6].map((i) => [`k${i}`, "v"])) },
      /at most 5/,
    ],
  ])("rejects a rule with %s, naming the field, and creates nothing", async (_label, overrides, message) => {
    // Prepare
    const { xray } = await sandboxWith();

    // Act
    const error = await rejection(
      xray.send(
        new CreateSamplingRuleCommand({ SamplingRule: rule("xgov-bad", overrides as Partial<InitialRule>) }),
      ),
    );

    // Assess
    expect(error).toBeInstanceOf(InvalidRequestException);
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(error.message).toMatch(message);
    expect(await allRules(xray)).toHaveLength(1);
  });

  it("rejects a second rule of the same name", async () => {
    const { xray } = await sandboxWith({ rules: [rule("xgov-a")] });
    const error = await rejection(
      xray.send(new CreateSamplingRuleCommand({ SamplingRule: rule("xgov-a", { Priority: 3 }) })),
    );
    expect(error).toBeInstanceOf(InvalidRequestException);
    expect(error.message).toMatch(/already exists/);
    expect((await allRules(xray))[1].SamplingRule?.Priority).toBe(100);
  });

  it("holds the rule quota (Default included) with RuleLimitExceededException, and frees a slot on delete", async () => {
    // Prepare
    const { xray } = await sandboxWith({ ruleQuota: 3, rules: [rule("a"), rule("b")] });

    // Act
    const overQuota = await rejection(xray.send(new CreateSamplingRuleCommand({ SamplingRule: rule("c") })));
    await xray.send(new DeleteSamplingRuleCommand({ RuleName: "a" }));
    await xray.send(new CreateSamplingRuleCommand({ SamplingRule: rule("c") }));

    // Assess
    expect(overQuota).toBeInstanceOf(RuleLimitExceededException);
    expect((await allRules(xray)).map((r) => r.SamplingRule?.RuleName)).toEqual(["Default", "b", "c"]);
  });

  it("answers an update or delete of an unknown rule with InvalidRequestException, as X-Ray documents", async () => {
    const { xray } = await sandboxWith();
    const update = await rejection(
      xray.send(new UpdateSamplingRuleCommand({ SamplingRuleUpdate: { RuleName: "nope", FixedRate: 0.2 } })),
    );
    const deletion = await rejection(xray.send(new DeleteSamplingRuleCommand({ RuleName: "nope" })));
    expect(update).toBeInstanceOf(InvalidRequestException);
    expect(deletion).toBeInstanceOf(InvalidRequestException);
  });

  it("tags and untags a rule; an unknown ARN is ResourceNotFoundException (404)", async () => {
    // Prepare
    const { sandbox, xray } = await sandboxWith({ rules: [rule("xgov-a", {})] });
    const arn = sandbox.rules.arnOf("xgov-a");

    // Act
    await xray.send(
      new TagResourceCommand({
        ResourceARN: arn,
        Tags: [
          { Key: "team", Value: "orders" },
          { Key: "xray-governor:managed", Value: "true" },
        ],
      }),
    );
    await xray.send(new TagResourceCommand({ ResourceARN: arn, Tags: [{ Key: "team", Value: "payments" }] }));
    await xray.send(new UntagResourceCommand({ ResourceARN: arn, TagKeys: ["xray-governor:managed"] }));
    const tags = await xray.send(new ListTagsForResourceCommand({ ResourceARN: arn }));
    const missing = await rejection(
      xray.send(new ListTagsForResourceCommand({ ResourceARN: sandbox.rules.arnOf("nope") })),
    );

    // Assess
    expect(tags.Tags).toEqual([{ Key: "team", Value: "payments" }]);
    expect(missing).toBeInstanceOf(ResourceNotFoundException);
    expect(missing.$metadata.httpStatusCode).toBe(404);
  });

  it("refuses the aws: tag prefix and more than 50 tags", async () => {
    // Prepare
    const { sandbox, xray } = await sandboxWith({ rules: [rule("xgov-a")] });
    const arn = sandbox.rules.arnOf("xgov-a");
    const fifty = Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: "v" }));

    // Act
    const reserved = await rejection(
      xray.send(new TagResourceCommand({ ResourceARN: arn, Tags: [{ Key: "aws:owner", Value: "x" }] })),
    );
    await xray.send(new TagResourceCommand({ ResourceARN: arn, Tags: fifty }));
    const tooMany = await rejection(
      xray.send(new TagResourceCommand({ ResourceARN: arn, Tags: [{ Key: "one-more", Value: "v" }] })),
    );

    // Assess
    expect(reserved).toBeInstanceOf(InvalidRequestException);
    expect(tooMany).toBeInstanceOf(TooManyTagsException);
    expect(sandbox.rules.tagsOf(arn)).toHaveLength(50);
  });

  it("pages ListTagsForResource", async () => {
    const { sandbox, xray } = await sandboxWith({
      pageSizes: { tags: 3 },
      rules: [
        { ...rule("xgov-a"), Tags: Array.from({ length: 7 }, (_, i) => ({ Key: `k${i}`, Value: "v" })) },
      ],
    });
    const arn = sandbox.rules.arnOf("xgov-a");
    const first = await xray.send(new ListTagsForResourceCommand({ ResourceARN: arn }));
    const second = await xray.send(
      new ListTagsForResourceCommand({ ResourceARN: arn, NextToken: first.NextToken }),
    );
    const third = await xray.send(
      new ListTagsForResourceCommand({ ResourceARN: arn, NextToken: second.NextToken }),
    );
    expect([first, second, third].map((p) => p.Tags?.length)).toEqual([3, 3, 1]);
    expect(third.NextToken).toBeUndefined();
  });
});
