/**
 * Seeded, realistic scenarios for the demo, the tests and the benchmark: one day of per-endpoint
 * traffic as a snapshot@1 document (plan from it), the next day as another (score on it), and a
 * config — the same shape as the public examples.
 *
 * Traffic: services × methods × route templates (with `{id}` parameters and shared prefixes),
 * heavy-tailed endpoint rates (a chatty health check, a long tail under one request a minute),
 * a diurnal cycle, Poisson noise, 4xx everywhere and 5xx on chronically fault-prone endpoints.
 * Each day has fresh incidents (endpoints that start failing for a few hours); the next day
 * also has a 10× spike on one endpoint and an endpoint that did not exist the day before.
 *
 * Independent random streams keep things stable: the budget, quota and critical entries never
 * change the traffic, and the next day's draws never change the snapshot's.
 */
import {
  type Config,
  type ConfigInput,
  type Endpoint,
  parseConfig,
  type SamplingRule,
  SNAPSHOT_FORMAT,
  type Snapshot,
} from "../shared/domain/formats.ts";
import { endpointKey } from "../shared/domain/sampling.ts";
import { defaultRule } from "../shared/domain/sampling-rule.ts";
import { SECONDS_PER_MONTH } from "../shared/domain/scoring.ts";
import { SeededRandom } from "./seeded-random.ts";

export type CriticalInput = NonNullable<ConfigInput["critical"]>[number];

export interface ScenarioOptions {
  name?: string;
  seed?: number;
  /** Endpoints in the snapshot (the next day has one more when `newEndpoint` is on). Default 60. */
  endpoints?: number;
  /** Services the endpoints belong to. Default grows with the square root of the endpoint count. */
  services?: number;
  /** Periods per day and their length. Default 288 × 300 s (one day of 5-minute periods). */
  periods?: number;
  periodSeconds?: number;
  /** Start of the snapshot window. Default 2026-11-16T00:00:00.000Z. */
  start?: string;
  /** Monthly budget in dollars; when absent, `budgetFraction` of sampling everything. */
  budgetUsd?: number;
  /** The budget as a share of what sampling every request would cost. Default 0.04. */
  budgetFraction?: number;
  /** Default: POST /checkout at 100%. */
  critical?: CriticalInput[];
  /** Default 25. */
  ruleQuota?: number;
  /** Hand-made (unmanaged) rules already in the account. Default 0. */
  unmanagedRules?: number;
  /** Multiplies the number of incidents per day (0: none). Default 1. */
  incidentIntensity?: number;
  /** Share of endpoints with a chronic 5xx rate. Default 0.2. */
  faultProneShare?: number;
  /** A burst of one endpoint's traffic on the next day; false for none. Default 10× for 2 hours. */
  spike?: false | { factor?: number; hours?: number };
  /** An endpoint on the next day that the snapshot does not have. Default true. */
  newEndpoint?: boolean;
  /** An incident that starts in the snapshot's last 15 minutes and lasts into the next day. Default false. */
  lateIncident?: boolean;
  /** Multiplies every endpoint's request rate. Default 1. */
  trafficScale?: number;
}

export interface Incident {
  day: "snapshot" | "future";
  endpoint: string;
  startPeriod: number;
  /** Exclusive. */
  endPeriod: number;
  faultRatio: number;
}

/** What was planted in the traffic, for tests and reports. Endpoints are named by `endpointKey`. */
export interface ScenarioEvents {
  incidents: Incident[];
  spike?: { endpoint: string; startPeriod: number; endPeriod: number; factor: number };
  newEndpoint?: string;
  lateIncident?: Incident;
  healthEndpoint: string;
}

export interface Scenario {
  name: string;
  /** The day to plan from. */
  snapshot: Snapshot;
  /** The next day, to score on. */
  future: Snapshot;
  config: Config;
  /** The config as a minimal file would hold it. */
  configDocument: ConfigInput;
  events: ScenarioEvents;
}

