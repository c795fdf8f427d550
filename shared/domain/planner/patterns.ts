/**
 * Turning endpoints into X-Ray rule patterns, naming managed rules, and ordering them so that
 * no managed rule is shadowed by a broader one.
 */
import { createHash } from "node:crypto";
import type { Critical, Endpoint } from "../formats.ts";
import { type RequestFields, ruleMatches } from "../sampling.ts";
import { literalLength } from "../wildcard.ts";

/** The match part of a sampling rule. */
export interface RulePattern {
  ServiceName: string;
  ServiceType: string;
  Host: string;
  HTTPMethod: string;
  URLPath: string;
}

const LIMITS = { ServiceName: 64, ServiceType: 64, Host: 64, HTTPMethod: 10, URLPath: 128 } as const;

/** Fits a literal value into a field's length limit, ending it with `*` when it must be cut. */
function fit(value: string, limit: number): string {
  return value.length <= limit ? value : `${value.slice(0, limit - 1)}*`;
}

/** A route template as a URL path pattern: each `{param}` becomes `*`. */
export function pathPattern(template: string): string {
  return fit(template.replace(/\{[^}/]*\}/g, "*").replace(/\*+/g, "*"), LIMITS.URLPath);
}

/**
 * The narrowest rule pattern for one endpoint. Service type and host stay `*` unless needed to
 * tell endpoints apart: OpenTelemetry samplers treat a missing request value as no match.
 */
export function endpointPattern(
  endpoint: Pick<Endpoint, "service" | "serviceType" | "host" | "method" | "path">,
  pinHost = false,
  pinServiceType = false,
): RulePattern {
  return {
    ServiceName: fit(endpoint.service, LIMITS.ServiceName),
    ServiceType: pinServiceType && endpoint.serviceType ? fit(endpoint.serviceType, LIMITS.ServiceType) : "*",
    Host: pinHost && endpoint.host ? fit(endpoint.host, LIMITS.Host) : "*",
    HTTPMethod: fit(endpoint.method.toUpperCase(), LIMITS.HTTPMethod),
    URLPath: pathPattern(endpoint.path),
  };
}

export function criticalPattern(critical: Critical): RulePattern {
  return {
    ServiceName: critical.service,
    ServiceType: "*",
    Host: critical.host,
    HTTPMethod: critical.method,
    URLPath: critical.path,
  };
}

export const CATCH_ALL: RulePattern = {
  ServiceName: "*",
  ServiceType: "*",
  Host: "*",
  HTTPMethod: "*",
  URLPath: "*",
};

export function patternMatches(pattern: RulePattern, request: RequestFields): boolean {
  return ruleMatches({ ...pattern, ResourceARN: "*", Attributes: {} }, request);
}

export function patternKey(pattern: RulePattern): string {
  return [pattern.ServiceName, pattern.ServiceType, pattern.Host, pattern.HTTPMethod, pattern.URLPath]
    .map((v) => v.toLowerCase())
    .join("\u0000");
}

/** How specific a pattern is: literal characters over all fields. */
export function specificity(pattern: RulePattern): number {
  return (
    literalLength(pattern.URLPath) * 4 +
    literalLength(pattern.HTTPMethod) +
    literalLength(pattern.ServiceName) * 2 +
    literalLength(pattern.Host) +
    literalLength(pattern.ServiceType)
  );
}

/**
 * A stable rule name for a pattern: the prefix, a readable slug of method and path, and a
 * short hash of the whole pattern, within X-Ray's 32 characters. The same pattern always gets
 * the same name, so a re-plan updates a rule instead of replacing it.
 */
export function ruleNameFor(pattern: RulePattern, prefix: string, label?: string): string {
  const hash = createHash("sha256").update(patternKey(pattern)).digest("hex").slice(0, 6);
  const slugSource =
    label ??
    `${pattern.HTTPMethod === "*" ? "" : pattern.HTTPMethod}${pattern.URLPath === "*" ? "" : pattern.URLPath}`;
  const room = 32 - prefix.length - hash.length - 1;
  const slug = slugSource
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, Math.max(0, room))
    .replace(/-+$/g, "");
  return slug ? `${prefix}${slug}-${hash}` : `${prefix}${hash}`;
}

/**
 * Orders patterns so that a pattern comes before every other pattern that would take its own
 * target's requests (a broad rule never shadows a narrow one). Ties go to the more specific
 * pattern. `targets[i]` are the requests pattern i is meant for.
 */
export function shadowFreeOrder(patterns: RulePattern[], targets: RequestFields[][]): number[] {
  const n = patterns.length;
  const after: number[][] = Array.from({ length: n }, () => []);
  const indegree = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      // j would take i's targets if evaluated first: i must come before j.
      if (targets[i].some((r) => patternMatches(patterns[j], r))) {
        after[i].push(j);
        indegree[j]++;
      }
    }
  }
  const score = patterns.map(specificity);
  const ready: number[] = [];
  for (let i = 0; i < n; i++) if (indegree[i] === 0) ready.push(i);
  const order: number[] = [];
  const placed = new Uint8Array(n);
  while (order.length < n) {
    if (ready.length === 0) {
      // A cycle: patterns that take each other's targets. Break it at the most specific one.
      let pick = -1;
      for (let i = 0; i < n; i++) if (!placed[i] && (pick < 0 || score[i] > score[pick])) pick = i;
      ready.push(pick);
      indegree[pick] = 0;
    }
    ready.sort((a, b) => score[b] - score[a] || a - b);
    const next = ready.shift() as number;
    if (placed[next]) continue;
    placed[next] = 1;
    order.push(next);
    for (const j of after[next]) {
      indegree[j]--;
      if (indegree[j] === 0 && !placed[j]) ready.push(j);
    }
  }
  return order;
}
