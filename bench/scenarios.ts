/**
 * The benchmark's scenarios: every public example pair found in `../shared/examples` (a sibling
 * of the repository; skipped when absent) and generated ones that stress one thing each.
 * Scenarios load lazily, so running one by name generates only that one.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { demoScenario, generateScenario, type ScenarioOptions } from "../sandbox/scenario-generator.ts";
import { type Config, parseConfig, parseSnapshot, type Snapshot } from "../shared/domain/formats.ts";
import { requestOf } from "../shared/domain/sampling.ts";
import {
  criticalMatcher,
  monthlyUsdOf,
  periodsPerHour,
  SECONDS_PER_MONTH,
} from "../shared/domain/scoring.ts";

export interface LoadedScenario {
  snapshot: Snapshot;
  future: Snapshot;
  config: Config;
  /**
   * `budget-only`: the budget cannot pay even the critical minimums, so nothing can be met; the
   * plan must still hold the budget and say that it scaled the minimums down.
   */
  expectation?: "budget-only";
}

export interface BenchScenario {
  name: string;
  source: "example" | "generated";
  description: string;
  load(): LoadedScenario;
}

/** Where the public examples live relative to the repository root, when they are there. */
export function examplesDirectory(repoRoot: string): string {
  return resolve(repoRoot, "..", "shared", "examples");
}

/** Each NAME with NAME.snapshot.json, NAME.future.json and NAME.config.json in the folder. */
export function exampleScenarios(directory: string): BenchScenario[] {
  if (!existsSync(directory)) return [];
  const files = new Set(readdirSync(directory));
  const names = [...files]
    .filter((f) => f.endsWith(".snapshot.json"))
    .map((f) => f.slice(0, -".snapshot.json".length))
    .filter((n) => files.has(`${n}.future.json`) && files.has(`${n}.config.json`))
    .sort();
  const read = (file: string) => JSON.parse(readFileSync(join(directory, file), "utf8")) as unknown;
  return names.map((name) => ({
    name,
    source: "example",
    description: `public example ${name}`,
    load: () => ({
      snapshot: parseSnapshot(read(`${name}.snapshot.json`)),
      future: parseSnapshot(read(`${name}.future.json`)),
      config: parseConfig(read(`${name}.config.json`)),
    }),
  }));
}

function generated(
  name: string,
  description: string,
  options: ScenarioOptions,
  budgetOf?: (snapshot: Snapshot, config: Config) => number,
  expectation?: LoadedScenario["expectation"],
): BenchScenario {
  return {
    name,
    source: "generated",
    description,
    load: () => {
      const s = generateScenario({ name, ...options });
      const config = budgetOf
        ? { ...s.config, budget: { ...s.config.budget, monthlyUsd: budgetOf(s.snapshot, s.config) } }
        : s.config;
      return { snapshot: s.snapshot, future: s.future, config, expectation };
    },
  };
}

/**
 * What the floors cost per month on the snapshot: every critical endpoint at its minimum rate,
 * and one trace for every other endpoint-hour with traffic.
 */
export function floorCostUsd(
  snapshot: Snapshot,
  config: Config,
): { criticalUsd: number; coverageUsd: number } {
  const matchers = config.critical.map((c) => ({ c, matches: criticalMatcher(c) }));
  const periods = snapshot.endpoints[0]?.requests.length ?? 0;
  const perHour = periodsPerHour(snapshot.periodSeconds);
  const toMonth = SECONDS_PER_MONTH / Math.max(1, periods * snapshot.periodSeconds);
  let criticalTraces = 0;
  let coverageTraces = 0;
  for (const ep of snapshot.endpoints) {
    const request = requestOf(ep);
    const rate = Math.max(0, ...matchers.filter((m) => m.matches(request)).map((m) => m.c.minFixedRate));
    if (rate > 0) {
      criticalTraces += rate * ep.requests.reduce((a, b) => a + b, 0);
      continue;
    }
    for (let h = 0; h < periods; h += perHour) {
      if (ep.requests.slice(h, h + perHour).some((r) => r > 0)) coverageTraces++;
    }
  }
  return {
    criticalUsd: monthlyUsdOf(criticalTraces * toMonth, config),
    coverageUsd: monthlyUsdOf(coverageTraces * toMonth, config),
  };
}

/** Generated scenarios, each stressing one thing. */
export function generatedScenarios(): BenchScenario[] {
  return [
    {
      name: "demo",
      source: "generated",
      description: "the `npm start` demo (demoScenario): 60 endpoints, 1 hand-made rule, a late incident",
      load: () => demoScenario(),
    },
    generated("large-1200", "1,200 endpoints over 24 services, budget 3% of sampling everything", {
      seed: 101,
      endpoints: 1200,
      budgetFraction: 0.03,
    }),
    generated(
      "tight-budget",
      "300 endpoints, budget = the critical floor + a third of one trace per endpoint-hour: too small for every floor",
      { seed: 102, endpoints: 300 },
      (snapshot, config) => {
        const floors = floorCostUsd(snapshot, config);
        return Number((floors.criticalUsd + floors.coverageUsd / 3).toPrecision(3));
      },
    ),
    generated(
      "starved-budget",
      "300 endpoints, budget half the critical floor alone: nothing can be met, the budget must still hold",
      { seed: 102, endpoints: 300 },
      (snapshot, config) => Number((floorCostUsd(snapshot, config).criticalUsd / 2).toPrecision(3)),
      "budget-only",
    ),
    generated("rich-budget", "200 endpoints, budget 150% of sampling everything", {
      seed: 103,
      endpoints: 200,
      budgetFraction: 1.5,
    }),
    generated("handmade-heavy", "250 endpoints, 20 hand-made rules of a quota of 25", {
      seed: 104,
      endpoints: 250,
      budgetFraction: 0.04,
      unmanagedRules: 20,
    }),
    generated("incident-heavy", "300 endpoints, 5× the incidents, 30% fault-prone, a late incident", {
      seed: 105,
      endpoints: 300,
      budgetFraction: 0.03,
      incidentIntensity: 5,
      faultProneShare: 0.3,
      lateIncident: true,
    }),
  ];
}

export function benchScenarios(repoRoot: string): BenchScenario[] {
  return [...exampleScenarios(examplesDirectory(repoRoot)), ...generatedScenarios()];
}