/** A snapshot and config only, for timing the planner on large inputs. */
export type PlanningInput = Pick<Scenario, "name" | "snapshot" | "config" | "configDocument">;

const DEFAULT_START = "2026-11-16T00:00:00.000Z";
const CHECKOUT_PATH = "/checkout";
const DEFAULT_CRITICAL: CriticalInput[] = [{ method: "POST", path: CHECKOUT_PATH, minFixedRate: 1 }];

const NOUNS = [
  "orders",
  "cart",
  "checkout",
  "payments",
  "inventory",
  "search",
  "catalog",
  "users",
  "auth",
  "sessions",
  "reports",
  "billing",
  "shipping",
  "notifications",
  "reviews",
  "wishlist",
  "invoices",
  "feeds",
  "tenants",
  "audit",
  "profile",
  "coupons",
  "exports",
  "webhooks",
  "images",
  "recommendations",
  "usage",
  "plans",
  "refunds",
  "addresses",
];
const SUB_RESOURCES = [
  ...NOUNS,
  "items",
  "status",
  "history",
  "attachments",
  "events",
  "settings",
  "members",
];
const SERVICE_SUFFIXES = ["api", "svc", "gateway", "worker"];
const SERVICE_TYPES = [
  "AWS::Lambda::Function",
  "AWS::EC2::Instance",
  "AWS::ECS::Container",
  "AWS::ApiGateway::Stage",
];
const HOSTS = ["api.example.com", "internal.example.com", "edge.example.com"];
const COLLECTION_METHODS = ["GET", "GET", "GET", "POST", "POST"];
const ITEM_METHODS = ["GET", "GET", "GET", "PUT", "PATCH", "DELETE"];

interface ServiceProfile {
  name: string;
  serviceType: string;
  host: string;
  peakHour: number;
  amplitude: number;
}

interface EndpointProfile {
  service: ServiceProfile;
  method: string;
  path: string;
  /** Mean requests per second over a day. */
  rate: number;
  /** Relative swing of the daily cycle (0: flat). */
  amplitude: number;
  errorRatio: number;
  faultRatio: number;
  kind: "health" | "checkout" | "regular" | "new";
}

/** The interval a day-long event changes and how. */
interface DayEvent {
  endpoint: number;
  startPeriod: number;
  endPeriod: number;
  faultRatio?: number;
  requestFactor?: number;
}

interface ResolvedOptions {
  name: string;
  seed: number;
  endpoints: number;
  services: number;
  periods: number;
  periodSeconds: number;
  start: string;
  critical: CriticalInput[];
  ruleQuota: number;
  unmanagedRules: number;
  incidentIntensity: number;
  faultProneShare: number;
  spike: false | { factor: number; hours: number };
  newEndpoint: boolean;
  lateIncident: boolean;
  trafficScale: number;
}

