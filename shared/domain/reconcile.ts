/**
 * Reconcile: the ordered write operations that turn the sampling rules in the account into a
 * desired complete rule set (a plan's `rules`), without ever touching a rule the governor does
 * not own, deleting Default, or going over the rule quota at any moment.
 *
 * Order of operations, and why. Every request is matched by the first matching rule, so each
 * intermediate state of an apply decides which rule takes which traffic. The aim is that every
 * request is matched either by the rule that matched it before the apply or by the one that
 * will match it after, never by a third rule, and switches from old to new only once:
 *
 * 1. Rules are *established* first (creates and in-place updates), front to back in the
 *    desired evaluation order (priority ascending, then name). When a rule is established,
 *    every rule ahead of it in the final order is already final, so the traffic it takes is
 *    traffic it keeps. Back to front would let a broad new rule catch, for a while, requests
 *    that a narrower new rule ahead of it is meant to take.
 * 2. Rules that go away are deleted last, back to front in the current evaluation order. Until
 *    then they keep catching their old traffic (old behaviour, not a gap that drops a critical
 *    endpoint to Default or floods a broad 100% rule with health checks). Deleting the
 *    rearmost first means a deleted rule's traffic never falls into another rule that is about
 *    to be deleted too.
 * 3. The quota overrides both: when a create would push the rule count over the quota (or over
 *    the current count, if the account is already above the configured quota), the next
 *    pending delete (rearmost first) runs before it.
 * 4. Tag fixes come last: tags do not affect sampling, and created rules carry their tags in
 *    the create call itself, so a managed rule is never, even briefly, untagged.
 *
 * A change X-Ray cannot express as an update (removing a SamplingRateBoost or clearing a
 * rule's Attributes) is a replace: delete, then create under the same name, back to back.
 */
import {
  type Config,
  DEFAULT_RULE_NAME,
  type SamplingRule,
  SamplingRuleSchema,
  type Tag,
} from "./formats.ts";
import { ownershipOf } from "./ownership.ts";
import { evaluationOrder } from "./sampling.ts";

type OwnershipConfig = Parameters<typeof ownershipOf>[1];
export type ReconcileConfig = OwnershipConfig & { ruleQuota: number };

/** Fields of a rule that `UpdateSamplingRule` can change. */
export interface RuleChanges {
  ResourceARN?: string;
  Priority?: number;
  FixedRate?: number;
  ReservoirSize?: number;
  ServiceName?: string;
  ServiceType?: string;
  Host?: string;
  HTTPMethod?: string;
  URLPath?: string;
  Attributes?: Record<string, string>;
  SamplingRateBoost?: { MaxRate: number; CooldownWindowMinutes: number };
}

export type RuleOperation =
  | { type: "create"; ruleName: string; rule: SamplingRule }
  | { type: "update"; ruleName: string; changes: RuleChanges; before: SamplingRule }
  | { type: "delete"; ruleName: string; before: SamplingRule }
  | { type: "tag"; ruleName: string; ruleArn?: string; tags: Tag[] }
  | { type: "untag"; ruleName: string; ruleArn?: string; tagKeys: string[] };

export interface ReconcileProblem {
  ruleName: string;
  message: string;
}

/** The desired set cannot be applied safely; nothing was (or may be) changed. */
export class ReconcileError extends Error {
  constructor(readonly problems: ReconcileProblem[]) {
    super(
      `refusing to apply the rule set:\n${problems.map((p) => `  - rule ${p.ruleName}: ${p.message}`).join("\n")}`,
    );
    this.name = "ReconcileError";
  }
}

/** Why no change may be applied now (the kill switch), or undefined when changes may go ahead. */
export function applyBlockedBy(config: Pick<Config, "mode" | "freeze">): string | undefined {
  if (config.freeze) return "config.freeze is true (the kill switch): nothing is changed while it is set";
  if (config.mode === "off") return 'config.mode is "off": the governor changes nothing';
  return undefined;
}

/** A rollback is a person undoing a change: mode "off" does not stop it, the freeze does. */
export function rollbackBlockedBy(config: Pick<Config, "freeze">): string | undefined {
  return applyBlockedBy({ freeze: config.freeze, mode: "report" });
}

