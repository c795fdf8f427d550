/**
 * Which rules the governor owns. A rule is managed only when it carries the owner tag AND its
 * name starts with the configured prefix; everything else (but Default) is a person's rule
 * and is never created, changed or deleted by the governor.
 */
import type { Config, SamplingRule } from "./formats.ts";
import { isDefaultRule } from "./sampling.ts";

export type RuleOwnership = "managed" | "unmanaged" | "default";

export function ownershipOf(
  rule: Pick<SamplingRule, "RuleName" | "Tags">,
  config: Pick<Config, "rules">,
): RuleOwnership {
  if (isDefaultRule(rule)) return "default";
  const { namePrefix, ownerTag } = config.rules;
  const tagged = (rule.Tags ?? []).some((t) => t.Key === ownerTag.key && t.Value === ownerTag.value);
  return tagged && rule.RuleName.startsWith(namePrefix) ? "managed" : "unmanaged";
}

export function splitRules<R extends Pick<SamplingRule, "RuleName" | "Tags">>(
  rules: readonly R[],
  config: Pick<Config, "rules">,
): { managed: R[]; unmanaged: R[]; defaultRule: R | undefined } {
  const managed: R[] = [];
  const unmanaged: R[] = [];
  let defaultRule: R | undefined;
  for (const rule of rules) {
    const owner = ownershipOf(rule, config);
    if (owner === "default") defaultRule = rule;
    else if (owner === "managed") managed.push(rule);
    else unmanaged.push(rule);
  }
  return { managed, unmanaged, defaultRule };
}

/**
 * How many managed rules fit: the quota, less Default, less the rules people made, less the
 * configured reserve.
 */
export function managedRuleCapacity(
  unmanagedCount: number,
  config: Pick<Config, "ruleQuota" | "rules">,
): number {
  return Math.max(0, config.ruleQuota - 1 - unmanagedCount - config.rules.reserve);
}