function resolve(options: ScenarioOptions): ResolvedOptions {
  const check = (field: keyof ScenarioOptions, min: number, integer = false) => {
    const value = options[field];
    if (value === undefined) return;
    if (
      typeof value !== "number" ||
      !Number.isFinite(value) ||
      value < min ||
      (integer && !Number.isInteger(value))
    ) {
      const kind = integer ? "an integer" : "a number";
      throw new RangeError(
        `scenario option ${field} must be ${kind} of at least ${min}, got ${String(value)}`,
      );
    }
  };
  check("seed", Number.MIN_SAFE_INTEGER, true);
  check("endpoints", 2, true);
  check("services", 1, true);
  check("periods", 1, true);
  check("periodSeconds", 1, true);
  check("budgetUsd", 0);
  check("budgetFraction", 0);
  check("ruleQuota", 1, true);
  check("unmanagedRules", 0, true);
  check("incidentIntensity", 0);
  check("faultProneShare", 0);
  check("trafficScale", 0);
  const endpoints = options.endpoints ?? 60;
  const seed = options.seed ?? 1;
  return {
    name: options.name ?? `generated-${endpoints}-s${seed}`,
    seed,
    endpoints,
    services: Math.min(endpoints, options.services ?? clamp(Math.round(Math.sqrt(endpoints) * 0.7), 2, 500)),
    periods: options.periods ?? 288,
    periodSeconds: options.periodSeconds ?? 300,
    start: options.start ?? DEFAULT_START,
    critical: options.critical ?? DEFAULT_CRITICAL,
    ruleQuota: options.ruleQuota ?? 25,
    unmanagedRules: options.unmanagedRules ?? 0,
    incidentIntensity: options.incidentIntensity ?? 1,
    faultProneShare: clamp(options.faultProneShare ?? 0.2, 0, 1),
    spike:
      options.spike === false
        ? false
        : { factor: options.spike?.factor ?? 10, hours: options.spike?.hours ?? 2 },
    newEndpoint: options.newEndpoint ?? true,
    lateIncident: options.lateIncident ?? false,
    trafficScale: options.trafficScale ?? 1,
  };
}

/** Generates a snapshot, the next day and a config from a seed. The same options give the same scenario. */
export function generateScenario(options: ScenarioOptions = {}): Scenario {
  const o = resolve(options);
  const world = buildWorld(o);
  const futureEvents = planFutureEvents(o, world);
  const snapshot = snapshotOf(o, world, 0, world.profiles, world.snapshotEvents, world.rules);
  const future = snapshotOf(o, world, 1, futureEvents.profiles, futureEvents.events, world.rules);
  const { config, configDocument } = configOf(o, options, snapshot);
  return {
    name: o.name,
    snapshot,
    future,
    config,
    configDocument,
    events: {
      incidents: [...world.incidents, ...futureEvents.incidents],
      spike: futureEvents.spike,
      newEndpoint: futureEvents.newEndpoint,
      lateIncident: world.lateIncident,
      healthEndpoint: endpointKey(toEndpointFields(world.profiles[world.healthIndex])),
    },
  };
}

/** Only the snapshot and the config (no next day): half the memory, for timing the planner. */
export function generatePlanningInput(options: ScenarioOptions = {}): PlanningInput {
  const o = resolve(options);
  const world = buildWorld(o);
  const snapshot = snapshotOf(o, world, 0, world.profiles, world.snapshotEvents, world.rules);
  const { config, configDocument } = configOf(o, options, snapshot);
  return { name: o.name, snapshot, config, configDocument };
}

/**
 * The scenario `npm start` plans with no AWS account: about 60 endpoints over a few services,
 * one hand-made rule, an incident in the last 15 minutes, and a budget that cannot sample
 * everything, so the plan has to choose.
 */
export function demoScenario(): Scenario {
  return generateScenario({
    name: "demo",
    seed: 20261116,
    endpoints: 60,
    services: 5,
    budgetFraction: 0.03,
    unmanagedRules: 1,
    lateIncident: true,
  });
}

// ---------------------------------------------------------------------------------------------
// The world: services, endpoints, hand-made rules, and the snapshot day's incidents.

interface World {
  services: ServiceProfile[];
  profiles: EndpointProfile[];
  healthIndex: number;
  rules: SamplingRule[];
  snapshotEvents: DayEvent[];
  incidents: Incident[];
  lateIncident?: Incident;
}

