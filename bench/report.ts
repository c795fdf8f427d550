/**
 * The benchmark's markdown: one table per scenario and quota variant (governor vs every
 * baseline), a summary of the targets, the closed loop and the planner timing. Markdown so it
 * can be pasted into the README as it is.
 */
import { markdownTable } from "markdown-table";
import type { WindowScore } from "../shared/domain/scoring.ts";
import type { ClosedLoopResult } from "./closed-loop.ts";
import {
  best,
  type Metric,
  referenceRows,
  type SamplerRow,
  TARGET_METRICS,
  type VariantResult,
} from "./evaluate.ts";
import type { TimingSample } from "./timing.ts";

export const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const mark = (pass: boolean) => (pass ? "✅" : "❌");
const ms = (x: number | undefined) =>
  x === undefined ? "" : x < 10 ? x.toFixed(1) : Math.round(x).toLocaleString("en-US");
const mib = (bytes: number) => `${Math.round(bytes / 1024 / 1024).toLocaleString("en-US")} MiB`;

export function criticalCell(score: WindowScore): string {
  if (score.critical.length === 0) return "—";
  const worst = Math.min(...score.critical.map((c) => c.rate));
  return `${pct(worst)} ${score.criticalMet ? "met" : "unmet"}`;
}

/** A target metric as the tables name it. */
const METRIC_NAMES: Record<Metric, string> = {
  faultCapture: "fault capture",
  errorCapture: "error capture",
  coverage: "coverage",
};

/** A target's name as the tables give it (targets that are not metrics keep their own). */
export function targetName(name: string): string {
  return METRIC_NAMES[name as Metric] ?? name;
}

const VARIANT_TITLES = {
  quota: (q: number) =>
    `at the account's quota (${q} rules) — targets vs the best deployable baseline within budget`,
  "room-for-all": (q: number) =>
    `quota with room for every endpoint (${q} rules) — targets vs the best per-endpoint baseline within budget − 2 pts`,
};

/** One scenario variant: a row per sampler; the governor's cells marked against the targets. */
export function variantTable(scenario: string, result: VariantResult): string {
  const references = referenceRows(result.rows, result.variant);
  const tops = new Map<Metric, SamplerRow | undefined>(TARGET_METRICS.map((m) => [m, best(references, m)]));
  const target = (name: string) => result.targets.find((t) => t.name === name);
  const cell = (row: SamplerRow, metric: Metric) => {
    const value = pct(row.score[metric]);
    if (row.kind === "governor") return `${value} ${mark(target(metric)?.pass ?? false)}`;
    return tops.get(metric) === row ? `**${value}**` : value;
  };
  const header = [
    "sampler",
    "spend/budget",
    "fault capture",
    "error capture",
    "coverage",
    "rare coverage",
    "critical rate",
    "rules",
    "plan ms",
  ];
  const rows = result.rows.map((row) => [
    row.kind === "governor" ? "**governor**" : row.label,
    row.kind === "governor"
      ? `${pct(row.score.spendRatio)} ${mark(row.withinBudget)}`
      : `${pct(row.score.spendRatio)}${row.withinBudget ? "" : " (over)"}`,
    cell(row, "faultCapture"),
    cell(row, "errorCapture"),
    cell(row, "coverage"),
    pct(row.score.rareCoverage),
    row.kind === "governor"
      ? `${criticalCell(row.score)} ${mark(row.score.criticalMet)}`
      : criticalCell(row.score),
    row.rules === undefined ? "n/a" : String(row.rules),
    ms(row.planningMs),
  ]);
  const lines = [
    `#### ${scenario} — ${VARIANT_TITLES[result.variant](result.ruleQuota)}`,
    "",
    markdownTable([header, ...rows], { align: ["l", "r", "r", "r", "r", "r", "r", "r", "r"] }),
    "",
    `Bold: the best baseline within budget (spend ≤ 105%) for that target. ${
      result.pass
        ? "All targets met ✅"
        : `Targets missed ❌: ${result.targets
            .filter((t) => !t.pass)
            .map((t) => targetName(t.name))
            .join(", ")}`
    }`,
  ];
  const same = result.sameCritical;
  if (same && Object.keys(same).length > 0) {
    const governor = result.rows[0];
    const parts = TARGET_METRICS.filter((m) => same[m]).map(
      (m) =>
        `${METRIC_NAMES[m]} ${pct(same[m]?.value ?? 0)} (${same[m]?.label}; governor ${pct(governor.score[m])})`,
    );
    lines.push(
      "",
      `Held to the same critical minimums (each pinned by a rule of its own, paid first), the best baselines within budget score: ${parts.join(", ")}.`,
    );
  }
  for (const t of result.targets.filter((x) => x.unattainable && x.bound !== undefined)) {
    lines.push(
      "",
      `${targetName(t.name)}: no plan can reach ${pct(t.threshold)} here — any sampling that meets the critical minimums within the budget scores at most ${pct(t.bound as number)} on this day (bench/bounds.ts).`,
    );
  }
  if (result.warnings.length > 0) lines.push("", ...result.warnings.map((w) => `> planner warning: ${w}`));
  return lines.join("\n");
}