/** Absolute tolerance on rates: planners compute them in floating point. */
export const RATE_TOLERANCE = 1e-9;

const MATCH_FIELDS = ["ResourceARN", "ServiceName", "ServiceType", "Host", "HTTPMethod", "URLPath"] as const;

/** The fields (other than tags and name) in which two rules differ, as X-Ray stores them. */
export function storedRuleDifferences(a: SamplingRule, b: SamplingRule): (keyof RuleChanges)[] {
  const out: (keyof RuleChanges)[] = [];
  if (a.Priority !== b.Priority) out.push("Priority");
  if (Math.abs(a.FixedRate - b.FixedRate) > RATE_TOLERANCE) out.push("FixedRate");
  if (a.ReservoirSize !== b.ReservoirSize) out.push("ReservoirSize");
  for (const field of MATCH_FIELDS) {
    if ((a[field] ?? "*") !== (b[field] ?? "*")) out.push(field);
  }
  if (!sameStringMap(a.Attributes ?? {}, b.Attributes ?? {})) out.push("Attributes");
  const boostA = a.SamplingRateBoost;
  const boostB = b.SamplingRateBoost;
  if (
    (boostA === undefined) !== (boostB === undefined) ||
    (boostA &&
      boostB &&
      (Math.abs(boostA.MaxRate - boostB.MaxRate) > RATE_TOLERANCE ||
        boostA.CooldownWindowMinutes !== boostB.CooldownWindowMinutes))
  ) {
    out.push("SamplingRateBoost");
  }
  return out;
}

export function sameStoredRule(a: SamplingRule, b: SamplingRule): boolean {
  return a.RuleName === b.RuleName && storedRuleDifferences(a, b).length === 0;
}

/** Tags as a map, without the `aws:` tags AWS itself attaches (nobody may change those). */
export function tagMap(tags: readonly Tag[] | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const tag of tags ?? []) {
    if (!tag.Key.toLowerCase().startsWith("aws:")) out.set(tag.Key, tag.Value);
  }
  return out;
}

export function sameTags(a: readonly Tag[] | undefined, b: readonly Tag[] | undefined): boolean {
  const ma = tagMap(a);
  const mb = tagMap(b);
  return ma.size === mb.size && [...ma].every(([k, v]) => mb.get(k) === v);
}

