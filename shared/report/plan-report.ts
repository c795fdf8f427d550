/**
 * What a plan report says, independent of how it is drawn: the summary, the rules, the
 * endpoints whose sampling changes most, what the quota costs, and the warnings. The terminal
 * table and the markdown renderers both draw this one model, so they always carry the same
 * content.
 */
import type { SamplingRule } from "../domain/formats.ts";
import type { Plan, PlanProjection } from "../domain/plan.ts";
import { evaluationOrder } from "../domain/sampling.ts";
import { change, count, percent, points, reservoir, usd } from "./numbers.ts";

/** How a cell should stand out: better, worse, a caution, or background detail. */
export type Tone = "good" | "bad" | "warn" | "muted";

export interface Cell {
  text: string;
  tone?: Tone;
  /** A pattern or an identifier, shown verbatim (a code span in markdown). */
  code?: boolean;
}

export interface Section {
  title: string;
  /** Sentences shown before the table. */
  notes: string[];
  head: string[];
  align: ("left" | "right")[];
  rows: Cell[][];
  /**
   * Columns a terminal renderer may wrap to fit its width, in the order to narrow them, each
   * down to at most `min` characters.
   */
  wrap?: { column: number; min: number }[];
}

export interface PlanReport {
  title: string;
  /** Facts about the plan as a whole: budget, target, pacing, rule slots, changes. */
  facts: string[];
  summary: Section;
  rules: Section;
  endpoints: Section;
  quota: Section;
  warnings: string[];
}

export interface PlanReportOptions {
  /** How many changed endpoints to list (default 15). */
  endpointLimit?: number;
}

/** Changes in a capture or coverage share smaller than this are not called better or worse. */
const NOTICEABLE = 0.0005;

export function planReport(plan: Plan, options: PlanReportOptions = {}): PlanReport {
  return {
    title: `X-Ray sampling plan for ${plan.region}`,
    facts: factsOf(plan),
    summary: summarySection(plan),
    rules: rulesSection(plan),
    endpoints: endpointsSection(plan, options.endpointLimit ?? 15),
    quota: quotaSection(plan),
    warnings: plan.warnings,
  };
}

// ---------------------------------------------------------------------------------------------

function factsOf(plan: Plan): string[] {
  const { budget, quota } = plan;
  const facts: string[] = [];
  const deductions = [`headroom ${usd(budget.headroomUsd)}`];
  if (budget.unmanagedUsd > 0)
    deductions.push(`rules not managed by the governor ${usd(budget.unmanagedUsd)}`);
  const room =
    budget.exposureUsd > 0
      ? `, of which ${usd(budget.exposureUsd)} is kept free for a tenfold spike on one endpoint and a new endpoint`
      : "";
  facts.push(
    `Budget ${usd(budget.monthlyUsd)}/month; the plan aims at ${usd(budget.targetUsd)} (${deductions.join(", ")})${room}.`,
  );
  if (budget.pacing) {
    const p = budget.pacing;
    facts.push(
      `Month to date: ${count(p.monthToDateTraces)} traces (${usd(p.monthToDateUsd)}) with ${percent(p.monthFractionElapsed)} of the month gone; the rest of the month can afford ${usd(p.affordableMonthlyUsd)}/month.`,
    );
  }
  facts.push(
    `Rules: ${quota.managedUsed} of ${quota.managedCapacity} managed slots used (quota ${quota.ruleQuota}: ${quota.unmanagedRules} rule${quota.unmanagedRules === 1 ? "" : "s"} made by people, ${quota.reserve} kept in reserve, and Default).`,
  );
  const byType = { create: 0, update: 0, delete: 0 };
  for (const action of plan.actions) byType[action.type]++;
  facts.push(
    plan.actions.length === 0
      ? "No changes: the rules in the account already are the plan."
      : `Changes: ${byType.create} to create, ${byType.update} to update, ${byType.delete} to delete.`,
  );
  const timing = plan.planningMs === undefined ? "" : ` in ${Math.round(plan.planningMs)} ms`;
  facts.push(
    `Plan ${plan.planId}, made ${plan.createdAt}${timing}, against rule state ${plan.baseFingerprint}.`,
  );
  return facts;
}

// ---------------------------------------------------------------------------------------------

/** A share that should go up: tone by the direction of the change. */
function shareRow(label: string, before: number, after: number): Cell[] {
  const delta = after - before;
  const tone: Tone | undefined = delta > NOTICEABLE ? "good" : delta < -NOTICEABLE ? "bad" : undefined;
  return [
    { text: label },
    { text: percent(before) },
    { text: percent(after), tone },
    { text: points(delta), tone },
  ];
}

