/**
 * Planner timing on large generated snapshots (1,000 / 10,000 / 100,000 endpoints × 288
 * periods by default): the median of several runs and peak memory, each size in a child
 * process (`timing-worker.ts`) so that one size's memory does not count against the next.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";

export interface TimingSample {
  endpoints: number;
  periods: number;
  runs: number;
  timesMs: number[];
  medianMs: number;
  generationMs: number;
  rules: number;
  /** Process RSS and heap with the snapshot loaded, before planning. */
  rssBeforeBytes: number;
  heapBeforeBytes: number;
  /** Largest heap in use right after a planning run. */
  heapAfterMaxBytes: number;
  /** Peak RSS of the whole process (snapshot included). */
  peakRssBytes: number;
}

export interface TimingSize {
  endpoints: number;
  runs: number;
}

export const DEFAULT_TIMING_SIZES: TimingSize[] = [
  { endpoints: 1_000, runs: 5 },
  { endpoints: 10_000, runs: 5 },
  { endpoints: 100_000, runs: 3 },
];

export function timePlanner(repoRoot: string, size: TimingSize): Promise<TimingSample> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      [
        "--max-old-space-size=12288",
        "--import",
        "tsx",
        join(repoRoot, "bench", "timing-worker.ts"),
        String(size.endpoints),
        String(size.runs),
      ],
      { cwd: repoRoot, stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const line = out.trim().split("\n").pop() ?? "";
      if (code !== 0) {
        reject(new Error(`timing worker for ${size.endpoints} endpoints exited with ${code}`));
        return;
      }
      try {
        resolvePromise(JSON.parse(line) as TimingSample);
      } catch {
        reject(
          new Error(`timing worker for ${size.endpoints} endpoints printed no result: ${line.slice(0, 200)}`),
        );
      }
    });
  });
}