function sameStringMap(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

/**
 * The write operations, in order, that make `current` (the account's rules with their tags)
 * equal to `desired` (a complete rule set: managed rules, the unmanaged rules unchanged, and
 * Default). An empty list when they are already equal. Throws {@link ReconcileError} when the
 * desired set would create, change or delete a rule the governor does not own, would change
 * Default beyond its rate and reservoir, or does not fit the quota.
 */
export function reconcileRules(
  current: readonly SamplingRule[],
  desired: readonly SamplingRule[],
  config: ReconcileConfig,
): RuleOperation[] {
  const problems: ReconcileProblem[] = [];
  checkDesiredSet(desired, problems);
  const currentByName = new Map(current.map((r) => [r.RuleName, r]));
  const desiredByName = new Map(desired.map((r) => [r.RuleName, r]));

  if (!currentByName.has(DEFAULT_RULE_NAME)) {
    problems.push({ ruleName: DEFAULT_RULE_NAME, message: "the account has no Default rule" });
  }
  if (!desiredByName.has(DEFAULT_RULE_NAME)) {
    problems.push({
      ruleName: DEFAULT_RULE_NAME,
      message: "the desired rule set has no Default rule (Default can never be deleted)",
    });
  }
  if (desired.length > config.ruleQuota) {
    problems.push({
      ruleName: "(all)",
      message: `the desired rule set has ${desired.length} rules, more than the rule quota of ${config.ruleQuota}`,
    });
  }

  /** Creates and in-place updates, with the desired rule they establish. */
  const establish: { target: SamplingRule; ops: RuleOperation[] }[] = [];
  const deletes: SamplingRule[] = [];
  const tagOps: RuleOperation[] = [];

  for (const name of new Set([...currentByName.keys(), ...desiredByName.keys()])) {
    const before = currentByName.get(name);
    const after = desiredByName.get(name);
    const ownerBefore = before && ownershipOf(before, config);
    const ownerAfter = after && ownershipOf(after, config);

    if (name === DEFAULT_RULE_NAME) {
      if (!before || !after) continue; // reported above
      const diff = storedRuleDifferences(before, after);
      const forbidden = diff.filter((f) => f !== "FixedRate" && f !== "ReservoirSize");
      if (forbidden.length > 0) {
        problems.push({
          ruleName: name,
          message: `only FixedRate and ReservoirSize of Default can change, but the desired set changes ${forbidden.join(", ")}`,
        });
      } else if (diff.length > 0) {
        establish.push({ target: after, ops: [updateOf(before, after, diff)] });
      }
      continue;
    }

    if (before && after) {
      if (ownerBefore === "unmanaged" || ownerAfter === "unmanaged") {
        if (ownerBefore !== ownerAfter) {
          problems.push({
            ruleName: name,
            message:
              ownerBefore === "unmanaged"
                ? "is not managed by the governor (it lacks the owner tag or the name prefix); the desired set would take it over"
                : "is managed by the governor, but the desired set would drop its owner tag or prefix",
          });
        } else {
          const diff = storedRuleDifferences(before, after);
          if (diff.length > 0 || !sameTags(before.Tags, after.Tags)) {
            problems.push({
              ruleName: name,
              message: `is not managed by the governor, but the desired set changes its ${[...diff, ...(sameTags(before.Tags, after.Tags) ? [] : ["Tags"])].join(", ")} (the account changed since the plan? plan again)`,
            });
          }
        }
        continue;
      }
      const diff = storedRuleDifferences(before, after);
      const needsReplace =
        (before.SamplingRateBoost !== undefined && after.SamplingRateBoost === undefined) ||
        (Object.keys(before.Attributes ?? {}).length > 0 && Object.keys(after.Attributes ?? {}).length === 0);
      if (needsReplace) {
        establish.push({
          target: after,
          ops: [
            { type: "delete", ruleName: name, before },
            { type: "create", ruleName: name, rule: after },
          ],
        });
        continue;
      }
      if (diff.length > 0) establish.push({ target: after, ops: [updateOf(before, after, diff)] });
      tagOps.push(...tagFixes(before, after));
      continue;
    }

    if (before) {
      if (ownerBefore === "unmanaged") {
        problems.push({
          ruleName: name,
          message:
            "is not managed by the governor and the desired set leaves it out; the governor never deletes it (the account changed since the plan? plan again)",
        });
      } else {
        deletes.push(before);
      }
      continue;
    }

    if (after) {
      if (ownerAfter === "unmanaged") {
        problems.push({
          ruleName: name,
          message:
            "is not in the account and is not a managed rule (it lacks the owner tag or the name prefix); the governor only creates rules it owns",
        });
      } else {
        establish.push({ target: after, ops: [{ type: "create", ruleName: name, rule: after }] });
      }
    }
  }

  if (problems.length > 0) throw new ReconcileError(problems);

  const desiredPosition = new Map(evaluationOrder(desired).map((r, i) => [r.RuleName, i]));
  establish.sort((a, b) => desiredPosition.get(a.target.RuleName)! - desiredPosition.get(b.target.RuleName)!);
  // Rearmost first; pop() takes from the end, so sort front to back.
  const pendingDeletes = evaluationOrder(deletes);

  const limit = Math.max(config.ruleQuota, current.length);
  let count = current.length;
  const ops: RuleOperation[] = [];
  const deleteNext = () => {
    const rule = pendingDeletes.pop()!;
    ops.push({ type: "delete", ruleName: rule.RuleName, before: rule });
    count--;
  };
  for (const step of establish) {
    for (const op of step.ops) {
      if (op.type === "create") {
        while (count + 1 > limit && pendingDeletes.length > 0) deleteNext();
        count++;
      } else if (op.type === "delete") {
        count--;
      }
      ops.push(op);
    }
  }
  while (pendingDeletes.length > 0) deleteNext();
  ops.push(...tagOps);
  return ops;
}

function updateOf(before: SamplingRule, after: SamplingRule, diff: (keyof RuleChanges)[]): RuleOperation {
  const changes: RuleChanges = {};
  for (const field of diff) {
    (changes as Record<string, unknown>)[field] = after[field];
  }
  return { type: "update", ruleName: after.RuleName, changes, before };
}

function tagFixes(before: SamplingRule, after: SamplingRule): RuleOperation[] {
  const have = tagMap(before.Tags);
  const want = tagMap(after.Tags);
  const tags = [...want].filter(([k, v]) => have.get(k) !== v).map(([Key, Value]) => ({ Key, Value }));
  const tagKeys = [...have.keys()].filter((k) => !want.has(k));
  const ops: RuleOperation[] = [];
  if (tags.length > 0) ops.push({ type: "tag", ruleName: after.RuleName, ruleArn: before.RuleARN, tags });
  if (tagKeys.length > 0)
    ops.push({ type: "untag", ruleName: after.RuleName, ruleArn: before.RuleARN, tagKeys });
  return ops;
}

function checkDesiredSet(desired: readonly SamplingRule[], problems: ReconcileProblem[]): void {
  const seen = new Set<string>();
  for (const rule of desired) {
    const parsed = SamplingRuleSchema.safeParse(rule);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        problems.push({
          ruleName: String(rule?.RuleName ?? "(unnamed)"),
          message: `${issue.path.join(".") || "(rule)"}: ${issue.message}`,
        });
      }
      continue;
    }
    if (rule.RuleName !== DEFAULT_RULE_NAME && rule.Priority > 9999) {
      problems.push({ ruleName: rule.RuleName, message: "Priority must be between 1 and 9999" });
    }
    const key = rule.RuleName.toLowerCase();
    if (seen.has(key)) problems.push({ ruleName: rule.RuleName, message: "appears more than once" });
    seen.add(key);
  }
}

