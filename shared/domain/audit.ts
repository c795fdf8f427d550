/**
 * The audit record of an applied change set, and the rule set a rollback of it restores.
 */
import { DEFAULT_RULE_NAME, type SamplingRule } from "./formats.ts";
import { ownershipOf } from "./ownership.ts";
import { type ReconcileConfig, ReconcileError, type RuleOperation } from "./reconcile.ts";

/** How a change set came about. */
export type ChangeMode = "apply" | "auto" | "approve" | "rollback";

/** What happened to one operation of a change set. */
export interface OperationRecord {
  type: RuleOperation["type"];
  ruleName: string;
  /** "update xgov-a (FixedRate)" … */
  description: string;
  status: "done" | "failed" | "not run";
  /** HTTP calls it took, retries included. */
  attempts?: number;
  error?: string;
}

/** applied: every operation done; partial: some done, then one failed; failed: none done. */
export type ChangeResult = "applied" | "partial" | "failed";

export interface AuditRecord {
  /** Starts with the UTC time (`20261117T101500Z-…`), so ids sort by time. */
  id: string;
  /** Who: a person (CLI user, Slack approver) or the scheduler. */
  actor: string;
  /** When the change set was applied, ISO 8601. */
  at: string;
  mode: ChangeMode;
  planId?: string;
  region?: string;
  /** For a rollback: the audit record it rolled back. */
  rollbackOf?: string;
  /** Every rule in the account before, and after, as X-Ray stores them, with tags. */
  before: SamplingRule[];
  after: SamplingRule[];
  operations: OperationRecord[];
  result: ChangeResult;
  error?: string;
}

export type NewAuditRecord = Omit<AuditRecord, "id" | "at"> & { at?: string };

/** The fields X-Ray returns that are not part of a rule's definition. */
export function definitionOf(rule: SamplingRule): SamplingRule {
  const { RuleARN: _arn, CreatedAt: _created, ModifiedAt: _modified, ...definition } = rule;
  return definition;
}

/**
 * The complete rule set that undoes a change set: the managed rules as they were before it,
 * Default's rate and reservoir as they were before it, and every unmanaged rule as it is now
 * (a rollback never touches people's rules, not even to restore them).
 */
export function rollbackRuleSet(
  record: Pick<AuditRecord, "id" | "before">,
  current: readonly SamplingRule[],
  config: ReconcileConfig,
): SamplingRule[] {
  const currentDefault = current.find((r) => r.RuleName === DEFAULT_RULE_NAME);
  const beforeDefault = record.before.find((r) => r.RuleName === DEFAULT_RULE_NAME);
  if (!currentDefault || !beforeDefault) {
    throw new ReconcileError([
      {
        ruleName: DEFAULT_RULE_NAME,
        message: !currentDefault
          ? "the account has no Default rule"
          : `audit record ${record.id} holds no Default rule to restore`,
      },
    ]);
  }
  return [
    ...current.filter((r) => ownershipOf(r, config) === "unmanaged").map(definitionOf),
    ...record.before.filter((r) => ownershipOf(r, config) === "managed").map(definitionOf),
    {
      ...definitionOf(currentDefault),
      FixedRate: beforeDefault.FixedRate,
      ReservoirSize: beforeDefault.ReservoirSize,
    },
  ];
}
