/**
 * Where per-endpoint traffic comes from in CloudWatch, and how a metric's dimensions map to
 * the fields X-Ray matches a request on (service name, service type, host, method, path
 * template) — and back, so that the sandbox publishes metrics the collector reads the same way.
 *
 * Every source type has defaults; any endpoint field can be overridden with a template whose
 * `${Dimension}` placeholders take a dimension's value. `${Route.method}` and `${Route.path}`
 * split a dimension that holds "METHOD /path" (HTTP API routes). A literal template (no
 * placeholder) is a constant. Wildcard filters on dimensions narrow what a source takes.
 *
 * Pure: no AWS types; CloudWatch dimensions are `{ Name, Value }` pairs.
 */
import { z } from "zod";
import type { Endpoint } from "./formats.ts";
import { wildcardMatcher } from "./wildcard.ts";

// ---------------------------------------------------------------------------------------------
// Configuration

const template = z.string().min(1, "must not be empty").max(256);
const pattern = z.string().min(1, "must not be empty").max(1024);

/** Overrides of how a metric's dimensions become an endpoint's fields. */
const fieldTemplates = {
  service: template.optional(),
  serviceType: template.optional(),
  host: template.optional(),
  method: template.optional(),
  path: template.optional(),
};

export const MetricSourceSchema = z.discriminatedUnion("type", [
  z.strictObject({
    /** API Gateway REST API with detailed metrics: per resource and method. */
    type: z.literal("apigateway-rest"),
    apiName: pattern.default("*"),
    stage: pattern.default("*"),
    ...fieldTemplates,
  }),
  z.strictObject({
    /** API Gateway HTTP API with detailed metrics: per route. */
    type: z.literal("apigateway-http"),
    apiId: pattern.default("*"),
    stage: pattern.default("*"),
    ...fieldTemplates,
  }),
  z.strictObject({
    /** Application Load Balancer target group: one endpoint per target group unless method/path say more. */
    type: z.literal("alb"),
    loadBalancer: pattern.default("*"),
    targetGroup: pattern.default("*"),
    ...fieldTemplates,
  }),
  z.strictObject({
    /** Lambda function: invocations, with function errors as faults. */
    type: z.literal("lambda"),
    functionName: pattern.default("*"),
    ...fieldTemplates,
  }),
  z.strictObject({
    /** A namespace of your own (e.g. Embedded Metric Format) with user-named metrics and dimensions. */
    type: z.literal("custom"),
    namespace: z.string().min(1).max(255),
    metrics: z.strictObject({
      requests: z.string().min(1).max(255),
      errors: z.string().min(1).max(255).optional(),
      faults: z.string().min(1).max(255).optional(),
    }),
    /** Wildcard filters on dimension values, by dimension name. */
    dimensions: z.record(z.string().min(1).max(255), pattern).default({}),
    service: template,
    serviceType: template.optional(),
    host: template.optional(),
    method: template,
    path: template,
  }),
]);
export type MetricSource = z.infer<typeof MetricSourceSchema>;
export type MetricSourceInput = z.input<typeof MetricSourceSchema>;

/** Default: API Gateway REST and HTTP APIs, the two sources that need nothing configured. */
export const DEFAULT_METRIC_SOURCES: MetricSourceInput[] = [
  { type: "apigateway-rest" },
  { type: "apigateway-http" },
];

export const MetricSourcesSchema = z
  .array(MetricSourceSchema)
  .min(1, "needs at least one metric source")
  .default(() => DEFAULT_METRIC_SOURCES.map((s) => MetricSourceSchema.parse(s)));

/** How a collection run reads CloudWatch and X-Ray. */
export const CollectionSchema = z
  .strictObject({
    /** How far back the snapshot reaches. Default one day. */
    windowSeconds: z
      .number()
      .int()
      .min(60)
      .max(15 * 86_400)
      .default(86_400),
    /** Length of one period of the snapshot (and of the CloudWatch Period). A multiple of 60. */
    periodSeconds: z
      .number()
      .int()
      .min(60)
      .refine((s) => s % 60 === 0, "must be a multiple of 60")
      .default(300),
    /** Error traces are read over this last part of the window (GetTraceSummaries is billed per trace scanned). */
    traceLookbackSeconds: z.number().int().min(0).max(86_400).default(3600),
    /** At most this many traces scanned per collection run. */
    maxTracesScanned: z.number().int().min(0).default(20_000),
  })
  .default({
    windowSeconds: 86_400,
    periodSeconds: 300,
    traceLookbackSeconds: 3600,
    maxTracesScanned: 20_000,
  });
