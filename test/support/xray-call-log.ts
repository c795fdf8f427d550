/**
 * Watches an X-Ray client's calls through SDK middleware: every HTTP attempt (retries
 * included) by operation, the writes among them, and the most sampling rules the sandbox held
 * after any call. Optionally interrupts the client at a chosen write, before it is sent (a
 * crash) or after the sandbox processed it (a lost response).
 */
import type { XRayClient } from "@aws-sdk/client-xray";
import type { Sandbox } from "../../sandbox/index.ts";

export const WRITE_OPERATIONS = new Set([
  "CreateSamplingRuleCommand",
  "UpdateSamplingRuleCommand",
  "DeleteSamplingRuleCommand",
  "TagResourceCommand",
  "UntagResourceCommand",
]);

export interface XRayCallLog {
  /** Command names of every HTTP attempt, in order. */
  attempts: string[];
  /** Write attempts only. */
  writes(): string[];
  /** Most rules the sandbox held after any attempt. */
  maxRuleCount: number;
}

export class SimulatedInterruption extends Error {
  override name = "SimulatedInterruption";
}

export interface InterruptAt {
  /** 0-based index among write attempts. */
  write: number;
  /** "before": the call never reaches the sandbox; "after": it is processed, the answer is lost. */
  when: "before" | "after";
}

export function watchXRayCalls(xray: XRayClient, sandbox: Sandbox, interrupt?: InterruptAt): XRayCallLog {
  const log: XRayCallLog = {
    attempts: [],
    writes: () => log.attempts.filter((name) => WRITE_OPERATIONS.has(name)),
    maxRuleCount: sandbox.rules.size,
  };
  let writeIndex = 0;
  xray.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? "";
      const isWrite = WRITE_OPERATIONS.has(name);
      const interruptHere = isWrite && interrupt?.write === writeIndex;
      if (isWrite) writeIndex++;
      if (interruptHere && interrupt?.when === "before") throw new SimulatedInterruption(`before ${name}`);
      log.attempts.push(name);
      const out = await next(args);
      log.maxRuleCount = Math.max(log.maxRuleCount, sandbox.rules.size);
      if (interruptHere) throw new SimulatedInterruption(`after ${name}`);
      return out;
    },
    // Below the retry middleware (finalizeRequest), so every attempt passes through here.
    { step: "deserialize", name: "xrayCallLog", priority: "high" },
  );
  return log;
}
