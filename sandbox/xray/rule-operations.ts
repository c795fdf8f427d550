/**
 * X-Ray's sampling-rule and tagging operations (restJson1): request validation with X-Ray's
 * field limits, then the rule store.
 */
import { z } from "zod";
import { decimal, integer, parseRequest, text } from "../aws-validation.ts";
import { pageOf } from "../pagination.ts";
import { invalidRequest } from "../service-error.ts";
import type { SamplingRuleStore } from "./sampling-rules.ts";

const TagSchema = z.object({ Key: text(1, 128), Value: text(0, 256) });

const AttributesSchema = z
  .record(text(1, 32), text(1, 32))
  .refine((a) => Object.keys(a).length <= 5, "Member must have at most 5 entries");

const SamplingRateBoostSchema = z.object({
  MaxRate: decimal(0, 1),
  CooldownWindowMinutes: integer(1),
});

const SamplingRuleSchema = z.object({
  RuleName: text(1, 32),
  RuleARN: z.string().optional(),
  ResourceARN: text(0, 500),
  Priority: integer(1, 9999),
  FixedRate: decimal(0, 1),
  ReservoirSize: integer(0),
  ServiceName: text(0, 64),
  ServiceType: text(0, 64),
  Host: text(0, 64),
  HTTPMethod: text(0, 10),
  URLPath: text(0, 128),
  Version: integer(1),
  Attributes: AttributesSchema.optional(),
  SamplingRateBoost: SamplingRateBoostSchema.optional(),
});

const CreateSamplingRuleRequest = z.object({
  SamplingRule: SamplingRuleSchema,
  Tags: z.array(TagSchema).optional(),
});

const SamplingRuleUpdateSchema = z.object({
  RuleName: text(1, 32).optional(),
  RuleARN: z.string().optional(),
  ResourceARN: text(0, 500).optional(),
  Priority: integer(1, 9999).optional(),
  FixedRate: decimal(0, 1).optional(),
  ReservoirSize: integer(0).optional(),
  Host: text(0, 64).optional(),
  ServiceName: text(0, 64).optional(),
  ServiceType: text(0, 64).optional(),
  HTTPMethod: text(0, 10).optional(),
  URLPath: text(0, 128).optional(),
  Attributes: AttributesSchema.optional(),
  SamplingRateBoost: SamplingRateBoostSchema.optional(),
});

const UpdateSamplingRuleRequest = z.object({ SamplingRuleUpdate: SamplingRuleUpdateSchema });
const DeleteSamplingRuleRequest = z.object({
  RuleName: z.string().optional(),
  RuleARN: z.string().optional(),
});
const ListRequest = z.object({ NextToken: z.string().optional() });
const TagResourceRequest = z.object({ ResourceARN: text(1, 1011), Tags: z.array(TagSchema) });
const UntagResourceRequest = z.object({ ResourceARN: text(1, 1011), TagKeys: z.array(text(1, 128)) });
const ListTagsForResourceRequest = z.object({ ResourceARN: text(1, 1011), NextToken: z.string().optional() });

export interface RulePageSizes {
  samplingRules: number;
  tags: number;
}

/** Handlers by request path, as `@aws-sdk/client-xray` sends them. */
export function ruleOperations(
  store: SamplingRuleStore,
  pageSizes: RulePageSizes,
): Record<string, { name: string; handle: (body: unknown) => unknown }> {
  return {
    "/GetSamplingRules": {
      name: "GetSamplingRules",
      handle: (body) => {
        const request = parseRequest(ListRequest, body);
        const page = pageOf(
          store.records(),
          request.NextToken,
          pageSizes.samplingRules,
          "GetSamplingRules",
          invalidRequest,
        );
        return { SamplingRuleRecords: page.items, NextToken: page.nextToken };
      },
    },
    "/CreateSamplingRule": {
      name: "CreateSamplingRule",
      handle: (body) => {
        const request = parseRequest(CreateSamplingRuleRequest, body);
        const { RuleARN: _ignored, ...rule } = request.SamplingRule;
        return { SamplingRuleRecord: store.create(rule, request.Tags ?? []) };
      },
    },
    "/UpdateSamplingRule": {
      name: "UpdateSamplingRule",
      handle: (body) => {
        const { RuleName, RuleARN, ...changes } = parseRequest(
          UpdateSamplingRuleRequest,
          body,
        ).SamplingRuleUpdate;
        return { SamplingRuleRecord: store.update({ RuleName, RuleARN }, changes) };
      },
    },
    "/DeleteSamplingRule": {
      name: "DeleteSamplingRule",
      handle: (body) => ({ SamplingRuleRecord: store.delete(parseRequest(DeleteSamplingRuleRequest, body)) }),
    },
    "/TagResource": {
      name: "TagResource",
      handle: (body) => {
        const request = parseRequest(TagResourceRequest, body);
        store.tag(request.ResourceARN, request.Tags);
        return {};
      },
    },
    "/UntagResource": {
      name: "UntagResource",
      handle: (body) => {
        const request = parseRequest(UntagResourceRequest, body);
        store.untag(request.ResourceARN, request.TagKeys);
        return {};
      },
    },
    "/ListTagsForResource": {
      name: "ListTagsForResource",
      handle: (body) => {
        const request = parseRequest(ListTagsForResourceRequest, body);
        const page = pageOf(
          store.tagsOf(request.ResourceARN),
          request.NextToken,
          pageSizes.tags,
          `ListTagsForResource:${request.ResourceARN}`,
          invalidRequest,
        );
        return { Tags: page.items, NextToken: page.nextToken };
      },
    },
  };
}