export type Collection = z.infer<typeof CollectionSchema>;

// ---------------------------------------------------------------------------------------------
// Mapping

export interface MetricDimension {
  Name: string;
  Value: string;
}

/** The fields of an endpoint X-Ray matches on. */
export type EndpointFields = Pick<Endpoint, "service" | "serviceType" | "host" | "method" | "path">;

type FieldName = keyof EndpointFields;
const FIELDS: FieldName[] = ["service", "serviceType", "host", "method", "path"];

/** A source in CloudWatch terms. */
export interface ResolvedMetricSource {
  source: MetricSource;
  namespace: string;
  metrics: { requests: string; errors?: string; faults?: string };
  /** The exact set of dimension names a metric of this source has, sorted. */
  dimensionNames: string[];
  /** Wildcard filters on dimension values. */
  filters: Record<string, string>;
  templates: Partial<Record<FieldName, string>>;
}

interface TypeDefaults {
  namespace: string;
  metrics: ResolvedMetricSource["metrics"];
  templates: Partial<Record<FieldName, string>>;
  /** Dimensions every metric of the type has, even when no template uses them. */
  dimensions: string[];
  filters: Record<string, string>;
}

function defaultsOf(source: MetricSource): TypeDefaults {
  switch (source.type) {
    case "apigateway-rest":
      return {
        namespace: "AWS/ApiGateway",
        metrics: { requests: "Count", errors: "4XXError", faults: "5XXError" },
        templates: {
          service: "${ApiName}/${Stage}",
          serviceType: "AWS::ApiGateway::Stage",
          method: "${Method}",
          path: "${Resource}",
        },
        dimensions: ["ApiName", "Method", "Resource", "Stage"],
        filters: { ApiName: source.apiName, Stage: source.stage },
      };
    case "apigateway-http":
      return {
        namespace: "AWS/ApiGateway",
        metrics: { requests: "Count", errors: "4xx", faults: "5xx" },
        templates: { service: "${ApiId}/${Stage}", method: "${Route.method}", path: "${Route.path}" },
        dimensions: ["ApiId", "Route", "Stage"],
        filters: { ApiId: source.apiId, Stage: source.stage },
      };
    case "alb":
      return {
        namespace: "AWS/ApplicationELB",
        metrics: {
          requests: "RequestCount",
          errors: "HTTPCode_Target_4XX_Count",
          faults: "HTTPCode_Target_5XX_Count",
        },
        templates: { service: "${TargetGroup}", method: "*", path: "/*" },
        dimensions: ["LoadBalancer", "TargetGroup"],
        filters: { LoadBalancer: source.loadBalancer, TargetGroup: source.targetGroup },
      };
    case "lambda":
      return {
        namespace: "AWS/Lambda",
        metrics: { requests: "Invocations", faults: "Errors" },
        templates: {
          service: "${FunctionName}",
          serviceType: "AWS::Lambda::Function",
          method: "*",
          path: "/*",
        },
        dimensions: ["FunctionName"],
        filters: { FunctionName: source.functionName },
      };
    case "custom":
      return {
        namespace: source.namespace,
        metrics: { ...source.metrics },
        templates: {},
        dimensions: Object.keys(source.dimensions),
        filters: { ...source.dimensions },
      };
  }
}

export function resolveMetricSource(source: MetricSource): ResolvedMetricSource {
  const defaults = defaultsOf(source);
  const templates: Partial<Record<FieldName, string>> = { ...defaults.templates };
  for (const field of FIELDS) {
    const override = source[field];
    if (override !== undefined) templates[field] = override;
  }
  const names = new Set(defaults.dimensions);
  for (const field of FIELDS) {
    const t = templates[field];
    if (t) for (const part of parseTemplate(t)) if (part.kind === "placeholder") names.add(part.dimension);
  }
  return {
    source,
    namespace: defaults.namespace,
    metrics: defaults.metrics,
    dimensionNames: [...names].sort(),
    filters: defaults.filters,
    templates,
  };
}

type TemplatePart =
  | { kind: "literal"; text: string }
  | { kind: "placeholder"; dimension: string; part?: "method" | "path" };

const templateCache = new Map<string, TemplatePart[]>();

