/**
 * The markdown report: the same content as the terminal table, as GitHub-flavoured markdown
 * for a pull request, an issue or a wiki page. Tables are drawn by markdown-table; the cell
 * escaping is ours, since markdown-table leaves cell text as it is.
 */
import { markdownTable } from "markdown-table";
import type { Plan } from "../domain/plan.ts";
import { type Cell, type PlanReportOptions, planReport, type Section } from "./plan-report.ts";

/** Text that markdown would read as markup (emphasis, links, html, table pipes) made literal. */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_[\]<|~]/g, "\\$&").replace(/\r?\n/g, " ");
}

/** A code span; only the pipe needs escaping inside one in a GFM table. */
function codeSpan(text: string): string {
  const body = text.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
  const fence = body.includes("`") ? "``" : "`";
  return `${fence}${body}${fence}`;
}

function cellText(cell: Cell): string {
  if (cell.text === "") return "";
  const text = cell.code ? codeSpan(cell.text) : escapeMarkdown(cell.text);
  return cell.tone === "bad" ? `**${text}**` : text;
}

function drawSection(section: Section): string {
  const lines = [`### ${escapeMarkdown(section.title)}`, ""];
  for (const note of section.notes) lines.push(escapeMarkdown(note), "");
  if (section.rows.length > 0) {
    lines.push(
      markdownTable([section.head.map(escapeMarkdown), ...section.rows.map((row) => row.map(cellText))], {
        align: section.align.map((a) => (a === "right" ? "r" : "l")),
      }),
      "",
    );
  }
  return lines.join("\n");
}

export function renderMarkdown(plan: Plan, options: PlanReportOptions = {}): string {
  const report = planReport(plan, options);
  const parts = [
    `## ${escapeMarkdown(report.title)}\n\n${report.facts.map((f) => `- ${escapeMarkdown(f)}`).join("\n")}\n`,
    drawSection(report.summary),
    drawSection(report.rules),
    drawSection(report.endpoints),
    drawSection(report.quota),
    `### Warnings\n\n${
      report.warnings.length === 0 ? "None." : report.warnings.map((w) => `- ${escapeMarkdown(w)}`).join("\n")
    }\n`,
  ];
  return parts.join("\n");
}
