/**
 * The json report: the plan@1 document (`format`, `rules`, `actions`, `projection`) with the
 * project's own fields (reasons, per-endpoint projections, quota what-ifs, budget analysis,
 * warnings), exactly as the planner made it, so a script can read it back with `parsePlan`.
 */
import type { Plan } from "../domain/plan.ts";

export function renderJson(plan: Plan): string {
  return `${JSON.stringify(plan, null, 2)}\n`;
}
