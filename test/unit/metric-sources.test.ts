import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../shared/domain/formats.ts";
import {
  endpointOfMetric,
  type MetricSourceInput,
  MetricSourceSchema,
  metricDimensionsOf,
  resolveMetricSource,
} from "../../shared/domain/metric-sources.ts";

const resolve = (input: MetricSourceInput) => resolveMetricSource(MetricSourceSchema.parse(input));

describe("metric sources", () => {
  it("default to API Gateway REST and HTTP APIs, so a minimal config is still valid", () => {
    const config = parseConfig({ budget: { monthlyUsd: 10 } });
    expect(config.metricSources.map((s) => s.type)).toEqual(["apigateway-rest", "apigateway-http"]);
    expect(config.collection).toMatchObject({ periodSeconds: 300, windowSeconds: 86_400 });
  });

  it("reject a source with a bad type or a custom source without its metrics, naming the field", () => {
    expect(() => parseConfig({ budget: { monthlyUsd: 10 }, metricSources: [{ type: "kinesis" }] })).toThrow(
      /metricSources\[0\]/,
    );
    expect(() =>
      parseConfig({
        budget: { monthlyUsd: 10 },
        metricSources: [{ type: "custom", namespace: "App", service: "x", method: "GET", path: "/" }],
      }),
    ).toThrow(/metricSources\[0\]\.metrics/);
    expect(() => parseConfig({ budget: { monthlyUsd: 10 }, collection: { periodSeconds: 90 } })).toThrow(
      /collection\.periodSeconds: must be a multiple of 60/,
    );
  });

  it("map an API Gateway REST resource/method metric to the stage's X-Ray fields", () => {
    const source = resolve({ type: "apigateway-rest", host: "api.example.com" });
    const endpoint = endpointOfMetric(source, [
      { Name: "ApiName", Value: "shop" },
      { Name: "Resource", Value: "/orders/{id}" },
      { Name: "Method", Value: "GET" },
      { Name: "Stage", Value: "prod" },
    ]);
    expect(source.namespace).toBe("AWS/ApiGateway");
    expect(source.metrics).toEqual({ requests: "Count", errors: "4XXError", faults: "5XXError" });
    expect(endpoint).toEqual({
      service: "shop/prod",
      serviceType: "AWS::ApiGateway::Stage",
      host: "api.example.com",
      method: "GET",
      path: "/orders/{id}",
    });
  });

  it("ignore metrics with other dimension sets (the per-API and per-stage aggregates)", () => {
    const source = resolve({ type: "apigateway-rest" });
    expect(
      endpointOfMetric(source, [
        { Name: "ApiName", Value: "shop" },
        { Name: "Stage", Value: "prod" },
      ]),
    ).toBeUndefined();
  });

  it("split an HTTP API route into method and path, and skip the $default route", () => {
    const source = resolve({ type: "apigateway-http", service: "orders-api" });
    const dims = (route: string) => [
      { Name: "ApiId", Value: "a1b2c3" },
      { Name: "Stage", Value: "$default" },
      { Name: "Route", Value: route },
    ];
    expect(endpointOfMetric(source, dims("POST /checkout"))).toEqual({
      service: "orders-api",
      method: "POST",
      path: "/checkout",
    });
    expect(endpointOfMetric(source, dims("$default"))).toBeUndefined();
  });

  it("apply wildcard filters on dimensions", () => {
    const source = resolve({ type: "lambda", functionName: "orders-*" });
    expect(endpointOfMetric(source, [{ Name: "FunctionName", Value: "orders-create" }])).toMatchObject({
      service: "orders-create",
      serviceType: "AWS::Lambda::Function",
      method: "*",
      path: "/*",
    });
    expect(endpointOfMetric(source, [{ Name: "FunctionName", Value: "billing" }])).toBeUndefined();
    expect(source.metrics).toEqual({ requests: "Invocations", faults: "Errors" });
  });

  it("map an ALB target group to a configured service", () => {
    const source = resolve({ type: "alb", targetGroup: "targetgroup/orders/*", service: "orders-api" });
    expect(
      endpointOfMetric(source, [
        { Name: "LoadBalancer", Value: "app/web/50dc6c495c0c9188" },
        { Name: "TargetGroup", Value: "targetgroup/orders/73e2d6bc24d8a067" },
      ]),
    ).toEqual({ service: "orders-api", method: "*", path: "/*" });
  });

  it("round-trip any endpoint through a custom EMF source's dimensions", () => {
    const source = resolve({
      type: "custom",
      namespace: "Shop/Endpoints",
      metrics: { requests: "Requests", errors: "4xx", faults: "5xx" },
      service: "${Service}",
      serviceType: "${ServiceType}",
      host: "${Host}",
      method: "${Method}",
      path: "${Route}",
    });
    const segment = fc.stringMatching(/^[a-z0-9{}-]{1,12}$/);
    fc.assert(
      fc.property(
        fc.record({
          service: fc.stringMatching(/^[a-z][a-z0-9/-]{0,30}$/),
          serviceType: fc.constantFrom("AWS::Lambda::Function", "AWS::EC2::Instance"),
          host: fc.domain(),
          method: fc.constantFrom("GET", "POST", "DELETE"),
          path: fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => `/${s.join("/")}`),
        }),
        (endpoint) => {
          const dimensions = metricDimensionsOf(source, endpoint);
          expect(dimensions).toBeDefined();
          expect(endpointOfMetric(source, dimensions ?? [])).toEqual(endpoint);
        },
      ),
    );
  });

  it("round-trip through an API Gateway REST source when the service is API/stage, and refuse other services", () => {
    const source = resolve({ type: "apigateway-rest" });
    const endpoint = {
      service: "shop/prod",
      serviceType: "AWS::ApiGateway::Stage",
      method: "GET",
      path: "/orders/{id}",
    };
    const dimensions = metricDimensionsOf(source, endpoint);
    expect(dimensions).toEqual([
      { Name: "ApiName", Value: "shop" },
      { Name: "Method", Value: "GET" },
      { Name: "Resource", Value: "/orders/{id}" },
      { Name: "Stage", Value: "prod" },
    ]);
    expect(endpointOfMetric(source, dimensions ?? [])).toEqual(endpoint);
    expect(metricDimensionsOf(source, { ...endpoint, service: "orders" })).toBeUndefined();
    expect(metricDimensionsOf(source, { ...endpoint, serviceType: "AWS::Lambda::Function" })).toBeUndefined();
  });
});
