import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { demoScenario } from "../../sandbox/scenario-generator.ts";
import { parsePlan } from "../../shared/domain/formats.ts";
import type { Plan } from "../../shared/domain/plan.ts";
import { BIN, REPO, runCli } from "./run-cli.ts";

const SNAPSHOT = "test/fixtures/small.snapshot.json";
const CONFIG_YAML = "test/fixtures/small.config.yaml";
const CONFIG_JSON = "test/fixtures/small.config.json";
const ANSI = /\u001b\[/;
/** No AWS account, profile or region from the machine running the tests. */
const NO_AWS = {
  AWS_ACCESS_KEY_ID: undefined,
  AWS_SECRET_ACCESS_KEY: undefined,
  AWS_SESSION_TOKEN: undefined,
  AWS_PROFILE: undefined,
  AWS_REGION: undefined,
  AWS_DEFAULT_REGION: undefined,
  AWS_CONFIG_FILE: "/nonexistent/aws-config",
  AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/aws-credentials",
  AWS_EC2_METADATA_DISABLED: "true",
};

const workDir = mkdtempSync(join(tmpdir(), "xray-governor-plan-"));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

function fixture(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(REPO, path), "utf8"));
}

/** Writes a changed copy of a fixture to the work directory and returns its path. */
function mutated(path: string, name: string, change: (doc: any) => void): string {
  const doc = fixture(path);
  change(doc);
  const out = join(workDir, name);
  writeFileSync(out, JSON.stringify(doc));
  return out;
}

