/**
 * The account's sampling rules as X-Ray keeps them: the Default rule from the start, the rule
 * quota, unique names, what may change on Default, ARNs, tags, and the time of the last change
 * (which clients read to refetch rules early).
 */
import { DEFAULT_RULE_NAME, type SamplingRule, type Tag } from "../../shared/domain/formats.ts";
import { defaultRule, ruleDefinition } from "../../shared/domain/sampling-rule.ts";
import { invalidRequest, ServiceError } from "../service-error.ts";
import type { VirtualClock } from "../virtual-clock.ts";

export const SANDBOX_ACCOUNT_ID = "000000000000";
export const MAX_TAGS_PER_RULE = 50;

/** A sampling rule as X-Ray's API returns it. */
export interface WireSamplingRule {
  RuleName: string;
  RuleARN: string;
  ResourceARN: string;
  Priority: number;
  FixedRate: number;
  ReservoirSize: number;
  ServiceName: string;
  ServiceType: string;
  Host: string;
  HTTPMethod: string;
  URLPath: string;
  Version: number;
  Attributes: Record<string, string>;
  SamplingRateBoost?: { MaxRate: number; CooldownWindowMinutes: number };
}

/** The fields of a rule a create carries (RuleARN is assigned). */
export type NewSamplingRule = Omit<WireSamplingRule, "RuleARN" | "Attributes"> & {
  Attributes?: Record<string, string>;
};

/** The fields UpdateSamplingRule may carry besides the rule's identity. */
export type SamplingRuleChanges = Partial<
  Pick<
    WireSamplingRule,
    | "ResourceARN"
    | "Priority"
    | "FixedRate"
    | "ReservoirSize"
    | "Host"
    | "ServiceName"
    | "ServiceType"
    | "HTTPMethod"
    | "URLPath"
    | "Attributes"
    | "SamplingRateBoost"
  >
>;

export interface RuleIdentity {
  RuleName?: string;
  RuleARN?: string;
}

interface StoredRule {
  rule: WireSamplingRule;
  /** Milliseconds since the epoch (virtual time). */
  createdAt: number;
  modifiedAt: number;
  tags: Tag[];
}

/** A record as GetSamplingRules returns it (timestamps in seconds since the epoch). */
export interface WireSamplingRuleRecord {
  SamplingRule: WireSamplingRule;
  CreatedAt: number;
  ModifiedAt: number;
}

export interface SamplingRuleStoreOptions {
  region: string;
  /** Sampling rules per region, Default included (X-Ray's default quota is 25). */
  ruleQuota: number;
  clock: VirtualClock;
}

export class SamplingRuleStore {
  readonly region: string;
  ruleQuota: number;
  private readonly clock: VirtualClock;
  /** In creation order; Default first. */
  private readonly rules: StoredRule[] = [];
  private lastModification: number;
  private changes = 0;

  constructor(options: SamplingRuleStoreOptions) {
    this.region = options.region;
    this.ruleQuota = options.ruleQuota;
    this.clock = options.clock;
    const now = this.clock.now();
    this.lastModification = now;
    this.rules.push({
      rule: { ...ruleDefinition(defaultRule()), RuleARN: this.arnOf(DEFAULT_RULE_NAME) },
      createdAt: now,
      modifiedAt: now,
      tags: [],
    });
  }

  arnOf(ruleName: string): string {
    return `arn:aws:xray:${this.region}:${SANDBOX_ACCOUNT_ID}:sampling-rule/${ruleName}`;
  }

  /** Every rule, as GetSamplingRules lists them. */
  records(): WireSamplingRuleRecord[] {
    return this.rules.map((r) => recordOf(r));
  }

  /** Every rule with its tags, in the project's SamplingRule shape (what the simulator applies). */
  samplingRules(): SamplingRule[] {
    return this.rules.map((r) => ({
      ...structuredClone(r.rule),
      Version: 1 as const,
      Tags: r.tags.map((t) => ({ ...t })),
      CreatedAt: new Date(r.createdAt).toISOString(),
      ModifiedAt: new Date(r.modifiedAt).toISOString(),
    }));
  }

  /** When a rule last changed (seconds since the epoch), for GetSamplingTargets. */
  lastRuleModification(): number {
    return this.lastModification / 1000;
  }

  /** Grows by one with every change to the rules (the simulator refreshes its match table on it). */
  get version(): number {
    return this.changes;
  }

  /** Looks a rule up by name (the simulator's statistics name rules). */
  has(ruleName: string): boolean {
    return this.findByName(ruleName) !== undefined;
  }

  get size(): number {
    return this.rules.length;
  }

  create(input: NewSamplingRule, tags: Tag[] = []): WireSamplingRuleRecord {
    if (input.Version !== 1) throw invalidRequest("Sampling rule Version must be 1");
    if (this.findByName(input.RuleName)) {
      throw invalidRequest(`A sampling rule with the name ${input.RuleName} already exists`);
    }
    if (this.rules.length >= this.ruleQuota) {
      throw new ServiceError(
        "RuleLimitExceededException",
        400,
        `You have reached the maximum number of sampling rules (${this.ruleQuota})`,
      );
    }
    checkTags(tags, input.RuleName);
    if (tags.length > MAX_TAGS_PER_RULE) {
      throw invalidRequest(`A sampling rule can have at most ${MAX_TAGS_PER_RULE} tags`);
    }
    const now = this.touch();
    const stored: StoredRule = {
      rule: {
        RuleName: input.RuleName,
        RuleARN: this.arnOf(input.RuleName),
        ResourceARN: input.ResourceARN,
        Priority: input.Priority,
        FixedRate: input.FixedRate,
        ReservoirSize: input.ReservoirSize,
        ServiceName: input.ServiceName,
        ServiceType: input.ServiceType,
        Host: input.Host,
        HTTPMethod: input.HTTPMethod,
        URLPath: input.URLPath,
        Version: 1,
        Attributes: { ...(input.Attributes ?? {}) },
        ...(input.SamplingRateBoost ? { SamplingRateBoost: { ...input.SamplingRateBoost } } : {}),
      },
      createdAt: now,
      modifiedAt: now,
      tags: dedupeTags(tags),
    };
    this.rules.push(stored);
    return recordOf(stored);
  }