export interface ScenarioResult {
  name: string;
  description: string;
  source: "example" | "generated";
  endpoints: number;
  periods: number;
  variants: VariantResult[];
  closedLoop?: ClosedLoopSummary;
}

export interface ClosedLoopSummary {
  result: ClosedLoopResult;
  oneShot: WindowScore;
  reference: Partial<Record<Metric, { label: string; value: number }>>;
  targets: { name: string; value: number; threshold: number; pass: boolean }[];
  pass: boolean;
}

function targetCell(result: VariantResult, name: string): string {
  const t = result.targets.find((x) => x.name === name);
  if (!t) return "";
  if (!t.reference) return `${pct(t.value)} ${mark(t.pass)} (no baseline in budget)`;
  const beyond = t.unattainable && t.bound !== undefined ? ` (no plan > ${pct(t.bound)})` : "";
  return `${pct(t.value)} vs ${pct(t.threshold)} ${mark(t.pass)}${beyond}`;
}

/** Every scenario and variant in one table: the governor against its targets. */
export function summaryTable(results: ScenarioResult[]): string {
  const header = [
    "scenario",
    "quota",
    "spend/budget",
    "criticals",
    "fault capture",
    "error capture",
    "coverage",
    "plan ms",
    "pass",
  ];
  const rows: string[][] = [];
  for (const s of results) {
    for (const v of s.variants) {
      const governor = v.rows[0];
      rows.push([
        s.name,
        `${v.ruleQuota}${v.variant === "room-for-all" ? " (all)" : ""}`,
        `${pct(governor.score.spendRatio)} ${mark(governor.withinBudget)}`,
        `${criticalCell(governor.score)} ${mark(governor.score.criticalMet)}`,
        targetCell(v, "faultCapture"),
        targetCell(v, "errorCapture"),
        targetCell(v, "coverage"),
        ms(governor.planningMs),
        mark(v.pass),
      ]);
    }
  }
  return [
    "Governor vs target (the best baseline within budget; at the quota: deployable forms, with room for all: per-endpoint forms − 2 pts).",
    "",
    markdownTable([header, ...rows], { align: ["l", "r", "r", "r", "r", "r", "r", "r", "c"] }),
  ].join("\n");
}

export function closedLoopTable(results: ScenarioResult[]): string {
  const header = [
    "scenario",
    "spend/budget",
    "fault capture (≥ best + 10 pts)",
    "error capture",
    "coverage",
    "rare coverage",
    "criticals",
    "one-shot fault",
    "re-plans",
    "median / max plan ms",
    "pass",
  ];
  const rows: string[][] = [];
  for (const s of results) {
    const c = s.closedLoop;
    if (!c) continue;
    const t = (name: string) => {
      const x = c.targets.find((y) => y.name === name);
      return x ? `${pct(x.value)} vs ${pct(x.threshold)} ${mark(x.pass)}` : "";
    };
    const spend = c.targets.find((y) => y.name === "spend/budget ≤ 100%");
    rows.push([
      s.name,
      spend ? `${pct(spend.value)} ${mark(spend.pass)}` : "",
      t("faultCapture"),
      t("errorCapture"),
      t("coverage"),
      pct(c.result.score.rareCoverage),
      criticalCell(c.result.score),
      pct(c.oneShot.faultCapture),
      String(c.result.plans),
      `${ms(c.result.planningMs.median)} / ${ms(c.result.planningMs.max)}`,
      mark(c.pass),
    ]);
  }
  return [
    "Closed loop at the account's quota: re-plan every 15 min on the last 24 h, each plan in force 5 min later; targets vs the best deployable baseline within budget (made once from the snapshot).",
    "",
    markdownTable([header, ...rows], { align: ["l", "r", "r", "r", "r", "r", "r", "r", "r", "r", "c"] }),
  ].join("\n");
}

export function timingTable(samples: TimingSample[]): string {
  const header = [
    "endpoints",
    "periods",
    "runs",
    "median ms",
    "min ms",
    "max ms",
    "rules",
    "RSS before planning",
    "peak RSS",
    "heap after planning",
  ];
  const rows = samples.map((s) => [
    s.endpoints.toLocaleString("en-US"),
    String(s.periods),
    String(s.runs),
    ms(s.medianMs),
    ms(Math.min(...s.timesMs)),
    ms(Math.max(...s.timesMs)),
    String(s.rules),
    mib(s.rssBeforeBytes),
    mib(s.peakRssBytes),
    mib(s.heapAfterMaxBytes),
  ]);
  return [
    "Planner timing (`planSampling` with the default options, generated snapshots; RSS includes the snapshot itself).",
    "",
    markdownTable([header, ...rows], { align: ["r", "r", "r", "r", "r", "r", "r", "r", "r", "r"] }),
  ].join("\n");
}