// Every test starts the CLI (two at a time, see run-cli.ts): time limits are for a busy machine.
describe.concurrent("xray-governor plan", { timeout: 90_000 }, () => {
  it("with no arguments, collects the embedded demo sandbox's day and reports a plan for it", async () => {
    const result = await runCli(["plan"], { env: NO_AWS });

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("## X-Ray sampling plan for us-east-1");
    expect(result.stdout).toMatch(/### Summary[\s\S]*Fault capture \(5xx\)/);
    expect(result.stdout).toMatch(/`xgov-[^`]+`.*\| create/);
    expect(result.stdout).toContain("### What the rule quota costs");
    expect(result.stdout).not.toMatch(ANSI);
    expect(result.stderr).toContain("replaying the demo scenario's day in an embedded sandbox");
    expect(result.stderr).toMatch(/collecting a snapshot from it as of \d{4}-\d\d-\d\dT/);
    expect(result.stderr).toMatch(/planning [1-9]\d* endpoints and \d+ rules from the embedded demo sandbox/);
    expect(result.stderr).not.toContain("warning:");
  });

  it("with no snapshot, plans the collected demo day: every endpoint's traffic and errors come from the sandbox", async () => {
    const result = await runCli(["plan", "--format", "json", "-q"], { env: NO_AWS });

    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe("");
    const document = JSON.parse(result.stdout);
    parsePlan(document);
    const plan = document as Plan;
    const demo = demoScenario();
    expect(plan.createdAt).toBe(demo.snapshot.capturedAt);
    expect(plan.endpoints.length).toBe(demo.snapshot.endpoints.length);
    expect(plan.endpoints.every((e) => e.requestsPerMonth > 0)).toBe(true);
    expect(plan.endpoints.some((e) => e.faultsPerDay > 0)).toBe(true);
    expect(plan.projectionBefore.monthlyUsd).toBeGreaterThan(0);
  });

  it("runs as `npm start` on a fresh clone", async () => {
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    const result = await runCli([], { command: [npm, ["start", "--silent"]], env: NO_AWS });

    expect(result.code).toBe(0);
    expect(result.stdout.startsWith("## X-Ray sampling plan")).toBe(true);
  });

  it("plans a snapshot file under a YAML config", async () => {
    const result = await runCli(["plan", "--snapshot", SNAPSHOT, "--config", CONFIG_YAML]);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain("X-Ray sampling plan for eu-west-1");
    expect(result.stdout).toContain("Budget $20.00/month");
    expect(result.stdout).toMatch(/`team-payments` .*\| untouched/);
    expect(result.stdout).toMatch(/`xgov-[^`]+` +\| `\* POST \/checkout` .*100\.0%/);
    expect(result.stderr).toContain(`--snapshot ${SNAPSHOT}`);
  });

  it("prints the plan@1 document alone with --format json, the same for a JSON or YAML config", async () => {
    const [fromYaml, fromJson] = await Promise.all([
      runCli(["plan", "--snapshot", SNAPSHOT, "--config", CONFIG_YAML, "--format", "json"]),
      runCli(["plan", "--snapshot", SNAPSHOT, "--config", CONFIG_JSON, "--format", "json"]),
    ]);

    expect(fromYaml.code).toBe(0);
    const plan = parsePlan(JSON.parse(fromYaml.stdout));
    expect(plan.format).toBe("xray-governor/plan@1");
    expect(plan.projection.budgetUsd).toBe(20);
    expect(plan.rules.map((r) => r.RuleName)).toContain("team-payments");
    expect(plan.rules.map((r) => r.RuleName)).toContain("Default");
    expect(plan.planId).toBe(JSON.parse(fromJson.stdout).planId);
  });

  it("takes the budget from --budget over the config's", async () => {
    const result = await runCli([
      "plan",
      "--snapshot",
      SNAPSHOT,
      "--config",
      CONFIG_YAML,
      "--budget",
      "35",
      "--format",
      "json",
    ]);

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).budget.monthlyUsd).toBe(35);
  });

  it("plans a snapshot on standard input with only a --budget", async () => {
    const result = await runCli(["plan", "--snapshot", "-", "--budget", "20", "--format", "json"], {
      stdin: readFileSync(join(REPO, SNAPSHOT), "utf8"),
    });

    expect(result.code).toBe(0);
    expect(parsePlan(JSON.parse(result.stdout)).projection.budgetUsd).toBe(20);
  });

  it("writes the report to --out instead of standard output, in the format its name says", async () => {
    const markdown = join(workDir, "plan.md");
    const json = join(workDir, "plan.json");

    const [toMarkdown, toJson] = await Promise.all([
      runCli(["plan", "--snapshot", SNAPSHOT, "--config", CONFIG_YAML, "--out", markdown]),
      runCli(["plan", "--snapshot", SNAPSHOT, "--config", CONFIG_YAML, "--out", json]),
    ]);

    expect(toMarkdown.code).toBe(0);
    expect(toMarkdown.stdout).toBe("");
    expect(readFileSync(markdown, "utf8")).toContain("### Rules (in evaluation order)");
    expect(toMarkdown.stderr).toContain(`wrote the markdown report to ${markdown}`);
    expect(toJson.code).toBe(0);
    expect(parsePlan(JSON.parse(readFileSync(json, "utf8"))).projection.budgetUsd).toBe(20);
  });

  it("draws a table without colour codes when the output is not a terminal", async () => {
    const result = await runCli([
      "plan",
      "--snapshot",
      SNAPSHOT,
      "--config",
      CONFIG_YAML,
      "--format",
      "table",
    ]);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/┌─+┬/);
    expect(result.stdout).not.toMatch(ANSI);
  });

  // util-linux `script` gives the CLI a terminal; without it there is no way to get one here.
  const script = ["/usr/bin/script", "/bin/script"].find((path) => existsSync(path));
  it.skipIf(!script)("draws a coloured table on a terminal, and no colour when NO_COLOR is set", async () => {
    const command = [process.execPath, BIN, "plan", "--snapshot", SNAPSHOT, "--config", CONFIG_YAML, "-q"]
      .map((word) => `'${word}'`)
      .join(" ");
    const onTerminal = (env: NodeJS.ProcessEnv) =>
      runCli([], { command: [script as string, ["-qec", command, "/dev/null"]], env });

    const [coloured, plain] = await Promise.all([onTerminal({}), onTerminal({ NO_COLOR: "1" })]);

    expect(coloured.code).toBe(0);
    expect(coloured.stdout).toMatch(/┌─+┬/);
    expect(coloured.stdout).toMatch(ANSI);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/┌─+┬/);
    expect(plain.stdout).not.toMatch(ANSI);
  });

  it("documents every flag in --help", async () => {
    const result = await runCli(["plan", "--help"]);

    expect(result.code).toBe(0);
    for (const flag of [
      "--snapshot <file>",
      "--config <file>",
      "--budget <usd>",
      "--format <format>",
      "--out <file>",
    ]) {
      expect(result.stdout).toContain(flag);
    }
    expect(result.stdout).toContain('"table", "markdown", "json"');
    expect(result.stdout).toContain("Exit codes");
  });
});

