/**
 * X-Ray's read side for sampling (restJson1): GetSamplingStatisticSummaries,
 * GetSamplingTargets (what SDKs and the daemon call, also in the shape the daemon forwards
 * from `aws-xray-sdk-core`), and GetTraceSummaries over the simulated traces with the
 * filter-expression subset of `filter-expression.ts`.
 */
import { z } from "zod";
import { epochSeconds, integer, parseRequest, text } from "../aws-validation.ts";
import type { Operation } from "../http-server.ts";
import { offsetOf, pageOf, tokenFor } from "../pagination.ts";
import { invalidRequest } from "../service-error.ts";
import type { TrafficEndpoint } from "../traffic/scenario-traffic.ts";
import type { VirtualClock } from "../virtual-clock.ts";
import { compileFilterExpression, type TraceFilter } from "./filter-expression.ts";
import type { SamplingRuleStore } from "./sampling-rules.ts";
import { SANDBOX_ACCOUNT_ID } from "./sampling-rules.ts";
import type { SamplingStatistics } from "./sampling-statistics.ts";
import type { StoredTrace, TraceStore } from "./trace-store.ts";

/** GetTraceSummaries answers a time range of at most this long. */
export const MAX_TRACE_QUERY_RANGE_MS = 24 * 3_600_000;
/** Seconds a reservoir quota handed out by GetSamplingTargets stays valid. */
const QUOTA_TTL_SECONDS = 60;
/** A client that has not reported for this long no longer shares a rule's reservoir. */
const CLIENT_ACTIVE_MS = 60_000;

const ListRequest = z.object({ NextToken: z.string().optional() });

const GetSamplingTargetsRequest = z.object({
  SamplingStatisticsDocuments: z
    .array(
      z.object({
        RuleName: text(1, 32),
        ClientID: text(24, 24),
        Timestamp: epochSeconds,
        RequestCount: integer(0),
        SampledCount: integer(0),
        BorrowCount: integer(0).optional(),
      }),
    )
    .max(25, "Member must have length less than or equal to 25"),
  SamplingBoostStatisticsDocuments: z.array(z.unknown()).optional(),
});

const GetTraceSummariesRequest = z.object({
  StartTime: epochSeconds,
  EndTime: epochSeconds,
  TimeRangeType: z.enum(["TraceId", "Event", "Service"]).optional(),
  Sampling: z.boolean().optional(),
  SamplingStrategy: z
    .object({
      Name: z.enum(["PartialScan", "FixedRate"]).optional(),
      Value: z.number().min(0).max(1).optional(),
    })
    .optional(),
  FilterExpression: z.string().max(2000).optional(),
  NextToken: z.string().optional(),
});

export interface SamplingPageSizes {
  statistics: number;
  /** Trace summaries per GetTraceSummaries page. */
  traceSummaries: number;
  /** Traces scanned per GetTraceSummaries call at most (a page may return fewer summaries). */
  tracesScannedPerCall: number;
}

export interface SamplingOperationsContext {
  rules: SamplingRuleStore;
  statistics: SamplingStatistics;
  traces: TraceStore;
  endpoints: () => readonly TrafficEndpoint[];
  clock: VirtualClock;
  pageSizes: SamplingPageSizes;
  seed: number;
}

/** Counts of what GetTraceSummaries scanned (billed per trace). */
export interface TraceScanLedger {
  calls: number;
  tracesScanned: number;
}

export function samplingOperations(
  context: SamplingOperationsContext,
  ledger: TraceScanLedger,
): Record<string, Operation> {
  const clientsSeen = new Map<string, Map<string, number>>();
  return {
    "/SamplingStatisticSummaries": {
      name: "GetSamplingStatisticSummaries",
      handle: (body) => {
        const request = parseRequest(ListRequest, body);
        const page = pageOf(
          context.statistics.summaries(context.clock.now()),
          request.NextToken,
          context.pageSizes.statistics,
          "GetSamplingStatisticSummaries",
          invalidRequest,
        );
        return { SamplingStatisticSummaries: page.items, NextToken: page.nextToken };
      },
    },
    "/SamplingTargets": {
      name: "GetSamplingTargets",
      handle: (body) => {
        const request = parseRequest(GetSamplingTargetsRequest, body);
        const now = context.clock.now();
        const rules = new Map(context.rules.samplingRules().map((r) => [r.RuleName, r]));
        const targets: unknown[] = [];
        const unprocessed: unknown[] = [];
        for (const doc of request.SamplingStatisticsDocuments) {
          const rule = rules.get(doc.RuleName);
          if (!rule) {
            unprocessed.push({
              RuleName: doc.RuleName,
              ErrorCode: "400",
              Message: "Sampling rule does not exist",
            });
            continue;
          }
          context.statistics.record(
            doc.RuleName,
            doc.Timestamp * 1000,
            doc.RequestCount,
            doc.SampledCount,
            doc.BorrowCount ?? 0,
          );
          let clients = clientsSeen.get(doc.RuleName);
          if (!clients) {
            clients = new Map();
            clientsSeen.set(doc.RuleName, clients);
          }
          clients.set(doc.ClientID, now);
          let active = 0;
          for (const [id, seen] of clients) {
            if (now - seen <= CLIENT_ACTIVE_MS) active++;
            else clients.delete(id);
          }
          targets.push({
            RuleName: doc.RuleName,
            FixedRate: rule.FixedRate,
            // X-Ray splits a rule's reservoir among the clients using it.
            ReservoirQuota: Math.floor(rule.ReservoirSize / Math.max(1, active)),
            ReservoirQuotaTTL: now / 1000 + QUOTA_TTL_SECONDS,
            Interval: 10,
          });
        }
        return {
          SamplingTargetDocuments: targets,
          LastRuleModification: context.rules.lastRuleModification(),
          UnprocessedStatistics: unprocessed,
        };
      },
    },
    "/TraceSummaries": {
      name: "GetTraceSummaries",
      handle: (body) => {
        const request = parseRequest(GetTraceSummariesRequest, body);
        const result = traceSummaries(context, request);
        ledger.calls++;
        ledger.tracesScanned += result.TracesProcessedCount;
        return result;
      },
    },
  };
}

