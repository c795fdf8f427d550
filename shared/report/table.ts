/**
 * The terminal report: the plan report drawn with cli-table3. Colour is the caller's decision
 * (on a TTY and without NO_COLOR); when it is off the output has no escape codes at all.
 */
import Table from "cli-table3";
import pc from "picocolors";
import wrapAnsi from "wrap-ansi";
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

/**
 * Column widths (with padding): natural, except that the section's wrappable columns are
 * narrowed, in their order, until the table fits the width or they reach their minimum.
 * `null` leaves a column to cli-table3.
 */
function columnWidths(section: Section, width: number): (number | null)[] {
  const cells = section.head.map(
    (head, c) => Math.max(head.length, ...section.rows.map((row) => row[c]?.text.length ?? 0)) + 2,
  );
  // Each column takes its cells and one border; plus the table's last border.
  let total = cells.reduce((sum, w) => sum + w + 1, 1);
  const wrapped = new Set<number>();
  for (const { column, min } of section.wrap ?? []) {
    if (total <= width) break;
    const cut = Math.min(total - width, cells[column] - Math.min(cells[column], min + 2));
    cells[column] -= cut;
    total -= cut;
    wrapped.add(column);
  }
  return cells.map((w, c) => (wrapped.has(c) ? w : null));
}

function drawSection(section: Section, colors: Colors, width: number): string {
  const colWidths = columnWidths(section, width);
  const table = new Table({
    head: section.head.map((h) => colors.bold(h)),
    colAligns: section.align,
    colWidths,
    // cli-table3 colours heads and borders itself unless told not to; colour is decided here.
    // Row separators only where cells wrap onto several lines.
    style: { head: [], border: [], compact: colWidths.every((w) => w === null) },
  });
  for (const row of section.rows) {
    table.push(
      row.map((cell, c) => {
        const text = paint(colors, cell);
        const width = colWidths[c];
        // At spaces where there are some; words longer than the column (rule names) break anywhere.
        return width === null ? text : wrapAnsi(text, width - 2, { hard: true, trim: true });
      }),
    );
  }
  const lines = [colors.bold(section.title), ...section.notes];
  if (section.rows.length > 0) lines.push(table.toString());
  return lines.join("\n");
}

export function renderTable(plan: Plan, options: TableRenderOptions = {}): string {
  const colors = pc.createColors(options.color ?? false);
  const width = options.width ?? 160;
  const report = planReport(plan, options);
  const parts = [
    [colors.bold(report.title), ...report.facts.map((f) => wrapAnsi(f, width, { hard: true }))].join("\n"),
    drawSection(report.summary, colors, width),
    drawSection(report.rules, colors, width),
    drawSection(report.endpoints, colors, width),
    drawSection(report.quota, colors, width),
    [
      colors.bold("Warnings"),
      ...(report.warnings.length === 0
        ? ["None."]
        : report.warnings.map((w) => colors.yellow(wrapAnsi(`! ${w}`, width, { hard: true })))),
    ].join("\n"),
  ];
  return `${parts.join("\n\n")}\n`;
}
