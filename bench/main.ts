/**
 * `npm run bench`: the governor against the baselines of `scoring.md` on every scenario (public
 * examples when `../shared/examples` exists, and generated ones), at the config's rule quota and
 * with room for every endpoint; optionally the closed loop and the planner timing.
 *
 *   npm run bench                               all scenarios, both quota variants
 *   npm run bench -- --scenario shop,large-1200  only these
 *   npm run bench -- --closed-loop               also re-plan every 15 minutes through the next day
 *   npm run bench -- --timing                    also time the planner on 1k / 10k / 100k endpoints
 *   npm run bench -- --timing-only --sizes 1000:5,10000:5
 *   npm run bench -- --sweep 48                  48 random generated scenarios instead of the named ones
 *   npm run bench -- --without-critical          drop the configs' critical entries (what the minimums cost)
 *   npm run bench -- --strict                    exit 1 when a target is missed
 *
 * Markdown goes to stdout; the full results to `.bench/results-<time>.json` and `.bench/latest.json`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, InvalidArgumentError } from "commander";
import { evaluateClosedLoop } from "./closed-loop.ts";
import { evaluateVariant, type Variant } from "./evaluate.ts";
import {
  closedLoopTable,
  type ScenarioResult,
  summaryTable,
  targetName,
  timingTable,
  variantTable,
} from "./report.ts";
import { benchScenarios } from "./scenarios.ts";
import { runSweep, sweepMisses, sweepTable } from "./sweep.ts";
import { DEFAULT_TIMING_SIZES, type TimingSample, type TimingSize, timePlanner } from "./timing.ts";

const repoRoot = dirname(dirname(fileURLToPath(import.meta.url)));

function parseSizes(value: string): TimingSize[] {
  return value.split(",").map((part) => {
    const [endpoints, runs] = part.split(":").map(Number);
    if (
      !Number.isInteger(endpoints) ||
      endpoints < 2 ||
      (runs !== undefined && !(Number.isInteger(runs) && runs >= 1))
    ) {
      throw new InvalidArgumentError(`"${part}" is not ENDPOINTS[:RUNS] (e.g. 10000:5)`);
    }
    return { endpoints, runs: runs ?? (endpoints >= 100_000 ? 3 : 5) };
  });
}

const program = new Command()
  .name("bench")
  .description("Scores the governor against the baselines of scoring.md")
  .option("--scenario <names>", "comma-separated scenario names (default: all)")
  .option("--list", "list the scenarios and exit")
  .option("--variant <variant>", "quota, room-for-all or both", "both")
  .option("--closed-loop", "also run the closed loop (re-plan every 15 minutes; slower)")
  .option("--timing", "also time the planner on large generated snapshots")
  .option("--timing-only", "only time the planner")
  .option("--sizes <list>", "timing sizes as ENDPOINTS[:RUNS],…", parseSizes)
  .option("--sweep <count>", "score N random generated scenarios instead of the named ones", (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`"${v}" is not a positive integer`);
    return n;
  })
  .option("--sweep-seed <seed>", "first seed of the sweep", (v) => Number(v), 500)
  .option(
    "--sweep-sizes <list>",
    "endpoint counts the sweep cycles through, comma-separated (default: 40,120,300)",
    (v) =>
      v.split(",").map((x) => {
        const n = Number(x);
        if (!Number.isInteger(n) || n < 2) throw new InvalidArgumentError(`not an endpoint count: ${x}`);
        return n;
      }),
  )
  .option(
    "--without-critical",
    "drop every scenario config's critical entries (to see what the minimums cost)",
  )
  .option("--strict", "exit with 1 when any target is missed")
  .option("--out <dir>", "where to write the JSON results", join(repoRoot, ".bench"));
program.parse();
const options = program.opts<{
  scenario?: string;
  list?: boolean;
  variant: string;
  closedLoop?: boolean;
  timing?: boolean;
  timingOnly?: boolean;
  sizes?: TimingSize[];
  strict?: boolean;
  sweep?: number;
  sweepSeed: number;
  sweepSizes?: number[];
  withoutCritical?: boolean;
  out: string;
}>();

const all = benchScenarios(repoRoot);
if (options.list) {
  for (const s of all) console.log(`${s.name.padEnd(16)} ${s.source.padEnd(10)} ${s.description}`);
  process.exit(0);
}
const variants: Variant[] =
  options.variant === "both"
    ? ["quota", "room-for-all"]
    : options.variant === "quota"
      ? ["quota"]
      : ["room-for-all"];
if (!["both", "quota", "room-for-all"].includes(options.variant)) {
  console.error(`--variant must be quota, room-for-all or both, got ${options.variant}`);
  process.exit(2);
}
const wanted = options.scenario
  ?.split(",")
  .map((s) => s.trim())
  .filter(Boolean);
const unknown = (wanted ?? []).filter((n) => !all.some((s) => s.name === n));
if (unknown.length > 0) {
  console.error(`unknown scenario(s): ${unknown.join(", ")}; known: ${all.map((s) => s.name).join(", ")}`);
  process.exit(2);
}
const selected =
  options.timingOnly || options.sweep ? [] : all.filter((s) => !wanted || wanted.includes(s.name));

const results: ScenarioResult[] = [];
const startedAt = new Date();
if (selected.length > 0)
  console.log("## Governor vs baselines (plan from the snapshot, scored on the next day)\n");
for (const bench of selected) {
  const loaded = bench.load();
  const scenario = options.withoutCritical
    ? { ...loaded, config: { ...loaded.config, critical: [] }, expectation: undefined }
    : loaded;
  const result: ScenarioResult = {
    name: bench.name,
    description: bench.description,
    source: bench.source,
    endpoints: scenario.snapshot.endpoints.length,
    periods: scenario.snapshot.endpoints[0]?.requests.length ?? 0,
    variants: [],
  };
  console.log(
    `### ${bench.name}\n\n${bench.description}: ${result.endpoints} endpoints × ${result.periods} periods, budget $${scenario.config.budget.monthlyUsd}/month, ${scenario.snapshot.rules.length - 1} rule(s) besides Default.\n`,
  );
  for (const variant of variants) {
    const v = evaluateVariant(scenario, variant);
    result.variants.push(v);
    console.log(`${variantTable(bench.name, v)}\n`);
  }
  if (options.closedLoop) {
    const quota = result.variants.find((v) => v.variant === "quota") ?? evaluateVariant(scenario, "quota");
    result.closedLoop = evaluateClosedLoop(scenario, quota);
  }
  results.push(result);
}

if (results.length > 0) {
  console.log(`## Summary\n\n${summaryTable(results)}\n`);
}
if (options.closedLoop && results.length > 0) {
  console.log(`## Closed loop\n\n${closedLoopTable(results)}\n`);
}

let sweep: ReturnType<typeof runSweep> = [];
if (options.sweep) {
  console.error(`scoring ${options.sweep} random scenarios from seed ${options.sweepSeed}…`);
  sweep = runSweep(options.sweep, options.sweepSeed, variants, options.sweepSizes);
  console.log(
    `## Sweep: ${options.sweep} random generated scenarios (seeds ${options.sweepSeed}–${options.sweepSeed + options.sweep - 1})\n\n${sweepTable(sweep)}\n\n${sweepMisses(sweep)}\n`,
  );
}

const timing: TimingSample[] = [];
if (options.timing || options.timingOnly) {
  for (const size of options.sizes ?? DEFAULT_TIMING_SIZES) {
    console.error(`timing the planner on ${size.endpoints} endpoints (${size.runs} runs)…`);
    timing.push(await timePlanner(repoRoot, size));
  }
  console.log(`## Planner timing\n\n${timingTable(timing)}\n`);
}

const failed = [
  ...sweep.flatMap((c) =>
    c.variants.filter((v) => !v.pass).map((v) => `sweep seed ${c.seed} (${v.variant})`),
  ),
  ...results.flatMap((r) =>
    r.variants
      .filter((v) => !v.pass)
      .map((v) => {
        const beyond = v.targets.filter((t) => !t.pass && t.unattainable).map((t) => targetName(t.name));
        return `${r.name} (${v.variant}${beyond.length > 0 ? `; no plan can reach its ${beyond.join(", ")}` : ""})`;
      }),
  ),
  ...results.filter((r) => r.closedLoop && !r.closedLoop.pass).map((r) => `${r.name} (closed loop)`),
];
if (results.length > 0) {
  console.log(
    failed.length === 0 ? "All targets met." : `Targets missed in ${failed.length}: ${failed.join(", ")}.`,
  );
}

mkdirSync(options.out, { recursive: true });
const document = {
  startedAt: startedAt.toISOString(),
  finishedAt: new Date().toISOString(),
  results,
  sweep,
  timing,
};
const stamp = startedAt.toISOString().replace(/[:.]/g, "-");
writeFileSync(join(options.out, `results-${stamp}.json`), `${JSON.stringify(document, null, 2)}\n`);
writeFileSync(join(options.out, "latest.json"), `${JSON.stringify(document, null, 2)}\n`);
console.error(`results written to ${join(options.out, "latest.json")}`);

if (options.strict && failed.length > 0) process.exit(1);