/**
 * The rules after applying `operations` to `rules`: what X-Ray would hold. Pure; used to check
 * a reconcile and to describe an apply's result.
 */
export function applyOperations(
  rules: readonly SamplingRule[],
  operations: readonly RuleOperation[],
): SamplingRule[] {
  let out = rules.map((r) => ({ ...r }));
  for (const op of operations) out = applyOperation(out, op);
  return out;
}

export function applyOperation(rules: readonly SamplingRule[], op: RuleOperation): SamplingRule[] {
  switch (op.type) {
    case "create":
      if (rules.some((r) => r.RuleName === op.ruleName))
        throw new Error(`rule ${op.ruleName} already exists`);
      return [...rules, { ...op.rule }];
    case "delete":
      return rules.filter((r) => r.RuleName !== op.ruleName);
    case "update":
      return rules.map((r) => (r.RuleName === op.ruleName ? { ...r, ...op.changes } : r));
    case "tag":
      return rules.map((r) => {
        if (r.RuleName !== op.ruleName) return r;
        const tags = new Map((r.Tags ?? []).map((t) => [t.Key, t.Value]));
        for (const t of op.tags) tags.set(t.Key, t.Value);
        return { ...r, Tags: [...tags].map(([Key, Value]) => ({ Key, Value })) };
      });
    case "untag":
      return rules.map((r) =>
        r.RuleName === op.ruleName
          ? { ...r, Tags: (r.Tags ?? []).filter((t) => !op.tagKeys.includes(t.Key)) }
          : r,
      );
  }
}

/** Whether two complete rule sets are the same as X-Ray stores them (names, fields, tags). */
export function sameRuleSet(a: readonly SamplingRule[], b: readonly SamplingRule[]): boolean {
  if (a.length !== b.length) return false;
  const byName = new Map(b.map((r) => [r.RuleName, r]));
  return a.every((r) => {
    const other = byName.get(r.RuleName);
    return other !== undefined && sameStoredRule(r, other) && sameTags(r.Tags, other.Tags);
  });
}

/** "create xgov-a", "update Default (FixedRate, ReservoirSize)" … for reports and logs. */
export function describeOperation(op: RuleOperation): string {
  switch (op.type) {
    case "create":
      return `create ${op.ruleName}`;
    case "delete":
      return `delete ${op.ruleName}`;
    case "update":
      return `update ${op.ruleName} (${Object.keys(op.changes).join(", ")})`;
    case "tag":
      return `tag ${op.ruleName} (${op.tags.map((t) => t.Key).join(", ")})`;
    case "untag":
      return `untag ${op.ruleName} (${op.tagKeys.join(", ")})`;
  }
}
