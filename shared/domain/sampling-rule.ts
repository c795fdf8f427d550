/**
 * Sampling rules with X-Ray's defaults: a rule built from the few fields that matter to a case
 * (tests, sandbox scenarios, bench baselines), and the definition a CreateSamplingRule carries.
 */
import { DEFAULT_RULE_NAME, DEFAULT_RULE_PRIORITY, type SamplingRule } from "./formats.ts";

/**
 * A rule matching every request at X-Ray's default settings (reservoir 1/s, then 5%), priority
 * 1000 (after people's usual low numbers, before Default), no attributes or tags — with the given
 * fields on top.
 */
export function samplingRule(fields: Partial<SamplingRule> & Pick<SamplingRule, "RuleName">): SamplingRule {
  return {
    ResourceARN: "*",
    Priority: 1000,
    FixedRate: 0.05,
    ReservoirSize: 1,
    ServiceName: "*",
    ServiceType: "*",
    Host: "*",
    HTTPMethod: "*",
    URLPath: "*",
    Version: 1,
    Attributes: {},
    Tags: [],
    ...fields,
  };
}

/** X-Ray's Default rule as a fresh account has it (1 trace/s + 5%), with the given fields on top. */
export function defaultRule(fields: Partial<SamplingRule> = {}): SamplingRule {
  return samplingRule({ RuleName: DEFAULT_RULE_NAME, Priority: DEFAULT_RULE_PRIORITY, ...fields });
}

/** A rule whose Version, ResourceARN, Attributes and Tags may be left to X-Ray's defaults. */
export type SamplingRuleInput = Omit<SamplingRule, "Version" | "ResourceARN" | "Attributes" | "Tags"> &
  Partial<Pick<SamplingRule, "Version" | "ResourceARN" | "Attributes" | "Tags">>;

/** What CreateSamplingRule carries: the rule's definition, without ARN, timestamps and tags. */
export type SamplingRuleDefinition = Pick<
  SamplingRule,
  | "RuleName"
  | "ResourceARN"
  | "Priority"
  | "FixedRate"
  | "ReservoirSize"
  | "ServiceName"
  | "ServiceType"
  | "Host"
  | "HTTPMethod"
  | "URLPath"
  | "Version"
  | "Attributes"
  | "SamplingRateBoost"
>;

/** A rule's definition as CreateSamplingRule takes it, X-Ray's defaults where a field is left out. */
export function ruleDefinition(rule: SamplingRuleInput): SamplingRuleDefinition {
  return {
    RuleName: rule.RuleName,
    ResourceARN: rule.ResourceARN ?? "*",
    Priority: rule.Priority,
    FixedRate: rule.FixedRate,
    ReservoirSize: rule.ReservoirSize,
    ServiceName: rule.ServiceName,
    ServiceType: rule.ServiceType,
    Host: rule.Host,
    HTTPMethod: rule.HTTPMethod,
    URLPath: rule.URLPath,
    Version: rule.Version ?? 1,
    Attributes: rule.Attributes ?? {},
    ...(rule.SamplingRateBoost ? { SamplingRateBoost: rule.SamplingRateBoost } : {}),
  };
}