function summarySection(plan: Plan): Section {
  const before = plan.projectionBefore;
  const after = plan.projection;
  const budgetUsd = plan.budget.monthlyUsd;
  const overBudget = (p: PlanProjection) => p.monthlyUsd > budgetUsd + 1e-9;
  const spendDelta = after.monthlyUsd - before.monthlyUsd;
  const criticalText = (met: boolean) => (met ? "met" : "not met");
  return {
    title: "Summary",
    notes: [],
    head: ["", "Current rules", "Planned rules", "Change"],
    align: ["left", "right", "right", "right"],
    rows: [
      [
        { text: "Spend per month" },
        { text: usd(before.monthlyUsd), tone: overBudget(before) ? "bad" : undefined },
        { text: usd(after.monthlyUsd), tone: overBudget(after) ? "bad" : undefined },
        { text: `${spendDelta >= 0 ? "+" : "-"}${usd(Math.abs(spendDelta))}` },
      ],
      [
        { text: "Share of budget" },
        { text: percent(before.monthlyUsd / budgetUsd), tone: overBudget(before) ? "bad" : undefined },
        { text: percent(after.monthlyUsd / budgetUsd), tone: overBudget(after) ? "bad" : undefined },
        { text: points((after.monthlyUsd - before.monthlyUsd) / budgetUsd) },
      ],
      [
        { text: "Traces per month" },
        { text: count(before.monthlyTraces) },
        { text: count(after.monthlyTraces) },
        { text: "" },
      ],
      shareRow("Fault capture (5xx)", before.faultCapture, after.faultCapture),
      shareRow("Error capture (4xx and 5xx)", before.errorCapture, after.errorCapture),
      shareRow("Coverage", before.coverage, after.coverage),
      shareRow("Rare coverage (< 1 request/min)", before.rareCoverage, after.rareCoverage),
      [
        { text: "Critical rates" },
        { text: criticalText(before.criticalMet), tone: before.criticalMet ? undefined : "bad" },
        { text: criticalText(after.criticalMet), tone: after.criticalMet ? "good" : "bad" },
        { text: "" },
      ],
    ],
  };
}

// ---------------------------------------------------------------------------------------------

/** A rule's match pattern in one line: `orders-api POST /orders/*`, with host and type when set. */
export function matchPattern(rule: Partial<SamplingRule>): string {
  const parts: string[] = [];
  if (rule.ServiceType && rule.ServiceType !== "*") parts.push(`[${rule.ServiceType}]`);
  if (rule.Host && rule.Host !== "*") parts.push(`${rule.Host}:`);
  parts.push(rule.ServiceName ?? "*", rule.HTTPMethod ?? "*", rule.URLPath ?? "*");
  return parts.join(" ");
}

function rate(fixedRate: number | undefined): string | undefined {
  return fixedRate === undefined ? undefined : percent(fixedRate);
}

function rulesSection(plan: Plan): Section {
  const actionOf = new Map(plan.actions.map((a) => [a.ruleName, a]));
  const ordered = evaluationOrder(plan.ruleDetails.map((d) => ({ ...d, ...d.rule })));
  const rows: Cell[][] = ordered.map((detail) => {
    const { rule, before } = detail;
    const action = actionOf.get(rule.RuleName);
    const status = action?.type ?? (detail.ownership === "unmanaged" ? "untouched" : "unchanged");
    return [
      { text: rule.RuleName, code: true },
      { text: matchPattern(rule), code: true },
      { text: count(detail.endpointCount) },
      { text: change(before && reservoir(before.ReservoirSize), reservoir(rule.ReservoirSize)) },
      { text: change(rate(before?.FixedRate), percent(rule.FixedRate)) },
      { text: change(before?.Priority.toString(), rule.Priority.toString()) },
      { text: usd(detail.projectedUsdPerMonth) },
      { text: status, tone: status === "untouched" || status === "unchanged" ? "muted" : undefined },
      { text: `${detail.reason}: ${detail.explanation}` },
    ];
  });
  for (const action of plan.actions) {
    if (action.type !== "delete") continue;
    const before = action.before ?? {};
    rows.push([
      { text: action.ruleName, code: true },
      { text: matchPattern(before), code: true },
      { text: "0" },
      { text: change(before.ReservoirSize === undefined ? "?" : reservoir(before.ReservoirSize), "—") },
      { text: change(rate(before.FixedRate) ?? "?", "—") },
      { text: change(before.Priority?.toString() ?? "?", "—") },
      { text: "—" },
      { text: "delete", tone: "warn" },
      { text: action.reason },
    ]);
  }
  return {
    title: "Rules (in evaluation order)",
    notes: [],
    head: ["Rule", "Matches", "Endpoints", "Reservoir", "Rate", "Priority", "$/month", "Change", "Why"],
    align: ["left", "left", "right", "right", "right", "right", "right", "left", "left"],
    rows,
    wrap: [
      { column: 8, min: 28 },
      { column: 1, min: 18 },
      { column: 0, min: 16 },
    ],
  };
}