describe.concurrent("xray-governor plan with bad input", { timeout: 90_000 }, () => {
  const cases: { name: string; args: () => string[]; field: RegExp }[] = [
    {
      name: "a snapshot with the wrong format tag",
      args: () => [
        "--snapshot",
        mutated(SNAPSHOT, "tag.json", (s) => {
          s.format = "xray-governor/snapshot@2";
        }),
        "--config",
        CONFIG_YAML,
      ],
      field: /format: must be "xray-governor\/snapshot@1"/,
    },
    {
      name: "series of different lengths",
      args: () => [
        "--snapshot",
        mutated(SNAPSHOT, "lengths.json", (s) => {
          s.endpoints[1].errors.pop();
        }),
        "--config",
        CONFIG_YAML,
      ],
      field: /endpoints\[1\]\.errors: has 23 periods but requests has 24/,
    },
    {
      name: "a negative count",
      args: () => [
        "--snapshot",
        mutated(SNAPSHOT, "negative.json", (s) => {
          s.endpoints[2].requests[3] = -4;
        }),
        "--config",
        CONFIG_YAML,
      ],
      field: /endpoints\[2\]\.requests\[3\]: must be a non-negative integer count, got -4/,
    },
    {
      name: "a budget of 0 in the config",
      args: () => [
        "--snapshot",
        SNAPSHOT,
        "--config",
        mutated(CONFIG_JSON, "zero-budget.json", (c) => {
          c.budget.monthlyUsd = 0;
        }),
      ],
      field: /budget\.monthlyUsd: must be more than 0/,
    },
    {
      name: "a negative --budget",
      args: () => ["--snapshot", SNAPSHOT, "--config", CONFIG_YAML, "--budget", "-5"],
      field: /with --budget -5: invalid config:\s+- budget\.monthlyUsd: must be more than 0/,
    },
    {
      name: "an unknown field in a critical entry",
      args: () => [
        "--snapshot",
        SNAPSHOT,
        "--config",
        mutated(CONFIG_JSON, "critical.json", (c) => {
          c.critical[0].minRate = 0.5;
        }),
      ],
      field: /critical\[0\]: .*minRate/,
    },
    {
      name: "a rule outside X-Ray's limits",
      args: () => [
        "--snapshot",
        mutated(SNAPSHOT, "rule.json", (s) => {
          s.rules[1].FixedRate = 1.5;
        }),
        "--config",
        CONFIG_YAML,
      ],
      field: /rules\[1\]\.FixedRate: must be between 0 and 1/,
    },
    {
      name: "a rule path longer than X-Ray allows",
      args: () => [
        "--snapshot",
        mutated(SNAPSHOT, "long-path.json", (s) => {
          s.rules[1].URLPath = `/${"a".repeat(128)}`;
        }),
        "--config",
        CONFIG_YAML,
      ],
      field: /rules\[1\]\.URLPath: must be at most 128 characters/,
    },
    {
      name: "a snapshot file that does not exist",
      args: () => ["--snapshot", join(workDir, "missing.json"), "--config", CONFIG_YAML],
      field: /cannot read --snapshot .*missing\.json: no such file/,
    },
    {
      name: "a config that is not YAML",
      args: () => {
        const path = join(workDir, "broken.yaml");
        writeFileSync(path, "budget: [monthlyUsd: 20\n");
        return ["--snapshot", SNAPSHOT, "--config", path];
      },
      field: /--config .*broken\.yaml is not valid YAML/,
    },
    {
      name: "a snapshot without a budget",
      args: () => ["--snapshot", SNAPSHOT],
      field: /needs a budget: pass --config FILE .* or --budget USD/,
    },
    {
      name: "an unknown report format",
      args: () => ["--snapshot", SNAPSHOT, "--config", CONFIG_YAML, "--format", "html"],
      field: /--format <format>' argument 'html' is invalid/,
    },
    {
      name: "a --budget that is not a number",
      args: () => ["--snapshot", SNAPSHOT, "--config", CONFIG_YAML, "--budget", "lots"],
      field: /--budget <usd>' argument 'lots' is invalid\. must be a number of US dollars/,
    },
  ];

  it.each(cases)("rejects $name: exit 2, the field named, nothing written", async ({ name, args, field }) => {
    const out = join(workDir, `${name.replace(/\W+/g, "-")}.md`);

    const result = await runCli(["plan", ...args(), "--out", out]);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(field);
    expect(result.stdout).toBe("");
    expect(existsSync(out)).toBe(false);
  });

  it("prints nothing on standard output for bad input without --out", async () => {
    const result = await runCli(["plan", "--snapshot", SNAPSHOT, "--config", CONFIG_YAML, "--budget", "0"]);

    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("budget.monthlyUsd");
  });
});