function buildWorld(o: ResolvedOptions): World {
  const random = SeededRandom.derive(o.seed, "structure");
  const services = buildServices(o, random);
  const profiles = buildEndpoints(o, services, random);
  const healthIndex = profiles.findIndex((p) => p.kind === "health");
  const rules = [defaultRule(), ...handMadeRules(o.unmanagedRules, services, profiles, random)];

  const eventsRandom = SeededRandom.derive(o.seed, "snapshot-events");
  const snapshotEvents: DayEvent[] = [];
  const incidents = planIncidents(o, profiles, eventsRandom, "snapshot");
  for (const i of incidents) snapshotEvents.push(i.event);
  let lateIncident: Incident | undefined;
  const recentPeriods = Math.max(1, Math.ceil(900 / o.periodSeconds));
  if (o.lateIncident) {
    const candidates = eligibleForIncident(profiles, o, 0.05);
    const endpoint = candidates.length > 0 ? eventsRandom.pick(candidates) : 0;
    const event = {
      endpoint,
      startPeriod: Math.max(0, o.periods - recentPeriods),
      endPeriod: o.periods,
      faultRatio: 0.25,
    };
    snapshotEvents.push(event);
    lateIncident = { day: "snapshot", endpoint: keyOf(profiles[endpoint]), ...withoutEndpoint(event) };
  }
  return {
    services,
    profiles,
    healthIndex,
    rules,
    snapshotEvents,
    incidents: incidents.map((i) => i.incident),
    lateIncident,
  };
}

function buildServices(o: ResolvedOptions, random: SeededRandom): ServiceProfile[] {
  const services: ServiceProfile[] = [];
  for (let i = 0; i < o.services; i++) {
    const noun = i === 0 ? "orders" : random.pick(NOUNS);
    services.push({
      name: `${noun}-${random.pick(SERVICE_SUFFIXES)}-${i}`,
      serviceType: random.pick(SERVICE_TYPES),
      host: random.pick(HOSTS),
      peakHour: 14.5 + random.uniform(-1.5, 1.5),
      amplitude: random.uniform(0.3, 0.75),
    });
  }
  return services;
}

