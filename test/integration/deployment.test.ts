/**
 * What the deployed tuner is told: its environment, and the config read through Powertools
 * parameters and the real SSM client from a local parameter store.
 */
import { SSMProvider } from "@aws-lambda-powertools/parameters/ssm";
import { SSMClient } from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeploymentError, loadConfigParameter, tunerEnvironment } from "../../shared/aws/deployment.ts";
import { FormatError } from "../../shared/domain/formats.ts";
import { type LocalParameterStore, startParameterStore } from "../support/parameter-store.ts";

let store: LocalParameterStore;
let provider: SSMProvider;
beforeAll(async () => {
  store = await startParameterStore();
  const client = new SSMClient({
    endpoint: store.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  provider = new SSMProvider({ awsSdkV3Client: client });
});
afterAll(async () => {
  provider?.client.destroy();
  await store?.stop();
});

const deployment = (name: string) => ({
  XRAY_GOVERNOR_CONFIG_PARAMETER: name,
  XRAY_GOVERNOR_RULE_PREFIX: "xgov-",
});

describe("tunerEnvironment", () => {
  it("names every variable that is missing or empty", () => {
    const read = () =>
      tunerEnvironment({
        AWS_REGION: "eu-west-1",
        XRAY_GOVERNOR_AUDIT_TABLE: " ",
        XRAY_GOVERNOR_RULE_PREFIX: "x-",
      });

    expect(read).toThrow(DeploymentError);
    expect(read).toThrow(
      [
        "invalid environment (see serverless.yml):",
        "  - XRAY_GOVERNOR_CONFIG_PARAMETER: is not set",
        "  - XRAY_GOVERNOR_AUDIT_TABLE: is empty",
        "  - XRAY_GOVERNOR_STATE_TABLE: is not set",
      ].join("\n"),
    );
  });
});

describe("loadConfigParameter", () => {
  it("reads a YAML config and fills in the defaults", async () => {
    store.put("/gov/yaml", "budget:\n  monthlyUsd: 75\nmode: auto\n");

    const config = await loadConfigParameter(provider, deployment("/gov/yaml"));

    expect(config).toMatchObject({
      mode: "auto",
      budget: { monthlyUsd: 75 },
      guardRails: { maxRuleChanges: 10 },
    });
  });

  it("reads the parameter again on every run: a freeze set in between holds at once", async () => {
    store.put("/gov/switch", JSON.stringify({ budget: { monthlyUsd: 10 }, mode: "auto" }));
    const first = await loadConfigParameter(provider, deployment("/gov/switch"));

    store.put("/gov/switch", JSON.stringify({ budget: { monthlyUsd: 10 }, mode: "auto", freeze: true }));
    const second = await loadConfigParameter(provider, deployment("/gov/switch"));

    expect([first.freeze, second.freeze]).toEqual([false, true]);
  });

  it("names the parameter when it does not exist", async () => {
    await expect(loadConfigParameter(provider, deployment("/gov/missing"))).rejects.toThrow(
      "SSM parameter /gov/missing (XRAY_GOVERNOR_CONFIG_PARAMETER) could not be read: it does not exist (create it: see infra/README.md)",
    );
  });

  it("rejects text that is neither JSON nor YAML, naming the parameter", async () => {
    store.put("/gov/garbled", "budget: [1, 2\nmode: auto");

    const load = loadConfigParameter(provider, deployment("/gov/garbled"));

    await expect(load).rejects.toThrow(FormatError);
    await expect(load).rejects.toThrow(
      /invalid config in SSM parameter \/gov\/garbled:\n {2}- \(root\): not valid JSON or YAML/,
    );
  });

  it("names every bad field of the config", async () => {
    store.put("/gov/bad", JSON.stringify({ budget: { monthlyUsd: 0 }, mode: "sometimes" }));

    const load = loadConfigParameter(provider, deployment("/gov/bad"));

    await expect(load).rejects.toThrow(/budget\.monthlyUsd: must be more than 0/);
    await expect(load).rejects.toThrow(/mode: /);
  });
});