  update(identity: RuleIdentity, changes: SamplingRuleChanges): WireSamplingRuleRecord {
    const stored = this.resolveRule(identity);
    if (stored.rule.RuleName === DEFAULT_RULE_NAME) {
      const changed = (Object.keys(changes) as (keyof SamplingRuleChanges)[]).filter(
        (k) => changes[k] !== undefined && k !== "FixedRate" && k !== "ReservoirSize",
      );
      if (changed.length > 0) {
        throw invalidRequest(
          `Only FixedRate and ReservoirSize of the Default sampling rule can be changed, not ${changed.join(", ")}`,
        );
      }
    }
    for (const [key, value] of Object.entries(changes)) {
      if (value === undefined) continue;
      (stored.rule as unknown as Record<string, unknown>)[key] = structuredClone(value);
    }
    stored.modifiedAt = this.touch();
    return recordOf(stored);
  }

  delete(identity: RuleIdentity): WireSamplingRuleRecord {
    const stored = this.resolveRule(identity);
    if (stored.rule.RuleName === DEFAULT_RULE_NAME) {
      throw invalidRequest("The Default sampling rule cannot be deleted");
    }
    this.rules.splice(this.rules.indexOf(stored), 1);
    this.touch();
    return recordOf(stored);
  }

  tagsOf(resourceArn: string): Tag[] {
    return this.resolveArn(resourceArn).tags.map((t) => ({ ...t }));
  }

  tag(resourceArn: string, tags: Tag[]): void {
    const stored = this.resolveArn(resourceArn);
    checkTags(tags, stored.rule.RuleName);
    const merged = dedupeTags([...stored.tags, ...tags]);
    if (merged.length > MAX_TAGS_PER_RULE) {
      throw new ServiceError(
        "TooManyTagsException",
        400,
        `A resource can have at most ${MAX_TAGS_PER_RULE} tags; this request would give it ${merged.length}`,
        { ResourceName: resourceArn },
      );
    }
    stored.tags = merged;
  }

  untag(resourceArn: string, keys: string[]): void {
    const stored = this.resolveArn(resourceArn);
    for (const key of keys) {
      if (key.toLowerCase().startsWith("aws:")) {
        throw invalidRequest(`Tag keys with the aws: prefix are reserved and cannot be removed: ${key}`);
      }
    }
    const remove = new Set(keys);
    stored.tags = stored.tags.filter((t) => !remove.has(t.Key));
  }

  /** Records a change now; returns the time to stamp on the rule. */
  private touch(): number {
    const now = this.clock.now();
    this.lastModification = Math.max(this.lastModification, now);
    this.changes++;
    return now;
  }

  private findByName(name: string): StoredRule | undefined {
    return this.rules.find((r) => r.rule.RuleName === name);
  }

  /** RuleName or RuleARN, not both (as X-Ray documents); an unknown rule is an invalid request. */
  private resolveRule(identity: RuleIdentity): StoredRule {
    const { RuleName, RuleARN } = identity;
    if (RuleName !== undefined && RuleARN !== undefined) {
      throw invalidRequest("Specify either RuleName or RuleARN, not both");
    }
    if (RuleName === undefined && RuleARN === undefined) {
      throw invalidRequest("Either RuleName or RuleARN is required");
    }
    const stored =
      RuleName !== undefined ? this.findByName(RuleName) : this.rules.find((r) => r.rule.RuleARN === RuleARN);
    if (!stored) throw invalidRequest(`Sampling rule does not exist: ${RuleName ?? RuleARN}`);
    return stored;
  }

  /** Tag operations name a resource by ARN; an unknown one is ResourceNotFoundException (404). */
  private resolveArn(resourceArn: string): StoredRule {
    const stored = this.rules.find((r) => r.rule.RuleARN === resourceArn);
    if (!stored) {
      throw new ServiceError("ResourceNotFoundException", 404, `Resource not found: ${resourceArn}`, {
        ResourceName: resourceArn,
      });
    }
    return stored;
  }
}

function recordOf(stored: StoredRule): WireSamplingRuleRecord {
  return {
    SamplingRule: structuredClone(stored.rule),
    CreatedAt: stored.createdAt / 1000,
    ModifiedAt: stored.modifiedAt / 1000,
  };
}

function checkTags(tags: Tag[], ruleName: string): void {
  for (const tag of tags) {
    if (tag.Key.toLowerCase().startsWith("aws:")) {
      throw invalidRequest(`Tag keys with the aws: prefix are reserved (rule ${ruleName}): ${tag.Key}`);
    }
  }
}

/** A later value for the same key replaces the earlier one, as TagResource does. */
function dedupeTags(tags: Tag[]): Tag[] {
  const byKey = new Map<string, Tag>();
  for (const tag of tags) byKey.set(tag.Key, { Key: tag.Key, Value: tag.Value });
  return [...byKey.values()];
}
