/**
 * The terminal report: the plan report drawn with cli-table3. Colour is the caller's decision
 * (on a TTY and without NO_COLOR); when it is off the output has no escape codes at all.
 */
import Table from "cli-table3";
import pc from "picocolors";
import type { Plan } from "../domain/plan.ts";
import { type Cell, type PlanReportOptions, planReport, type Section, type Tone } from "./plan-report.ts";

export interface TableRenderOptions extends PlanReportOptions {
  /** Use ANSI colours. The CLI turns this on only on a TTY and never when NO_COLOR is set. */
  color?: boolean;
  /** Terminal width in columns; wide free-text columns wrap to fit it (default 160). */
  width?: number;
}

type Colors = ReturnType<typeof pc.createColors>;

function paint(colors: Colors, cell: Cell): string {
  const byTone: Record<Tone, (s: string) => string> = {
    good: colors.green,
    bad: colors.red,
    warn: colors.yellow,
    muted: colors.dim,
  };
  const text = cell.code && !cell.tone ? colors.cyan(cell.text) : cell.text;
  return cell.tone ? byTone[cell.tone](text) : text;
}

/** Column widths: natural for all but the wrap column, which gets what the width leaves. */
function columnWidths(section: Section, width: number): (number | null)[] {
  const natural = section.head.map((head, c) =>
    Math.max(head.length, ...section.rows.map((row) => row[c]?.text.length ?? 0)),
  );
  return natural.map((w, c) => {
    if (c !== section.wrapColumn) return null;
    // Each column takes its text, one space of padding on each side and one border.
    const others = natural.reduce((sum, n, i) => (i === c ? sum : sum + n + 3), 0);
    return Math.min(w + 2, Math.max(24, width - others - 2));
  });
}

function drawSection(section: Section, colors: Colors, width: number): string {
  const table = new Table({
    head: section.head.map((h) => colors.bold(h)),
    colAligns: section.align,
    colWidths: columnWidths(section, width),
    wordWrap: true,
    // cli-table3 colours heads and borders itself unless told not to; colour is decided here.
    // Row separators only where cells wrap onto several lines.
    style: { head: [], border: [], compact: section.wrapColumn === undefined },
  });
  for (const row of section.rows) table.push(row.map((cell) => paint(colors, cell)));
  const lines = [colors.bold(section.title), ...section.notes];
  if (section.rows.length > 0) lines.push(table.toString());
  return lines.join("\n");
}

export function renderTable(plan: Plan, options: TableRenderOptions = {}): string {
  const colors = pc.createColors(options.color ?? false);
  const width = options.width ?? 160;
  const report = planReport(plan, options);
  const parts = [
    [colors.bold(report.title), ...report.facts].join("\n"),
    drawSection(report.summary, colors, width),
    drawSection(report.rules, colors, width),
    drawSection(report.endpoints, colors, width),
    drawSection(report.quota, colors, width),
    [
      colors.bold("Warnings"),
      ...(report.warnings.length === 0 ? ["None."] : report.warnings.map((w) => colors.yellow(`! ${w}`))),
    ].join("\n"),
  ];
  return `${parts.join("\n\n")}\n`;
}
