/**
 * Times the planner on one generated snapshot, in a process of its own so that its peak memory
 * is the planner's and this snapshot's alone. Usage: timing-worker.ts ENDPOINTS RUNS [SEED].
 * Prints one JSON line ({@link TimingSample}).
 */
import { generatePlanningInput } from "../sandbox/scenario-generator.ts";
import { planSampling } from "../shared/domain/planner.ts";
import type { TimingSample } from "./timing.ts";

const [endpointsArg, runsArg, seedArg] = process.argv.slice(2);
const endpoints = Number(endpointsArg);
const runs = Number(runsArg);
if (!Number.isInteger(endpoints) || endpoints < 2 || !Number.isInteger(runs) || runs < 1) {
  console.error(`usage: timing-worker.ts ENDPOINTS RUNS [SEED] (got ${endpointsArg} ${runsArg})`);
  process.exit(2);
}

const generationStarted = performance.now();
const input = generatePlanningInput({ name: `timing-${endpoints}`, seed: Number(seedArg ?? 7), endpoints });
const generationMs = performance.now() - generationStarted;
const before = process.memoryUsage();

const timesMs: number[] = [];
let rules = 0;
let heapAfterMax = 0;
for (let i = 0; i < runs; i++) {
  const started = performance.now();
  const plan = planSampling(input.snapshot, input.config);
  timesMs.push(performance.now() - started);
  rules = plan.rules.length;
  heapAfterMax = Math.max(heapAfterMax, process.memoryUsage().heapUsed);
}
const sorted = [...timesMs].sort((a, b) => a - b);
const sample: TimingSample = {
  endpoints,
  periods: input.snapshot.endpoints[0]?.requests.length ?? 0,
  runs,
  timesMs,
  medianMs: sorted[Math.floor(sorted.length / 2)],
  generationMs,
  rules,
  rssBeforeBytes: before.rss,
  heapBeforeBytes: before.heapUsed,
  heapAfterMaxBytes: heapAfterMax,
  peakRssBytes: process.resourceUsage().maxRSS * 1024,
};
console.log(JSON.stringify(sample));