/** `${ApiName}/${Stage}` → placeholder, literal, placeholder. */
export function parseTemplate(template: string): TemplatePart[] {
  const cached = templateCache.get(template);
  if (cached) return cached;
  const parts: TemplatePart[] = [];
  const re = /\$\{([^}.]+)(?:\.(method|path))?\}/g;
  let last = 0;
  for (let m = re.exec(template); m; m = re.exec(template)) {
    if (m.index > last) parts.push({ kind: "literal", text: template.slice(last, m.index) });
    parts.push({ kind: "placeholder", dimension: m[1], part: m[2] as "method" | "path" | undefined });
    last = m.index + m[0].length;
  }
  if (last < template.length) parts.push({ kind: "literal", text: template.slice(last) });
  templateCache.set(template, parts);
  return parts;
}

/** Splits "GET /orders/{id}" into method and path (undefined when it is not of that form). */
export function splitRoute(route: string): { method: string; path: string } | undefined {
  const space = route.indexOf(" ");
  if (space <= 0) return undefined;
  const method = route.slice(0, space);
  const path = route.slice(space + 1).trim();
  return path.startsWith("/") ? { method, path } : undefined;
}

/** Whether a metric (by its dimensions) belongs to the source: the exact dimension set, filters passed. */
export function sourceTakes(resolved: ResolvedMetricSource, dimensions: readonly MetricDimension[]): boolean {
  if (dimensions.length !== resolved.dimensionNames.length) return false;
  const values = new Map(dimensions.map((d) => [d.Name, d.Value]));
  for (const name of resolved.dimensionNames) if (!values.has(name)) return false;
  for (const [name, filter] of Object.entries(resolved.filters)) {
    const value = values.get(name);
    if (value === undefined || !wildcardMatcher(filter)(value)) return false;
  }
  return true;
}

/**
 * The endpoint a metric stands for, or undefined when the metric is not the source's (other
 * dimensions, filtered out, or values that make no endpoint, such as the `$default` route).
 */
export function endpointOfMetric(
  resolved: ResolvedMetricSource,
  dimensions: readonly MetricDimension[],
): EndpointFields | undefined {
  if (!sourceTakes(resolved, dimensions)) return undefined;
  const values = new Map(dimensions.map((d) => [d.Name, d.Value]));
  const fill = (t: string): string | undefined => {
    let out = "";
    for (const part of parseTemplate(t)) {
      if (part.kind === "literal") {
        out += part.text;
        continue;
      }
      const value = values.get(part.dimension);
      if (value === undefined) return undefined;
      if (part.part) {
        const route = splitRoute(value);
        if (!route) return undefined;
        out += route[part.part];
      } else {
        out += value;
      }
    }
    return out;
  };
  const fields: Partial<EndpointFields> = {};
  for (const field of FIELDS) {
    const t = resolved.templates[field];
    if (t === undefined) continue;
    const value = fill(t);
    if (value === undefined || value === "") return undefined;
    fields[field] = value;
  }
  if (!fields.service || !fields.method || !fields.path?.startsWith("/")) return undefined;
  return fields as EndpointFields;
}

/**
 * The dimensions under which the source reports an endpoint, or undefined when it cannot
 * (the endpoint's fields do not fit the templates or the filters). The inverse of
 * {@link endpointOfMetric}; fields the source has no template for are not reported.
 */
export function metricDimensionsOf(
  resolved: ResolvedMetricSource,
  endpoint: EndpointFields,
): MetricDimension[] | undefined {
  const whole = new Map<string, string>();
  const routes = new Map<string, { method?: string; path?: string }>();
  for (const field of FIELDS) {
    const t = resolved.templates[field];
    if (t === undefined) continue;
    const value = endpoint[field];
    if (value === undefined) return undefined;
    const captured = captureTemplate(t, value);
    if (!captured) return undefined;
    for (const c of captured) {
      if (c.part) {
        const route = routes.get(c.dimension) ?? {};
        if (route[c.part] !== undefined && route[c.part] !== c.value) return undefined;
        route[c.part] = c.value;
        routes.set(c.dimension, route);
      } else {
        if (whole.has(c.dimension) && whole.get(c.dimension) !== c.value) return undefined;
        whole.set(c.dimension, c.value);
      }
    }
  }
  for (const [dimension, route] of routes) {
    if (route.method === undefined || route.path === undefined) return undefined;
    const value = `${route.method} ${route.path}`;
    if (whole.has(dimension) && whole.get(dimension) !== value) return undefined;
    whole.set(dimension, value);
  }
  for (const name of resolved.dimensionNames) if (!whole.has(name)) return undefined;
  const dimensions = resolved.dimensionNames.map((Name) => ({ Name, Value: whole.get(Name) as string }));
  return sourceTakes(resolved, dimensions) ? dimensions : undefined;
}

