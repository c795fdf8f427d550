/**
 * CloudWatch's GetMetricData and ListMetrics as `@aws-sdk/client-cloudwatch` (3.11xx) calls
 * them: the awsJson1_0 protocol (POST /, `X-Amz-Target: GraniteServiceVersion20100801.<Op>`,
 * query-compatible error codes), timestamps in epoch seconds.
 */
import { z } from "zod";
import { epochSeconds, integer, parseRequest, text } from "../aws-validation.ts";
import type { Operation } from "../http-server.ts";
import { pageOf } from "../pagination.ts";
import { ServiceError } from "../service-error.ts";
import type { VirtualClock } from "../virtual-clock.ts";
import { aggregate, type MetricStore, STATISTICS, type Statistic } from "./metric-store.ts";

/** GetMetricData takes at most this many queries per call. */
export const MAX_METRIC_DATA_QUERIES = 500;
/** …and returns at most this many datapoints per call (the rest on later pages). */
export const MAX_DATAPOINTS_PER_CALL = 100_800;

const invalidParameter = (message: string) =>
  new ServiceError("InvalidParameterValueException", 400, message);
const invalidToken = (message: string) => new ServiceError("InvalidNextToken", 400, message);

const DimensionSchema = z.object({ Name: text(1, 255), Value: text(1, 1024) });

const MetricDataQuerySchema = z.object({
  Id: text(1, 255),
  MetricStat: z
    .object({
      Metric: z.object({
        Namespace: text(1, 255),
        MetricName: text(1, 255),
        Dimensions: z.array(DimensionSchema).max(30).optional(),
      }),
      Period: integer(1),
      Stat: z.string(),
      Unit: z.string().optional(),
    })
    .optional(),
  Expression: z.string().optional(),
  Label: z.string().optional(),
  ReturnData: z.boolean().optional(),
  Period: z.number().optional(),
  AccountId: z.string().optional(),
});

const GetMetricDataRequest = z.object({
  MetricDataQueries: z.array(MetricDataQuerySchema),
  StartTime: epochSeconds,
  EndTime: epochSeconds,
  NextToken: z.string().optional(),
  ScanBy: z.enum(["TimestampDescending", "TimestampAscending"]).optional(),
  MaxDatapoints: integer(1).optional(),
  LabelOptions: z.object({ Timezone: z.string().optional() }).optional(),
});

const ListMetricsRequest = z.object({
  Namespace: text(1, 255).optional(),
  MetricName: text(1, 255).optional(),
  Dimensions: z
    .array(z.object({ Name: text(1, 255), Value: text(1, 1024).optional() }))
    .max(10)
    .optional(),
  NextToken: z.string().optional(),
  RecentlyActive: z.literal("PT3H").optional(),
  IncludeLinkedAccounts: z.boolean().optional(),
  OwningAccount: z.string().optional(),
});

export interface CloudWatchPageSizes {
  /** Metrics per ListMetrics page (CloudWatch: 500). */
  listMetrics: number;
  /** Datapoints per GetMetricData call (CloudWatch: 100,800). */
  metricDatapoints: number;
}

interface MetricDataResult {
  Id: string;
  Label: string;
  Timestamps: number[];
  Values: number[];
  StatusCode: "Complete" | "PartialData";
  Messages: never[];
}

export function cloudWatchOperations(
  store: MetricStore,
  clock: VirtualClock,
  pageSizes: CloudWatchPageSizes,
): Record<string, Operation> {
  return {
    GetMetricData: {
      name: "GetMetricData",
      handle: (body) =>
        getMetricData(store, parseRequest(GetMetricDataRequest, body, invalidParameter), pageSizes),
    },
    ListMetrics: {
      name: "ListMetrics",
      handle: (body) => {
        const request = parseRequest(ListMetricsRequest, body, invalidParameter);
        const recentFrom = clock.now() - 3 * 3_600_000;
        const matches = store.all().filter((s) => {
          if (request.Namespace !== undefined && s.namespace !== request.Namespace) return false;
          if (request.MetricName !== undefined && s.metricName !== request.MetricName) return false;
          for (const filter of request.Dimensions ?? []) {
            const d = s.dimensions.find((x) => x.Name === filter.Name);
            if (!d || (filter.Value !== undefined && d.Value !== filter.Value)) return false;
          }
          if (request.RecentlyActive && !(s.times.length > 0 && s.times[s.times.length - 1] >= recentFrom)) {
            return false;
          }
          return true;
        });
        const scope = `ListMetrics:${JSON.stringify([request.Namespace, request.MetricName, request.Dimensions])}`;
        const page = pageOf(matches, request.NextToken, pageSizes.listMetrics, scope, invalidToken);
        return {
          Metrics: page.items.map((s) => ({
            Namespace: s.namespace,
            MetricName: s.metricName,
            Dimensions: s.dimensions.map((d) => ({ ...d })),
          })),
          NextToken: page.nextToken,
        };
      },
    },
  };
}