function buildEndpoints(
  o: ResolvedOptions,
  services: ServiceProfile[],
  random: SeededRandom,
): EndpointProfile[] {
  const seen = new Set<string>();
  const profiles: EndpointProfile[] = [];
  // One service owns the checkout, as in the public examples: the noun list has "checkout",
  // and without this every service could grow a busy `POST /checkout` of its own, which the
  // default critical entry (any service) would then pin at 100%.
  const isCheckoutRoute = (p: EndpointProfile) => p.method === "POST" && p.path === CHECKOUT_PATH;
  const add = (profile: EndpointProfile): boolean => {
    const key = `${profile.service.name} ${profile.method} ${profile.path}`;
    if (seen.has(key)) return false;
    if (profile.kind !== "checkout" && isCheckoutRoute(profile)) return false;
    seen.add(key);
    profiles.push(profile);
    return true;
  };
  const errorRatioOf = () => (random.chance(0.9) ? random.logUniform(0.0005, 0.03) : 0);
  const faultRatioOf = () => (random.chance(o.faultProneShare) ? random.logUniform(0.001, 0.03) : 0);

  // The chatty health check: busy, flat, never fails.
  add({
    service: services[0],
    method: "GET",
    path: "/health",
    rate: random.uniform(10, 25) * o.trafficScale,
    amplitude: 0,
    errorRatio: 0,
    faultRatio: 0,
    kind: "health",
  });
  // The critical endpoint of the default config: low traffic (a checkout is rare next to browsing,
  // as in the public examples), chronically a little faulty.
  const checkoutService =
    services.find((s) => s.name.startsWith("checkout")) ?? services[services.length - 1];
  add({
    service: checkoutService,
    method: "POST",
    path: CHECKOUT_PATH,
    rate: random.uniform(0.005, 0.03) * o.trafficScale,
    amplitude: checkoutService.amplitude,
    errorRatio: 0.01,
    faultRatio: 0.03,
    kind: "checkout",
  });

  // Services differ in size (a few own most endpoints); resources differ in popularity, so
  // route templates share prefixes (`/orders`, `/orders/{id}`, `/orders/{id}/items`).
  const serviceWeights = services.map((_, i) => 1 / (i + 1) ** 0.8);
  const resourceWeights = NOUNS.map((_, i) => 1 / (i + 1) ** 0.7);
  const versioned = o.endpoints > 200;
  let attempts = 0;
  while (profiles.length < o.endpoints) {
    attempts++;
    const service = services[random.weightedIndex(serviceWeights)];
    if (profiles.length > 2 && random.chance(0.08) && !seen.has(`${service.name} GET /health`)) {
      add({
        service,
        method: "GET",
        path: "/health",
        rate: random.uniform(0.5, 5) * o.trafficScale,
        amplitude: 0,
        errorRatio: 0,
        faultRatio: 0,
        kind: "regular",
      });
      continue;
    }
    const resource = NOUNS[random.weightedIndex(resourceWeights)];
    const prefix = versioned && random.chance(0.1) ? "/v2" : "";
    const form = random.next();
    let path: string;
    let method: string;
    if (form < 0.25) {
      path = `${prefix}/${resource}`;
      method = random.pick(COLLECTION_METHODS);
    } else if (form < 0.6) {
      path = `${prefix}/${resource}/{id}`;
      method = random.pick(ITEM_METHODS);
    } else if (form < 0.9) {
      path = `${prefix}/${resource}/{id}/${random.pick(SUB_RESOURCES)}`;
      method = random.pick([...COLLECTION_METHODS, "PUT"]);
    } else {
      path = `${prefix}/${resource}/{id}/${random.pick(SUB_RESOURCES)}/{subId}`;
      method = random.pick(ITEM_METHODS);
    }
    // Past a point, collisions are likely: make the path unique instead of looping forever.
    if (attempts > o.endpoints * 20) path = `${path}/part-${profiles.length}`;
    // Heavy tail: log-normal requests a day around a median of ~5,000 (many under one a minute).
    const perDay = Math.exp(Math.log(5000) + 2.2 * random.normal()) * (method === "GET" ? 1.5 : 0.7);
    add({
      service,
      method,
      path,
      rate: clamp(perDay / 86_400, 0.0001, 40) * o.trafficScale,
      amplitude: random.chance(0.15) ? 0.05 : clamp(service.amplitude * random.uniform(0.8, 1.2), 0, 0.85),
      errorRatio: errorRatioOf(),
      faultRatio: faultRatioOf(),
      kind: "regular",
    });
  }
  return random.shuffle(profiles);
}

/**
 * Rules people made by hand: switch off health checks, keep all of a quiet path, a low rate for
 * a team's service or resource; one carries attributes, which X-Ray SDKs ignore. They leave the
 * critical endpoint alone: a hand-made rule over it is a config conflict, not a planning problem.
 */
