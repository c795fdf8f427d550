import MarkdownIt from "markdown-it";
import { describe, expect, it } from "vitest";
import { parsePlan } from "../../shared/domain/formats.ts";
import type { Plan } from "../../shared/domain/plan.ts";
import { renderJson, renderMarkdown, renderPlan, renderTable } from "../../shared/report/index.ts";
import { samplePlan } from "../fixtures/sample-plan.ts";

const ANSI = /\u001b\[/;

/** The report's text with table borders and line breaks folded away, so wrapped cells read as one line. */
function flatten(text: string): string {
  return text.replace(/[│┌┐└┘├┤┬┴┼─]/g, " ").replace(/\s+/g, " ");
}

/** Every GFM table in a markdown document, as rows of cell texts, parsed by markdown-it. */
function markdownTables(markdown: string): string[][][] {
  const tokens = new MarkdownIt().parse(markdown, {});
  const tables: string[][][] = [];
  let row: string[] | undefined;
  for (const token of tokens) {
    if (token.type === "table_open") tables.push([]);
    else if (token.type === "tr_open") row = [];
    else if (token.type === "tr_close" && row) {
      tables[tables.length - 1].push(row);
      row = undefined;
    } else if (token.type === "inline" && row) {
      row.push(token.children?.map((c) => c.content).join("") ?? "");
    }
  }
  return tables;
}

describe.each([
  ["table", (plan: Plan) => flatten(renderTable(plan, { width: 2000 }))],
  ["markdown", (plan: Plan) => renderMarkdown(plan)],
] as const)("the %s report", (_name, render) => {
  it("summarises spend, capture, coverage and critical rates before and after", () => {
    const text = render(samplePlan());

    for (const figure of ["$120.00", "$108.00", "$43.21", "$87.65", "8.64M", "17.5M"]) {
      expect(text).toContain(figure);
    }
    for (const [before, after] of [
      ["41.2%", "91.2%"],
      ["52.3%", "83.4%"],
      ["88.1%", "97.7%"],
      ["12.3%", "65.5%"],
    ]) {
      expect(text).toMatch(
        new RegExp(`${before.replace(".", "\\.")}\\s*\\|?\\s*${after.replace(".", "\\.")}`),
      );
    }
    expect(text).toContain("+50.0 pts");
    expect(text).toMatch(/Critical rates\s*\|?\s*\**not met\**\s*\|?\s*met/);
  });

  it("says how the budget is split: headroom, people's rules, and the room kept for a spike", () => {
    const text = render(samplePlan());

    expect(text).toMatch(/headroom \$[\d.]+/);
    expect(text).toMatch(/rules not managed by the governor \$0\.25/);
    expect(text).toMatch(/\$0\.50 is kept free for a tenfold spike on one endpoint and a new endpoint/);
  });

  it("lists every rule with its settings and reason, and the rule it deletes", () => {
    const plan = samplePlan();
    const text = render(plan);

    for (const detail of plan.ruleDetails) {
      expect(text).toContain(detail.rule.RuleName);
      expect(text).toContain(`${detail.reason}: ${detail.explanation}`);
    }
    expect(text).toContain("orders-api GET /orders/*/items");
    expect(text).toContain("10.0% → 25.0%");
    expect(text).toContain("1/s → 2/s");
    expect(text).toMatch(/xgov-old-search.*delete.*its endpoints no longer need a rule/);
  });

  it("lists the endpoints whose sampling changes, largest change first, and leaves out the unchanged", () => {
    const text = render(samplePlan());

    const checkout = text.indexOf("orders-api POST /checkout");
    const search = text.indexOf("orders-api GET /search");
    const items = text.indexOf("orders-api GET /orders/{id}/items");
    expect(checkout).toBeGreaterThan(0);
    expect(checkout).toBeLessThan(search);
    expect(search).toBeLessThan(items);
    expect(text).toContain("6.0% → 100.0%");
    expect(text).toContain("15k → 250k");
    expect(text).not.toContain("orders-api GET /health");
  });

  it("shows only as many changed endpoints as asked", () => {
    const text = renderPlan(samplePlan(), _name, { endpointLimit: 1 });

    expect(text).toContain("The 1 largest of 3 changes");
    expect(text).not.toContain("orders-api GET /search");
  });

  it("says what raising the quota would buy", () => {
    const text = render(samplePlan());

    expect(text).toMatch(/50\s*\|?\s*up to 46\s*\|?\s*\$87\.90\s*\|?\s*93\.0% \(\+1\.8 pts\)/);
    expect(text).toMatch(/100\s*\|?\s*up to 96/);
    expect(text).toContain("Raising the quota to 100 would lift capture or coverage by up to +3.9 pts");
  });

  it("says when a larger quota would not help", () => {
    const plan = samplePlan();
    const text = render({
      ...plan,
      quota: { ...plan.quota, whatIf: [{ ruleQuota: 50, managedCapacity: 46, projection: plan.projection }] },
    });

    expect(text).toContain("the current quota is enough");
  });

  it("shows the warnings, and says so when there are none", () => {
    expect(render(samplePlan())).toContain("4 endpoints stay below");
    expect(render(samplePlan({ warnings: [] }))).toMatch(/Warnings\s+None\./);
  });

  it("says when the plan changes nothing", () => {
    expect(render(samplePlan({ actions: [] }))).toContain("No changes");
  });
});

describe("the table report", () => {
  it("has no ANSI codes unless colour is asked for", () => {
    expect(renderTable(samplePlan())).not.toMatch(ANSI);
    expect(renderTable(samplePlan(), { color: false })).not.toMatch(ANSI);
    expect(renderTable(samplePlan(), { color: true })).toMatch(ANSI);
  });

  it("wraps the reasons to fit the terminal width", () => {
    const text = renderTable(samplePlan(), { width: 160 });

    const widest = Math.max(...text.split("\n").map((line) => line.length));
    expect(widest).toBeLessThanOrEqual(160);
  });
});

describe("the markdown report", () => {
  it("is GFM tables whose rows all have the header's cells", () => {
    const markdown = renderMarkdown(samplePlan());

    const tables = markdownTables(markdown);
    expect(tables.map((t) => t[0][0])).toEqual(["", "Rule", "Endpoint", "Rule quota"]);
    for (const table of tables) {
      for (const row of table) expect(row).toHaveLength(table[0].length);
    }
    const rules = tables[1];
    expect(rules.slice(1).map((row) => row[0])).toEqual([
      "team-payments-debug",
      "xgov-critical-checkout",
      "xgov-orders-items",
      "xgov-bulk-health",
      "Default",
      "xgov-old-search",
    ]);
  });

  it("keeps pipes, stars and angle brackets in names and reasons literal", () => {
    const plan = samplePlan();
    plan.ruleDetails[1] = {
      ...plan.ruleDetails[1],
      explanation: "5xx | 4xx spikes on *items* <b>now</b>",
      rule: { ...plan.ruleDetails[1].rule, URLPath: "/orders/*/items|x" },
    };

    const tables = markdownTables(renderMarkdown(plan));

    const row = tables[1].find((r) => r[0] === "xgov-orders-items");
    expect(row).toHaveLength(tables[1][0].length);
    expect(row?.[1]).toBe("orders-api GET /orders/*/items|x");
    expect(row?.[8]).toBe("fault-prone: 5xx | 4xx spikes on *items* <b>now</b>");
  });

  it("has no ANSI codes", () => {
    expect(renderMarkdown(samplePlan())).not.toMatch(ANSI);
  });
});

describe("the json report", () => {
  it("is the plan@1 document, which parsePlan accepts", () => {
    const plan = samplePlan();

    const document = parsePlan(JSON.parse(renderJson(plan)));

    expect(document.format).toBe("xray-governor/plan@1");
    expect(document.rules.map((r) => r.RuleName)).toEqual(plan.rules.map((r) => r.RuleName));
    expect(document.actions).toHaveLength(4);
    expect(document.projection.monthlyUsd).toBe(87.65);
    expect(document.ruleDetails).toEqual(JSON.parse(JSON.stringify(plan.ruleDetails)));
  });

  it("is nothing but the document", () => {
    const text = renderJson(samplePlan());

    expect(() => JSON.parse(text)).not.toThrow();
    expect(text).not.toMatch(ANSI);
  });
});
