/**
 * The sandbox's CloudWatch (GetMetricData, ListMetrics) through the real
 * @aws-sdk/client-cloudwatch, which speaks awsJson1_0 with query-compatible errors.
 */
import {
  type CloudWatchClient,
  GetMetricDataCommand,
  InvalidNextToken,
  InvalidParameterValueException,
  ListMetricsCommand,
  type MetricDataQuery,
  paginateGetMetricData,
  paginateListMetrics,
} from "@aws-sdk/client-cloudwatch";
import { afterEach, describe, expect, it } from "vitest";
import { type Sandbox, type SandboxOptions, startSandbox } from "../../sandbox/index.ts";
import { SCENARIO_START, steadyScenario } from "../support/sandbox-scenarios.ts";

const sandboxes: Sandbox[] = [];
afterEach(async () => {
  await Promise.all(sandboxes.splice(0).map((s) => s.close()));
});

async function sandboxWith(
  options: SandboxOptions = {},
): Promise<{ sandbox: Sandbox; cloudWatch: CloudWatchClient }> {
  const sandbox = await startSandbox({ start: SCENARIO_START, ...options });
  sandboxes.push(sandbox);
  return { sandbox, cloudWatch: sandbox.cloudWatchClient() };
}

const start = Date.parse(SCENARIO_START);
const NS = "AWS/ApiGateway";
const dims = (resource: string) => [
  { Name: "ApiName", Value: "shop" },
  { Name: "Method", Value: "GET" },
  { Name: "Resource", Value: resource },
  { Name: "Stage", Value: "prod" },
];

function query(id: string, resource: string, period = 300, stat = "Sum"): MetricDataQuery {
  return {
    Id: id,
    MetricStat: {
      Metric: { Namespace: NS, MetricName: "Count", Dimensions: dims(resource) },
      Period: period,
      Stat: stat,
    },
  };
}

/** One datapoint a minute for an hour: value = minute index + 1. */
function seedHour(sandbox: Sandbox, resource: string): void {
  for (let m = 0; m < 60; m++) sandbox.metrics.put(NS, "Count", dims(resource), start + m * 60_000, m + 1);
}