function getMetricData(
  store: MetricStore,
  request: z.infer<typeof GetMetricDataRequest>,
  pageSizes: CloudWatchPageSizes,
): { MetricDataResults: MetricDataResult[]; NextToken?: string; Messages: never[] } {
  const queries = request.MetricDataQueries;
  if (queries.length === 0)
    throw invalidParameter("The parameter MetricDataQueries is required and must not be empty.");
  if (queries.length > MAX_METRIC_DATA_QUERIES) {
    throw invalidParameter(
      `The collection MetricDataQueries must not have a size greater than ${MAX_METRIC_DATA_QUERIES}.`,
    );
  }
  const startMs = request.StartTime * 1000;
  const endMs = request.EndTime * 1000;
  if (!(endMs > startMs))
    throw invalidParameter("The parameter StartTime must be less than the parameter EndTime.");
  const ids = new Set<string>();
  for (const [i, q] of queries.entries()) {
    if (!/^[a-z][a-zA-Z0-9_]*$/.test(q.Id)) {
      throw invalidParameter(
        `The value ${q.Id} for parameter MetricDataQueries.member.${i + 1}.Id is not valid: it must start with a lowercase letter and contain only letters, numbers and underscores.`,
      );
    }
    if (ids.has(q.Id))
      throw invalidParameter(`The values for parameter Id in MetricDataQueries are not unique: ${q.Id}.`);
    ids.add(q.Id);
    if (q.Expression !== undefined) {
      throw invalidParameter(
        `MetricDataQueries.member.${i + 1}: the sandbox supports MetricStat queries only, not Expression.`,
      );
    }
    if (!q.MetricStat) {
      throw invalidParameter(`MetricDataQueries.member.${i + 1} must have either MetricStat or Expression.`);
    }
    const period = q.MetricStat.Period;
    if (!(period % 60 === 0 || [1, 5, 10, 30].includes(period))) {
      throw invalidParameter(
        `The parameter MetricDataQueries.member.${i + 1}.MetricStat.Period must be 1, 5, 10, 30 or a multiple of 60.`,
      );
    }
    if (!STATISTICS.includes(q.MetricStat.Stat as Statistic)) {
      throw invalidParameter(
        `The parameter MetricDataQueries.member.${i + 1}.MetricStat.Stat (${q.MetricStat.Stat}) is not supported by the sandbox (${STATISTICS.join(", ")}).`,
      );
    }
  }

  const scope = `GetMetricData:${request.StartTime}:${request.EndTime}:${queries.map((q) => q.Id).join(",")}`;
  const start = request.NextToken ? decodeToken(request.NextToken, scope) : { query: 0, offset: 0 };
  const descending = (request.ScanBy ?? "TimestampDescending") === "TimestampDescending";
  let budget = Math.max(1, pageSizes.metricDatapoints);
  const results: MetricDataResult[] = [];
  for (let qi = start.query; qi < queries.length; qi++) {
    const q = queries[qi];
    const stat = q.MetricStat;
    if (!stat || q.ReturnData === false) continue;
    const series = store.get(stat.Metric.Namespace, stat.Metric.MetricName, stat.Metric.Dimensions ?? []);
    const data = aggregate(series, startMs, endMs, stat.Period * 1000, stat.Stat as Statistic);
    let times = data.times;
    let values = data.values;
    if (descending) {
      times = [...times].reverse();
      values = [...values].reverse();
    }
    if (request.MaxDatapoints !== undefined) {
      times = times.slice(0, request.MaxDatapoints);
      values = values.slice(0, request.MaxDatapoints);
    }
    const offset = qi === start.query ? start.offset : 0;
    if (budget <= 0) {
      return {
        MetricDataResults: results,
        NextToken: encodeToken({ query: qi, offset }, scope),
        Messages: [],
      };
    }
    const take = Math.min(budget, times.length - offset);
    const partial = offset + take < times.length;
    results.push({
      Id: q.Id,
      Label: q.Label ?? stat.Metric.MetricName,
      Timestamps: times.slice(offset, offset + take).map((t) => t / 1000),
      Values: values.slice(offset, offset + take),
      StatusCode: partial ? "PartialData" : "Complete",
      Messages: [],
    });
    budget -= take;
    if (partial) {
      return {
        MetricDataResults: results,
        NextToken: encodeToken({ query: qi, offset: offset + take }, scope),
        Messages: [],
      };
    }
  }
  return { MetricDataResults: results, Messages: [] };
}

function encodeToken(position: { query: number; offset: number }, scope: string): string {
  return Buffer.from(JSON.stringify({ ...position, s: scope }), "utf8").toString("base64url");
}

function decodeToken(token: string, scope: string): { query: number; offset: number } {
  try {
    const t = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as Record<string, unknown>;
    if (
      t.s === scope &&
      Number.isInteger(t.query) &&
      Number.isInteger(t.offset) &&
      (t.query as number) >= 0 &&
      (t.offset as number) >= 0
    ) {
      return { query: t.query as number, offset: t.offset as number };
    }
  } catch {
    // falls through
  }
  throw invalidToken("The NextToken is not valid for this request.");
}
