/**
 * `xray-governor apply` and `rollback` run as child processes against a sandbox on a local port
 * and dynalite: the real bin, the real SDK clients, the real tables.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sandbox, startSandbox } from "../../sandbox/index.ts";
import { readAccountRules } from "../../shared/aws/sampling-rules.ts";
import { parseSnapshot } from "../../shared/domain/formats.ts";
import { type LocalDynamo, startLocalDynamo } from "../support/dynalite.ts";
import { REPO, runCli } from "./run-cli.ts";

const SNAPSHOT = "test/fixtures/small.snapshot.json";
const CONFIG = "test/fixtures/small.config.yaml";

let sandbox: Sandbox;
let dynamo: LocalDynamo;
let targetFlags: string[];
beforeAll(async () => {
  const snapshot = parseSnapshot(JSON.parse(readFileSync(join(REPO, SNAPSHOT), "utf8")));
  sandbox = await startSandbox({ scenario: snapshot, region: snapshot.region, ruleQuota: 10 });
  dynamo = await startLocalDynamo();
  targetFlags = [
    "--endpoint",
    sandbox.endpoint,
    "--dynamodb-endpoint",
    dynamo.endpoint,
    "--audit-table",
    dynamo.tables.AuditTable,
  ];
});
afterAll(async () => {
  await sandbox?.close();
  await dynamo?.stop();
});

/** No real AWS settings leak in from the machine running the tests. */
const ENV = {
  AWS_ACCESS_KEY_ID: undefined,
  AWS_SECRET_ACCESS_KEY: undefined,
  AWS_PROFILE: undefined,
  XRAY_GOVERNOR_AUDIT_TABLE: undefined,
  XRAY_GOVERNOR_ENDPOINT: undefined,
};

const ruleSummary = async () =>
  JSON.stringify(
    (await readAccountRules(sandbox.xrayClient())).map(({ CreatedAt: _c, ModifiedAt: _m, ...rule }) => rule),
  );

describe("xray-governor apply and rollback", { timeout: 120_000 }, () => {
  it("refuses without --yes when not on a terminal, changing nothing", async () => {
    const before = await ruleSummary();
    const result = await runCli(["apply", "--snapshot", SNAPSHOT, "--config", CONFIG, ...targetFlags], {
      env: ENV,
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/not on a terminal.*pass --yes/);
    expect(await ruleSummary()).toBe(before);
  });

  it("refuses without an audit table, changing nothing", async () => {
    const before = await ruleSummary();
    const noAudit = targetFlags.slice(0, 4);
    const result = await runCli(["apply", "--snapshot", SNAPSHOT, "--config", CONFIG, "--yes", ...noAudit], {
      env: ENV,
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("pass --audit-table NAME");
    expect(await ruleSummary()).toBe(before);
  });

  it("applies, then has nothing to do, then rolls back to the rules it started from", async () => {
    // Prepare
    const original = await ruleSummary();

    // Act: apply
    const applied = await runCli(
      ["apply", "--snapshot", SNAPSHOT, "--config", CONFIG, "--yes", "--actor", "e2e", ...targetFlags],
      { env: ENV },
    );

    // Assess
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/\+ create xgov-/);
    expect(applied.stdout).toMatch(/Applied \d+ changes/);
    const auditId = /Audit record (\S+)\./.exec(applied.stdout)?.[1] ?? "";
    expect(auditId).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    const afterApply = await ruleSummary();
    expect(afterApply).not.toBe(original);
    expect(afterApply).toContain('"RuleName":"team-payments"');

    // Act + Assess: the same apply again writes nothing.
    const again = await runCli(
      ["apply", "--snapshot", SNAPSHOT, "--config", CONFIG, "--yes", ...targetFlags],
      {
        env: ENV,
      },
    );
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("Nothing to change");
    expect(await ruleSummary()).toBe(afterApply);

    // Act + Assess: roll back.
    const rolledBack = await runCli(["rollback", auditId, "--config", CONFIG, "--yes", ...targetFlags], {
      env: ENV,
    });
    expect(rolledBack.code, rolledBack.stderr).toBe(0);
    expect(rolledBack.stdout).toMatch(/- delete xgov-/);
    expect(rolledBack.stdout).toMatch(/To undo: xray-governor rollback \S+/);
    expect(await ruleSummary()).toBe(original);
  });

  it("refuses to roll back an unknown audit id, changing nothing", async () => {
    const before = await ruleSummary();
    const result = await runCli(["rollback", "20200101T000000Z-000000", "--yes", ...targetFlags], {
      env: ENV,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no audit record "20200101T000000Z-000000"');
    expect(await ruleSummary()).toBe(before);
  });

  it("with --sandbox, plans from what it collects from the embedded sandbox's replayed day, and applies it", async () => {
    const result = await runCli(["apply", "--sandbox", "--yes"], { env: ENV });

    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain("collecting a snapshot from the embedded sandbox");
    expect(result.stderr).toMatch(/month to date: [1-9]\d* traces recorded/);
    expect(result.stderr).toMatch(/planning [1-9]\d* endpoints/);
    expect(result.stderr).not.toContain("warning:");
    expect(result.stdout).toMatch(/\+ create xgov-/);
    expect(result.stdout).toMatch(/Applied \d+ changes/);
  });

  it("refuses while the kill switch is set", async () => {
    const result = await runCli(
      ["apply", "--sandbox", "--yes", "--config", "test/fixtures/frozen.config.yaml"],
      { env: ENV },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("config.freeze is true");
  });
});