// ---------------------------------------------------------------------------------------------

/** How much an endpoint's sampling changed, as a log ratio (1% → 10% counts as much as 10% → 100%). */
function changeSize(before: number, after: number): number {
  const floor = 1e-6;
  return Math.abs(Math.log((after + floor) / (before + floor)));
}

function endpointsSection(plan: Plan, limit: number): Section {
  const changed = plan.endpoints
    .map((endpoint) => ({ endpoint, size: changeSize(endpoint.probabilityBefore, endpoint.probability) }))
    .filter((e) => e.size > Math.log(1.01))
    .sort(
      (a, b) =>
        b.size - a.size ||
        Math.abs(b.endpoint.tracesPerMonth - b.endpoint.tracesPerMonthBefore) -
          Math.abs(a.endpoint.tracesPerMonth - a.endpoint.tracesPerMonthBefore) ||
        (a.endpoint.label < b.endpoint.label ? -1 : 1),
    );
  const shown = changed.slice(0, Math.max(0, limit));
  const notes =
    changed.length === 0
      ? [`No endpoint's sampling changes (${plan.endpoints.length} endpoints in the snapshot).`]
      : [
          `${shown.length === changed.length ? "All" : `The ${shown.length} largest of`} ${changed.length} changes, of ${plan.endpoints.length} endpoints in the snapshot.`,
        ];
  return {
    title: "Endpoints whose sampling changes most",
    notes,
    head: ["Endpoint", "Rule", "Sampling", "Traces/month", "5xx/day", "4xx/day"],
    align: ["left", "left", "right", "right", "right", "right"],
    wrap: [
      { column: 0, min: 24 },
      { column: 1, min: 16 },
    ],
    rows: shown.map(({ endpoint: e }) => [
      { text: e.label, code: true },
      { text: change(e.ruleNameBefore, e.ruleName), code: true },
      {
        text: change(percent(e.probabilityBefore), percent(e.probability)),
        tone: e.probability > e.probabilityBefore ? "good" : "warn",
      },
      { text: change(count(e.tracesPerMonthBefore), count(e.tracesPerMonth)) },
      { text: count(e.faultsPerDay) },
      { text: count(e.errorsPerDay) },
    ]),
  };
}

// ---------------------------------------------------------------------------------------------

function quotaSection(plan: Plan): Section {
  const { quota } = plan;
  const now = plan.projection;
  const share = (after: number, before: number, isNow: boolean): Cell => {
    if (isNow) return { text: percent(after) };
    const delta = after - before;
    return {
      text: `${percent(after)} (${points(delta)})`,
      tone: delta > NOTICEABLE ? "good" : delta < -NOTICEABLE ? "bad" : "muted",
    };
  };
  const row = (
    ruleQuota: string,
    capacity: number,
    used: string,
    p: PlanProjection,
    isNow: boolean,
  ): Cell[] => [
    { text: ruleQuota },
    { text: `${used}${capacity}` },
    { text: usd(p.monthlyUsd) },
    share(p.faultCapture, now.faultCapture, isNow),
    share(p.errorCapture, now.errorCapture, isNow),
    share(p.coverage, now.coverage, isNow),
    share(p.rareCoverage, now.rareCoverage, isNow),
    { text: p.criticalMet ? "met" : "not met", tone: p.criticalMet ? undefined : "bad" },
  ];
  const whatIf = [...quota.whatIf].sort((a, b) => a.ruleQuota - b.ruleQuota);
  const notes: string[] = [];
  if (whatIf.length === 0) {
    notes.push("No raised quota was projected.");
  } else {
    const best = whatIf.reduce(
      (acc, w) => {
        const gain = Math.max(
          w.projection.faultCapture - now.faultCapture,
          w.projection.errorCapture - now.errorCapture,
          w.projection.coverage - now.coverage,
        );
        return gain > acc.gain ? { gain, quota: w.ruleQuota } : acc;
      },
      { gain: 0, quota: 0 },
    );
    notes.push(
      best.gain >= 0.01
        ? `Raising the quota to ${best.quota} would lift capture or coverage by up to ${points(best.gain)}: worth asking AWS (quota code L-8C0C998A).`
        : "A larger quota would change capture and coverage by less than 1 point: the current quota is enough.",
    );
  }
  return {
    title: "What the rule quota costs",
    notes,
    head: [
      "Rule quota",
      "Managed rules",
      "Spend/month",
      "Fault capture",
      "Error capture",
      "Coverage",
      "Rare coverage",
      "Critical",
    ],
    align: ["left", "right", "right", "right", "right", "right", "right", "left"],
    rows: [
      row(`${quota.ruleQuota} (now)`, quota.managedCapacity, `${quota.managedUsed} of `, now, true),
      ...whatIf.map((w) => row(String(w.ruleQuota), w.managedCapacity, "up to ", w.projection, false)),
    ],
  };
}