function traceSummaries(
  context: SamplingOperationsContext,
  request: z.infer<typeof GetTraceSummariesRequest>,
) {
  const startMs = request.StartTime * 1000;
  const endMs = request.EndTime * 1000;
  if (!(endMs > startMs)) throw invalidRequest("EndTime must be later than StartTime");
  if (endMs - startMs > MAX_TRACE_QUERY_RANGE_MS) {
    throw invalidRequest("The time range between StartTime and EndTime must not exceed 24 hours");
  }
  const filter: TraceFilter | undefined =
    request.FilterExpression !== undefined && request.FilterExpression.trim() !== ""
      ? compileFilterExpression(request.FilterExpression)
      : undefined;
  const scope = `TraceSummaries:${request.StartTime}:${request.EndTime}:${request.FilterExpression ?? ""}:${request.Sampling ?? false}`;
  const store = context.traces;
  const first = Math.max(store.positionAt(startMs), store.firstPosition);
  // The token is the store position to go on from; traces that aged out meanwhile are skipped.
  const from =
    request.NextToken === undefined
      ? first
      : Math.max(store.firstPosition, offsetOf(request.NextToken, scope, invalidRequest));
  const strategy = request.Sampling
    ? (request.SamplingStrategy ?? { Name: "PartialScan", Value: 0.1 })
    : undefined;
  const partialScanStride =
    strategy?.Name !== "FixedRate" && strategy?.Value ? Math.max(1, Math.round(1 / strategy.Value)) : 1;
  const endpoints = context.endpoints();
  const summaries: unknown[] = [];
  let scanned = 0;
  let position = from;
  const end = store.endPosition;
  for (; position < end; position++) {
    if (
      summaries.length >= context.pageSizes.traceSummaries ||
      scanned >= context.pageSizes.tracesScannedPerCall
    ) {
      break;
    }
    const trace = store.at(position);
    if (!trace) continue;
    if (trace.timeMs >= endMs) {
      position = end;
      break;
    }
    if (partialScanStride > 1 && trace.sequence % partialScanStride !== 0) continue;
    scanned++;
    const endpoint = endpoints[trace.endpoint];
    if (!endpoint) continue;
    const view = traceView(trace, endpoint, context.seed);
    if (filter && !filter(view.filterable)) continue;
    if (strategy?.Name === "FixedRate" && unitHash(trace.sequence, context.seed) >= (strategy.Value ?? 1))
      continue;
    summaries.push(view.summary);
  }
  const more = position < end && (store.at(position)?.timeMs ?? endMs) < endMs;
  return {
    TraceSummaries: summaries,
    ApproximateTime: context.clock.now() / 1000,
    TracesProcessedCount: scanned,
    NextToken: more ? tokenFor(position, scope) : undefined,
  };
}

/** The trace as GetTraceSummaries returns it, and as a filter sees it. */
function traceView(trace: StoredTrace, endpoint: TrafficEndpoint, seed: number) {
  const idPart = (n: number) => (mix(trace.sequence, seed + n) >>> 0).toString(16).padStart(8, "0");
  const id = `1-${Math.floor(trace.timeMs / 1000)
    .toString(16)
    .padStart(8, "0")}-${idPart(1)}${idPart(2)}${idPart(3)}`;
  const path = endpoint.path.replace(/\{[^}/]*\}/g, () => idPart(4));
  const url = `https://${endpoint.host ?? endpoint.service}${path}`;
  const fault = trace.status >= 500;
  const error = trace.status >= 400 && trace.status < 500;
  const throttle = trace.status === 429;
  const seconds = trace.responseTimeMs / 1000;
  const service = {
    Name: endpoint.service,
    Names: [endpoint.service],
    AccountId: SANDBOX_ACCOUNT_ID,
    ...(endpoint.serviceType ? { Type: endpoint.serviceType } : {}),
  };
  return {
    filterable: {
      services: [endpoint.service],
      url,
      method: endpoint.method,
      status: trace.status,
      userAgent: "sandbox-traffic/1.0",
      clientIp: "192.0.2.10",
      responseTime: seconds,
      duration: seconds,
      ok: !fault && !error,
      error,
      fault,
      throttle,
    },
    summary: {
      Id: id,
      StartTime: trace.timeMs / 1000,
      Duration: seconds,
      ResponseTime: seconds,
      HasFault: fault,
      HasError: error,
      HasThrottle: throttle,
      IsPartial: false,
      Http: {
        HttpURL: url,
        HttpStatus: trace.status,
        HttpMethod: endpoint.method,
        UserAgent: "sandbox-traffic/1.0",
        ClientIp: "192.0.2.10",
      },
      Annotations: {},
      Users: [],
      ServiceIds: [service],
      EntryPoint: service,
      ResourceARNs: [],
      InstanceIds: [],
      AvailabilityZones: [],
      FaultRootCauses: [],
      ErrorRootCauses: [],
      ResponseTimeRootCauses: [],
      Revision: 1,
    },
  };
}

function mix(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

function unitHash(sequence: number, seed: number): number {
  return mix(sequence, seed ^ 0x51ed270b) / 4294967296;
}
