/**
 * The plan renderers by name: each a pure function from a plan to the text of a report.
 */
import type { Plan } from "../domain/plan.ts";
import { renderJson } from "./json.ts";
import { renderMarkdown } from "./markdown.ts";
import { renderTable, type TableRenderOptions } from "./table.ts";

export const REPORT_FORMATS = ["table", "markdown", "json"] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export type RenderOptions = TableRenderOptions;

export function renderPlan(plan: Plan, format: ReportFormat, options: RenderOptions = {}): string {
  switch (format) {
    case "table":
      return renderTable(plan, options);
    case "markdown":
      return renderMarkdown(plan, options);
    case "json":
      return renderJson(plan);
  }
}

export { renderJson, renderMarkdown, renderTable };
