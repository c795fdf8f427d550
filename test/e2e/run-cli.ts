/**
 * Runs the real `xray-governor` bin (cli/xray-governor.mjs, the installed entry point) as a
 * child process under the Node that runs the tests, and collects what it printed.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const REPO = fileURLToPath(new URL("../..", import.meta.url));
export const BIN = fileURLToPath(new URL("../../cli/xray-governor.mjs", import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  stdin?: string;
  env?: NodeJS.ProcessEnv;
  /** Another way to start it (e.g. `npm start`); default: the bin under this Node. */
  command?: [string, string[]];
}

// At most two runs at a time, however many tests run concurrently: the machines have two cores,
// and more children only make every run slower. (A counter and a queue; no library needed.)
const MAX_RUNNING = 2;
let running = 0;
const waiting: (() => void)[] = [];

export async function runCli(args: string[], options: RunOptions = {}): Promise<CliResult> {
  if (running >= MAX_RUNNING) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await spawnCli(args, options);
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function spawnCli(args: string[], options: RunOptions): Promise<CliResult> {
  const [command, prefix] = options.command ?? [process.execPath, [BIN]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...prefix, ...args], {
      cwd: REPO,
      env: { ...process.env, NO_COLOR: undefined, FORCE_COLOR: undefined, ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? "");
  });
}
