/**
 * What one tuning run does, decided from the config alone: the kill switch first (mode `off`
 * or `freeze`: nothing at all, not even a collection), then the mode.
 */
import type { Config } from "./formats.ts";
import { applyBlockedBy } from "./reconcile.ts";

export type TuningStep =
  /** Change nothing, read nothing: the kill switch is on. */
  | { kind: "skip"; reason: string }
  /** Collect and plan; report the plan; write nothing. */
  | { kind: "report" }
  /** Collect and plan; a person approves before anything is applied. */
  | { kind: "propose" }
  /** Collect, plan, and apply inside the guard rails. */
  | { kind: "apply" };

export function tuningStepOf(config: Pick<Config, "mode" | "freeze">): TuningStep {
  const blocked = applyBlockedBy(config);
  if (blocked) return { kind: "skip", reason: blocked };
  switch (config.mode) {
    case "auto":
      return { kind: "apply" };
    case "approve":
      return { kind: "propose" };
    default:
      return { kind: "report" };
  }
}