function handMadeRules(
  count: number,
  services: ServiceProfile[],
  profiles: EndpointProfile[],
  random: SeededRandom,
): SamplingRule[] {
  const rules: SamplingRule[] = [];
  const names = new Set<string>();
  const priorities = new Set<number>();
  const make = (name: string, fields: Partial<SamplingRule> & { Priority: number }, team: string) => {
    let ruleName = name.slice(0, 32);
    for (let i = 2; names.has(ruleName.toLowerCase()); i++) ruleName = `${name.slice(0, 28)}-${i}`;
    names.add(ruleName.toLowerCase());
    let priority = fields.Priority;
    while (priorities.has(priority)) priority++;
    priorities.add(priority);
    rules.push({
      ...defaultRule(),
      ...fields,
      RuleName: ruleName,
      Priority: priority,
      Tags: [{ Key: "owner", Value: `${team}-team` }],
    });
  };

  const criticalService = profiles.find((p) => p.kind === "checkout")?.service.name;
  const teamServices = services.filter((s) => s.name !== criticalService);
  // Requests a second per resource (first path segment), to find quiet ones.
  const resourceRates = new Map<string, number>();
  for (const p of profiles) {
    const resource = p.path.split("/")[1];
    if (!resource || resource === "health" || resource === "checkout" || resource === "v2") continue;
    resourceRates.set(resource, (resourceRates.get(resource) ?? 0) + p.rate);
  }
  const resources = [...resourceRates.keys()].sort(
    (a, b) => (resourceRates.get(a) ?? 0) - (resourceRates.get(b) ?? 0),
  );
  const quietResources = resources.slice(0, Math.max(1, Math.ceil(resources.length / 3)));
  for (let i = 0; i < count; i++) {
    if (i === 0) {
      make(
        "team-health-off",
        { Priority: 50, HTTPMethod: "GET", URLPath: "/health*", FixedRate: 0, ReservoirSize: 0 },
        "platform",
      );
    } else if (i === 1 && quietResources.length > 0) {
      const resource = random.pick(quietResources);
      make(
        `team-${resource}-full`,
        { Priority: 60, HTTPMethod: "POST", URLPath: `/${resource}*`, FixedRate: 1, ReservoirSize: 1 },
        "payments",
      );
    } else if (i === 4) {
      make(
        "team-internal-tenants",
        {
          Priority: 70,
          URLPath: "/tenants*",
          FixedRate: 0.5,
          ReservoirSize: 1,
          Attributes: { tenant: "internal" },
        },
        "tenants",
      );
    } else if (random.chance(0.4) && teamServices.length > 0) {
      const service = random.pick(teamServices);
      make(
        `team-${service.name}`,
        {
          Priority: 100 + random.int(8000),
          ServiceName: service.name,
          FixedRate: random.pick([0.005, 0.01, 0.02]),
          ReservoirSize: random.pick([0, 1]),
        },
        service.name.split("-")[0],
      );
    } else if (resources.length > 0) {
      const resource = random.pick(resources);
      make(
        `team-${resource}-${i}`,
        {
          Priority: 100 + random.int(8000),
          HTTPMethod: random.pick(["GET", "POST", "PUT", "DELETE"]),
          URLPath: `/${resource}/*`,
          FixedRate: random.pick([0.01, 0.02, 0.05]),
          ReservoirSize: random.pick([0, 1]),
        },
        resource,
      );
    }
  }
  return rules;
}

// ---------------------------------------------------------------------------------------------
// Events

function eligibleForIncident(profiles: EndpointProfile[], o: ResolvedOptions, minRate: number): number[] {
  const out: number[] = [];
  profiles.forEach((p, i) => {
    if (p.kind === "regular" && p.path !== "/health" && p.rate >= minRate * o.trafficScale) out.push(i);
  });
  return out;
}

function planIncidents(
  o: ResolvedOptions,
  profiles: EndpointProfile[],
  random: SeededRandom,
  day: Incident["day"],
): { event: DayEvent; incident: Incident }[] {
  const count = Math.round(o.incidentIntensity * Math.max(2, profiles.length * 0.012));
  const healthy = eligibleForIncident(profiles, o, 0.005).filter((i) => profiles[i].faultRatio === 0);
  const any = eligibleForIncident(profiles, o, 0.005);
  const out: { event: DayEvent; incident: Incident }[] = [];
  for (let n = 0; n < count && any.length > 0; n++) {
    const pool = healthy.length > 0 && random.chance(0.75) ? healthy : any;
    const endpoint = random.pick(pool);
    const duration = Math.min(
      o.periods,
      Math.max(1, Math.round((random.uniform(1, 4) * 3600) / o.periodSeconds)),
    );
    const startPeriod = random.int(o.periods - duration + 1);
    const event = {
      endpoint,
      startPeriod,
      endPeriod: startPeriod + duration,
      faultRatio: random.logUniform(0.03, 0.3),
    };
    out.push({ event, incident: { day, endpoint: keyOf(profiles[endpoint]), ...withoutEndpoint(event) } });
  }
  return out;
}

