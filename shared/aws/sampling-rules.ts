/**
 * The account's sampling rules as the domain sees them: GetSamplingRules plus each rule's tags
 * (ListTagsForResource), and the translation between X-Ray's records and `SamplingRule`.
 */
import {
  paginateGetSamplingRules,
  paginateListTagsForResource,
  type SamplingRuleRecord,
  type XRayClient,
  type SamplingRule as XRaySamplingRule,
} from "@aws-sdk/client-xray";
import type { SamplingRule, Tag } from "../domain/formats.ts";
import { ruleDefinition } from "../domain/sampling-rule.ts";

/** Tag reads in flight at once: enough to be quick, few enough not to be throttled. */
const TAG_READ_CONCURRENCY = 4;

/** Every sampling rule in the account, with its tags. */
export async function readAccountRules(xray: XRayClient): Promise<SamplingRule[]> {
  const records: SamplingRuleRecord[] = [];
  for await (const page of paginateGetSamplingRules({ client: xray }, {})) {
    records.push(...(page.SamplingRuleRecords ?? []));
  }
  const rules: SamplingRule[] = new Array(records.length);
  for (let start = 0; start < records.length; start += TAG_READ_CONCURRENCY) {
    await Promise.all(
      records.slice(start, start + TAG_READ_CONCURRENCY).map(async (record, offset) => {
        const arn = record.SamplingRule?.RuleARN;
        rules[start + offset] = samplingRuleOf(record, arn ? await readTags(xray, arn) : []);
      }),
    );
  }
  return rules;
}

export async function readTags(xray: XRayClient, resourceArn: string): Promise<Tag[]> {
  const tags: Tag[] = [];
  for await (const page of paginateListTagsForResource({ client: xray }, { ResourceARN: resourceArn })) {
    for (const tag of page.Tags ?? []) tags.push({ Key: tag.Key ?? "", Value: tag.Value ?? "" });
  }
  return tags;
}

/** An X-Ray rule record as a domain rule (X-Ray's defaults filled in where a field is missing). */
export function samplingRuleOf(record: SamplingRuleRecord, tags: Tag[]): SamplingRule {
  const r: Partial<XRaySamplingRule> = record.SamplingRule ?? {};
  return {
    RuleName: r.RuleName ?? "",
    RuleARN: r.RuleARN,
    ResourceARN: r.ResourceARN ?? "*",
    Priority: r.Priority ?? 0,
    FixedRate: r.FixedRate ?? 0,
    ReservoirSize: r.ReservoirSize ?? 0,
    ServiceName: r.ServiceName ?? "*",
    ServiceType: r.ServiceType ?? "*",
    Host: r.Host ?? "*",
    HTTPMethod: r.HTTPMethod ?? "*",
    URLPath: r.URLPath ?? "*",
    Version: 1,
    Attributes: r.Attributes ?? {},
    ...(r.SamplingRateBoost?.MaxRate !== undefined
      ? {
          SamplingRateBoost: {
            MaxRate: r.SamplingRateBoost.MaxRate,
            CooldownWindowMinutes: r.SamplingRateBoost.CooldownWindowMinutes ?? 1,
          },
        }
      : {}),
    Tags: tags,
    CreatedAt: record.CreatedAt?.toISOString(),
    ModifiedAt: record.ModifiedAt?.toISOString(),
  };
}

/** A domain rule as CreateSamplingRule takes it: the definition, without ARN, timestamps and tags. */
export function xraySamplingRuleOf(rule: SamplingRule): XRaySamplingRule {
  return ruleDefinition(rule);
}