describe("sandbox CloudWatch", () => {
  it("sums datapoints per period for GetMetricData, in the order ScanBy asks for", async () => {
    // Prepare
    const { sandbox, cloudWatch } = await sandboxWith();
    seedHour(sandbox, "/orders");

    // Act
    const ascending = await cloudWatch.send(
      new GetMetricDataCommand({
        MetricDataQueries: [query("orders", "/orders"), query("missing", "/nothing")],
        StartTime: new Date(start),
        EndTime: new Date(start + 3_600_000),
        ScanBy: "TimestampAscending",
      }),
    );
    const descending = await cloudWatch.send(
      new GetMetricDataCommand({
        MetricDataQueries: [query("orders", "/orders", 1800, "Maximum")],
        StartTime: new Date(start),
        EndTime: new Date(start + 3_600_000),
      }),
    );

    // Assess: 5-minute sums of 1..60.
    const [orders, missing] = ascending.MetricDataResults ?? [];
    expect(orders.Values).toEqual(Array.from({ length: 12 }, (_, i) => 5 * (5 * i + 3)));
    expect(orders.Timestamps?.[1]).toEqual(new Date(start + 300_000));
    expect(orders.StatusCode).toBe("Complete");
    expect(orders.Label).toBe("Count");
    expect(missing.Values).toEqual([]);
    expect(descending.MetricDataResults?.[0].Values).toEqual([60, 30]);
  });

  it("refuses more than 500 queries in one call with CloudWatch's InvalidParameterValue", async () => {
    // Prepare
    const { cloudWatch } = await sandboxWith();
    const queries = Array.from({ length: 501 }, (_, i) => query(`q${i}`, `/r${i}`));

    // Act
    const error = await cloudWatch
      .send(
        new GetMetricDataCommand({
          MetricDataQueries: queries,
          StartTime: new Date(start),
          EndTime: new Date(start + 3_600_000),
        }),
      )
      .catch((e: unknown) => e);
    const fine = await cloudWatch.send(
      new GetMetricDataCommand({
        MetricDataQueries: queries.slice(0, 500),
        StartTime: new Date(start),
        EndTime: new Date(start + 3_600_000),
      }),
    );

    // Assess
    expect(error).toBeInstanceOf(InvalidParameterValueException);
    expect((error as InvalidParameterValueException).message).toMatch(
      /must not have a size greater than 500/,
    );
    expect((error as InvalidParameterValueException).$metadata.httpStatusCode).toBe(400);
    expect(fine.MetricDataResults).toHaveLength(500);
  });

  it.each([
    ["a duplicate Id", [query("a", "/x"), query("a", "/y")], /not unique/],
    ["an Id that starts with a capital", [query("Orders", "/x")], /must start with a lowercase letter/],
    ["an Expression", [{ Id: "e", Expression: "SUM(METRICS())" }], /MetricStat queries only/],
    ["a 90-second period", [query("a", "/x", 90)], /Period must be/],
    ["a percentile statistic", [query("a", "/x", 60, "p99")], /not supported by the sandbox/],
  ])("refuses %s with InvalidParameterValue", async (_label, queries, message) => {
    const { cloudWatch } = await sandboxWith();
    const error = await cloudWatch
      .send(
        new GetMetricDataCommand({
          MetricDataQueries: queries as MetricDataQuery[],
          StartTime: new Date(start),
          EndTime: new Date(start + 3_600_000),
        }),
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidParameterValueException);
    expect((error as Error).message).toMatch(message);
  });

  it("pages GetMetricData when a call holds more datapoints than allowed, splitting a query across pages", async () => {
    // Prepare: 5 datapoints per page, three queries of 12 datapoints each.
    const { sandbox, cloudWatch } = await sandboxWith({ pageSizes: { metricDatapoints: 5 } });
    for (const r of ["/a", "/b", "/c"]) seedHour(sandbox, r);

    // Act
    const values = new Map<string, number[]>();
    let pages = 0;
    for await (const page of paginateGetMetricData(
      { client: cloudWatch },
      {
        MetricDataQueries: [query("a", "/a"), query("b", "/b"), query("c", "/c")],
        StartTime: new Date(start),
        EndTime: new Date(start + 3_600_000),
        ScanBy: "TimestampAscending",
      },
    )) {
      pages++;
      for (const r of page.MetricDataResults ?? [])
        values.set(r.Id ?? "", [...(values.get(r.Id ?? "") ?? []), ...(r.Values ?? [])]);
    }

    // Assess
    expect(pages).toBe(Math.ceil(36 / 5));
    for (const id of ["a", "b", "c"]) expect(values.get(id)).toHaveLength(12);
    expect(sandbox.calls.GetMetricData).toBe(pages);
  });

  it("rejects a NextToken from another request with InvalidNextToken", async () => {
    const { cloudWatch } = await sandboxWith();
    const error = await cloudWatch
      .send(
        new GetMetricDataCommand({
          MetricDataQueries: [query("a", "/a")],
          StartTime: new Date(start),
          EndTime: new Date(start + 3_600_000),
          NextToken: "bogus",
        }),
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidNextToken);
  });

  it("lists metrics by namespace, name and dimension filters, in pages", async () => {
    // Prepare
    const { sandbox, cloudWatch } = await sandboxWith({ pageSizes: { listMetrics: 2 } });
    for (const r of ["/a", "/b", "/c", "/d", "/e"]) sandbox.metrics.put(NS, "Count", dims(r), start, 1);
    sandbox.metrics.put(NS, "5XXError", dims("/a"), start, 0);
    sandbox.metrics.put("AWS/Lambda", "Invocations", [{ Name: "FunctionName", Value: "f" }], start, 1);

    // Act
    const counts = [];
    let pages = 0;
    for await (const page of paginateListMetrics(
      { client: cloudWatch },
      { Namespace: NS, MetricName: "Count" },
    )) {
      pages++;
      counts.push(...(page.Metrics ?? []));
    }
    const onlyA = await cloudWatch.send(
      new ListMetricsCommand({ Namespace: NS, Dimensions: [{ Name: "Resource", Value: "/a" }] }),
    );
    const withFunction = await cloudWatch.send(
      new ListMetricsCommand({ Dimensions: [{ Name: "FunctionName" }] }),
    );

    // Assess
    expect(counts).toHaveLength(5);
    expect(pages).toBe(3);
    expect(counts[0]).toEqual({ Namespace: NS, MetricName: "Count", Dimensions: dims("/a") });
    expect(onlyA.Metrics?.map((m) => m.MetricName).sort()).toEqual(["5XXError", "Count"]);
    expect(withFunction.Metrics?.map((m) => m.Namespace)).toEqual(["AWS/Lambda"]);
  });

  it("publishes every simulated request under the sandbox's metric source", async () => {
    // Prepare
    const { sandbox, cloudWatch } = await sandboxWith({
      scenario: steadyScenario(
        [{ service: "orders", path: "/orders/{id}", requests: 250, errors: 20, faults: 5 }],
        {
          periods: 2,
        },
      ),
    });

    // Act
    sandbox.advance(600);
    const listed = await cloudWatch.send(new ListMetricsCommand({ Namespace: "XRayGovernor/Sandbox" }));
    const metric = listed.Metrics?.find((m) => m.MetricName === "Requests");
    const data = await cloudWatch.send(
      new GetMetricDataCommand({
        MetricDataQueries: ["Requests", "4xx", "5xx"].map((name, i) => ({
          Id: `m${i}`,
          MetricStat: { Metric: { ...metric, MetricName: name }, Period: 300, Stat: "Sum" },
        })),
        StartTime: new Date(start),
        EndTime: new Date(start + 600_000),
        ScanBy: "TimestampAscending",
      }),
    );

    // Assess
    expect(metric?.Dimensions).toEqual([
      { Name: "Host", Value: "api.example.com" },
      { Name: "Method", Value: "GET" },
      { Name: "Route", Value: "/orders/{id}" },
      { Name: "Service", Value: "orders" },
      { Name: "ServiceType", Value: "AWS::Lambda::Function" },
    ]);
    expect(data.MetricDataResults?.map((r) => r.Values)).toEqual([
      [250, 250],
      [20, 20],
      [5, 5],
    ]);
  });
});