interface FutureEvents {
  profiles: EndpointProfile[];
  events: DayEvent[];
  incidents: Incident[];
  spike?: ScenarioEvents["spike"];
  newEndpoint?: string;
}

function planFutureEvents(o: ResolvedOptions, world: World): FutureEvents {
  const random = SeededRandom.derive(o.seed, "future-events");
  const profiles = world.profiles.map((p) => ({ ...p, rate: p.rate * Math.exp(0.05 * random.normal()) }));
  const planned = planIncidents(o, profiles, random, "future");
  const events = planned.map((p) => p.event);
  const incidents = planned.map((p) => p.incident);

  // The snapshot's late incident carries on into the next day for an hour or two.
  if (world.lateIncident) {
    const late = world.snapshotEvents[world.snapshotEvents.length - 1];
    const endPeriod = Math.min(o.periods, Math.round((random.uniform(1, 2) * 3600) / o.periodSeconds));
    const event = { endpoint: late.endpoint, startPeriod: 0, endPeriod, faultRatio: late.faultRatio };
    events.push(event);
    incidents.push({ day: "future", endpoint: keyOf(profiles[late.endpoint]), ...withoutEndpoint(event) });
  }

  let spike: FutureEvents["spike"];
  if (o.spike) {
    // A mid-ranked endpoint (between the top 10% and 70% by traffic), as in the public examples.
    const ranked = profiles
      .map((p, i) => ({ p, i }))
      .filter(({ p }) => p.kind === "regular" && p.path !== "/health")
      .sort((a, b) => b.p.rate - a.p.rate);
    if (ranked.length > 0) {
      const from = Math.min(ranked.length - 1, Math.max(3, Math.floor(ranked.length * 0.1)));
      const to = Math.max(from + 1, Math.floor(ranked.length * 0.7));
      const chosen = ranked[from + random.int(to - from)].i;
      const duration = Math.min(o.periods, Math.max(1, Math.round((o.spike.hours * 3600) / o.periodSeconds)));
      const earliest = Math.floor(o.periods * 0.1);
      const latest = Math.max(earliest, Math.floor(o.periods * 0.8) - duration);
      const startPeriod = Math.min(o.periods - duration, earliest + random.int(latest - earliest + 1));
      events.push({
        endpoint: chosen,
        startPeriod,
        endPeriod: startPeriod + duration,
        requestFactor: o.spike.factor,
      });
      spike = {
        endpoint: keyOf(profiles[chosen]),
        startPeriod,
        endPeriod: startPeriod + duration,
        factor: o.spike.factor,
      };
    }
  }

  let newEndpoint: string | undefined;
  if (o.newEndpoint) {
    const service = random.pick(world.services);
    const profile: EndpointProfile = {
      service,
      method: "POST",
      path: "/newfeature/{id}/launch",
      rate: random.uniform(0.15, 0.45) * o.trafficScale,
      amplitude: service.amplitude,
      errorRatio: 0.01,
      faultRatio: 0.02,
      kind: "new",
    };
    // Somewhere in the list, not at the end: consumers must match endpoints by identity.
    const at = random.int(profiles.length + 1);
    profiles.splice(at, 0, profile);
    for (const e of events) if (e.endpoint >= at) e.endpoint++;
    newEndpoint = keyOf(profile);
  }
  return { profiles, events, incidents, spike, newEndpoint };
}

// ---------------------------------------------------------------------------------------------
// Traffic