/** Matches a value against a template, returning each placeholder's value. */
function captureTemplate(
  t: string,
  value: string,
): { dimension: string; part?: "method" | "path"; value: string }[] | undefined {
  const parts = parseTemplate(t);
  const placeholders = parts.filter((p) => p.kind === "placeholder");
  const source = parts
    .map((p) => (p.kind === "literal" ? p.text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&") : "(.+?)"))
    .join("");
  const match = new RegExp(`^${source}$`).exec(value);
  if (!match) return undefined;
  return placeholders.map((p, i) => ({ dimension: p.dimension, part: p.part, value: match[i + 1] }));
}

// ---------------------------------------------------------------------------------------------
// Snapshot endpoints from metric series

/** One discovered metric set: an endpoint, and its counts per period (undefined: the source has no such metric). */
export interface EndpointMetrics {
  fields: EndpointFields;
  requests: ArrayLike<number>;
  errors?: ArrayLike<number>;
  faults?: ArrayLike<number>;
}

/**
 * Endpoints for a snapshot: metric sets of the same endpoint are added up (two target groups
 * mapped to one service), counts are whole and never negative, 4xx and 5xx never exceed the
 * requests. `estimated` fills a missing 4xx or 5xx metric (e.g. from de-biased error traces).
 */
export function assembleEndpoints(
  sets: readonly EndpointMetrics[],
  periods: number,
  estimated: (key: string) => { errors?: ArrayLike<number>; faults?: ArrayLike<number> } | undefined = () =>
    undefined,
): { endpoints: Endpoint[]; estimatedSeries: number } {
  const merged = new Map<
    string,
    {
      fields: EndpointFields;
      requests: number[];
      errors: number[];
      faults: number[];
      has: { errors: boolean; faults: boolean };
    }
  >();
  for (const set of sets) {
    const key = endpointIdentity(set.fields);
    let m = merged.get(key);
    if (!m) {
      m = {
        fields: set.fields,
        requests: new Array(periods).fill(0),
        errors: new Array(periods).fill(0),
        faults: new Array(periods).fill(0),
        has: { errors: false, faults: false },
      };
      merged.set(key, m);
    }
    for (let t = 0; t < periods; t++) {
      m.requests[t] += set.requests[t] ?? 0;
      if (set.errors) m.errors[t] += set.errors[t] ?? 0;
      if (set.faults) m.faults[t] += set.faults[t] ?? 0;
    }
    m.has.errors ||= set.errors !== undefined;
    m.has.faults ||= set.faults !== undefined;
  }
  let estimatedSeries = 0;
  const endpoints: Endpoint[] = [];
  for (const [key, m] of [...merged].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const fill = estimated(key);
    for (const kind of ["errors", "faults"] as const) {
      const series = fill?.[kind];
      if (m.has[kind] || !series) continue;
      estimatedSeries++;
      for (let t = 0; t < periods; t++) m[kind][t] = series[t] ?? 0;
    }
    const requests = m.requests.map(whole);
    const faults = m.faults.map((v, t) => Math.min(whole(v), requests[t]));
    const errors = m.errors.map((v, t) => Math.min(whole(v), requests[t] - faults[t]));
    endpoints.push({
      service: m.fields.service,
      ...(m.fields.serviceType !== undefined ? { serviceType: m.fields.serviceType } : {}),
      ...(m.fields.host !== undefined ? { host: m.fields.host } : {}),
      method: m.fields.method,
      path: m.fields.path,
      requests,
      errors,
      faults,
    });
  }
  return { endpoints, estimatedSeries };
}

/** The same identity as `endpointKey` in sampling.ts (kept here to keep this module's imports small). */
export function endpointIdentity(e: EndpointFields): string {
  return `${e.service}|${e.serviceType ?? ""}|${e.host ?? ""}|${e.method.toUpperCase()}|${e.path}`;
}

function whole(v: number): number {
  return Number.isFinite(v) && v > 0 ? Math.round(v) : 0;
}