function snapshotOf(
  o: ResolvedOptions,
  world: World,
  dayIndex: number,
  profiles: EndpointProfile[],
  events: DayEvent[],
  rules: SamplingRule[],
): Snapshot {
  const random = SeededRandom.derive(o.seed, `traffic-day-${dayIndex}`);
  const windowMs = o.periods * o.periodSeconds * 1000;
  const startMs = Date.parse(o.start) + dayIndex * windowMs;
  const startSecondOfDay = (((startMs / 1000) % 86_400) + 86_400) % 86_400;
  const byEndpoint = new Map<number, DayEvent[]>();
  for (const e of events) byEndpoint.set(e.endpoint, [...(byEndpoint.get(e.endpoint) ?? []), e]);
  const periodsPerHour = Math.max(1, Math.round(3600 / o.periodSeconds));
  const hours = Math.ceil(o.periods / periodsPerHour);

  const endpoints: Endpoint[] = profiles.map((profile, index) => {
    const requests: number[] = [];
    const errors: number[] = [];
    const faults: number[] = [];
    const own = byEndpoint.get(index);
    // Fresh noise: the hour's level wanders around the daily curve.
    const hourNoise: number[] = [];
    for (let h = 0; h < hours; h++) hourNoise.push(Math.exp(0.1 * random.normal()));
    const perPeriod = profile.rate * o.periodSeconds;
    for (let t = 0; t < o.periods; t++) {
      const hourOfDay = ((startSecondOfDay + (t + 0.5) * o.periodSeconds) / 3600) % 24;
      const daily =
        1 + profile.amplitude * Math.cos((2 * Math.PI * (hourOfDay - profile.service.peakHour)) / 24);
      let mean = perPeriod * daily * hourNoise[Math.floor(t / periodsPerHour)];
      let faultRatio = profile.faultRatio;
      if (own) {
        for (const e of own) {
          if (t < e.startPeriod || t >= e.endPeriod) continue;
          if (e.requestFactor) mean *= e.requestFactor;
          if (e.faultRatio) faultRatio = Math.max(faultRatio, e.faultRatio);
        }
      }
      const r = random.poisson(mean);
      const f = faultRatio > 0 ? random.binomial(r, faultRatio) : 0;
      const er = profile.errorRatio > 0 ? random.binomial(r - f, profile.errorRatio) : 0;
      requests.push(r);
      faults.push(f);
      errors.push(er);
    }
    return {
      ...toEndpointFields(profile),
      requests,
      errors,
      faults,
    };
  });

  return {
    format: SNAPSHOT_FORMAT,
    capturedAt: new Date(startMs + windowMs).toISOString(),
    region: "us-east-1",
    start: new Date(startMs).toISOString(),
    periodSeconds: o.periodSeconds,
    endpoints,
    rules: rules.map((r) => structuredClone(r)),
  };
}

function configOf(
  o: ResolvedOptions,
  options: ScenarioOptions,
  snapshot: Snapshot,
): { config: Config; configDocument: ConfigInput } {
  let monthlyUsd = options.budgetUsd;
  if (monthlyUsd === undefined) {
    let requests = 0;
    for (const ep of snapshot.endpoints) for (const r of ep.requests) requests += r;
    const everything = (requests * SECONDS_PER_MONTH) / (o.periods * o.periodSeconds) / 200_000; // $5 per million
    monthlyUsd = Number((everything * (options.budgetFraction ?? 0.04)).toPrecision(2));
  }
  const configDocument: ConfigInput = {
    budget: { monthlyUsd: Math.max(0.01, monthlyUsd) },
    critical: o.critical,
    ruleQuota: o.ruleQuota,
  };
  return { config: parseConfig(configDocument), configDocument };
}

// ---------------------------------------------------------------------------------------------

function toEndpointFields(p: EndpointProfile) {
  return {
    service: p.service.name,
    serviceType: p.service.serviceType,
    host: p.service.host,
    method: p.method,
    path: p.path,
  };
}

function keyOf(p: EndpointProfile): string {
  return endpointKey(toEndpointFields(p));
}

function withoutEndpoint(e: DayEvent): Omit<Incident, "day" | "endpoint"> {
  return { startPeriod: e.startPeriod, endPeriod: e.endPeriod, faultRatio: e.faultRatio ?? 0 };
}

function clamp(x: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, x));
}
