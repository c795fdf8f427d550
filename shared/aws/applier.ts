/**
 * The applier: makes the account's sampling rules equal to a desired rule set. It reads what
 * is really in the account first and reconciles against that (not against the snapshot the
 * plan was made from), so an apply interrupted at any call converges on the next run, and a
 * second apply right after a successful one makes no write call at all. Which writes, in
 * which order, and whether they are allowed is decided in `shared/domain/reconcile.ts`; this
 * module only turns the operations into X-Ray calls and records the change set.
 *
 * Retries of throttling and 5xx are the SDK's: build the X-Ray client with
 * {@link xrayRetryStrategy}. A call that still fails stops the apply (the remaining operations
 * assume the earlier ones happened); the next run re-reads and finishes the job.
 */
import {
  CreateSamplingRuleCommand,
  DeleteSamplingRuleCommand,
  ResourceNotFoundException,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateSamplingRuleCommand,
  type XRayClient,
} from "@aws-sdk/client-xray";
import { ConfiguredRetryStrategy } from "@smithy/util-retry";
import {
  type AuditRecord,
  type ChangeMode,
  type ChangeResult,
  type OperationRecord,
  rollbackRuleSet,
} from "../domain/audit.ts";
import type { SamplingRule } from "../domain/formats.ts";
import {
  applyOperations,
  describeOperation,
  type ReconcileConfig,
  type RuleOperation,
  reconcileRules,
} from "../domain/reconcile.ts";
import type { AuditStore } from "./audit-store.ts";
import { readAccountRules, xraySamplingRuleOf } from "./sampling-rules.ts";

/** Attempts per X-Ray call, the first included. */
export const XRAY_MAX_ATTEMPTS = 8;

/**
 * The SDK's standard retry (throttling and 5xx, with its retry-token bucket) with exponential
 * backoff and full jitter: a random delay up to base·2^attempt, capped.
 */
export function xrayRetryStrategy(
  options: { maxAttempts?: number; baseDelayMs?: number; maxDelayMs?: number } = {},
): ConfiguredRetryStrategy {
  const { maxAttempts = XRAY_MAX_ATTEMPTS, baseDelayMs = 200, maxDelayMs = 10_000 } = options;
  return new ConfiguredRetryStrategy(maxAttempts, (attempt) =>
    Math.floor(Math.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** attempt)),
  );
}

export interface ApplyOptions {
  xray: XRayClient;
  config: ReconcileConfig;
  /** Who asked for the change (CLI user, Slack approver, "scheduler"). */
  actor: string;
  mode: ChangeMode;
  planId?: string;
  region?: string;
  rollbackOf?: string;
  /** Where the change set is recorded; without it nothing is recorded. */
  audit?: AuditStore;
  /** Told about each operation as it finishes (progress output). */
  onOperation?: (record: OperationRecord) => void;
  /**
   * Asked, with the operations about to run, after the account is read and before any write;
   * false declines (nothing is written). What is confirmed is exactly what is applied.
   */
  confirm?: (operations: RuleOperation[], before: SamplingRule[]) => boolean | Promise<boolean>;
}

export type ApplyStatus = "unchanged" | "declined" | ChangeResult;

export interface ApplyResult {
  status: ApplyStatus;
  /** Every operation reconcile asked for and what became of it. */
  operations: OperationRecord[];
  /** Write calls sent to X-Ray, retries included. */
  writeCalls: number;
  /** The account's rules before, and (as far as the operations done tell) after. */
  before: SamplingRule[];
  after: SamplingRule[];
  audit?: AuditRecord;
  /** Why the apply stopped early. */
  error?: string;
  /** The change was made but could not be recorded. */
  auditError?: string;
}

/**
 * Makes the account's rules equal to `desired` (a complete rule set, or a function of the
 * account's current rules that returns one, as a rollback needs). Throws `ReconcileError`,
 * with nothing changed, when the desired set would touch rules the governor does not own, or
 * does not fit the quota.
 */
export async function applyRuleSet(
  desired: readonly SamplingRule[] | ((current: SamplingRule[]) => SamplingRule[]),
  options: ApplyOptions,
): Promise<ApplyResult> {
  const before = await readAccountRules(options.xray);
  const target = typeof desired === "function" ? desired(before) : desired;
  const operations = reconcileRules(before, target, options.config);
  if (operations.length === 0) {
    return { status: "unchanged", operations: [], writeCalls: 0, before, after: before };
  }

  const records: OperationRecord[] = operations.map((op) => ({
    type: op.type,
    ruleName: op.ruleName,
    description: describeOperation(op),
    status: "not run",
  }));
  if (options.confirm && !(await options.confirm(operations, before))) {
    return { status: "declined", operations: records, writeCalls: 0, before, after: before };
  }
  const done: RuleOperation[] = [];
  let writeCalls = 0;
  let error: string | undefined;
  for (const [i, op] of operations.entries()) {
    try {
      records[i].attempts = await send(options.xray, op);
      records[i].status = "done";
      done.push(op);
    } catch (e) {
      records[i].status = "failed";
      records[i].attempts = attemptsOf(e);
      error = `${records[i].description} failed: ${messageOf(e)}`;
      records[i].error = messageOf(e);
    }
    writeCalls += records[i].attempts ?? 1;
    options.onOperation?.(records[i]);
    if (error) break;
  }

  const status: ChangeResult = !error ? "applied" : done.length > 0 ? "partial" : "failed";
  const after = applyOperations(before, done);
  const result: ApplyResult = { status, operations: records, writeCalls, before, after, error };
  if (options.audit) {
    try {
      result.audit = await options.audit.record({
        actor: options.actor,
        mode: options.mode,
        planId: options.planId,
        region: options.region,
        rollbackOf: options.rollbackOf,
        before,
        after,
        operations: records,
        result: status,
        error,
      });
    } catch (e) {
      result.auditError = `the change was ${status === "applied" ? "applied" : "partly applied"} but could not be recorded: ${messageOf(e)}`;
    }
  }
  return result;
}

/** Sends one operation; returns the HTTP attempts it took. */
async function send(xray: XRayClient, op: RuleOperation): Promise<number> {
  switch (op.type) {
    case "create": {
      const tags = (op.rule.Tags ?? []).filter((t) => !t.Key.toLowerCase().startsWith("aws:"));
      const out = await xray.send(
        new CreateSamplingRuleCommand({
          SamplingRule: xraySamplingRuleOf(op.rule),
          ...(tags.length > 0 ? { Tags: tags } : {}),
        }),
      );
      return out.$metadata.attempts ?? 1;
    }
    case "update": {
      const out = await xray.send(
        new UpdateSamplingRuleCommand({ SamplingRuleUpdate: { RuleName: op.ruleName, ...op.changes } }),
      );
      return out.$metadata.attempts ?? 1;
    }
    case "delete": {
      try {
        const out = await xray.send(new DeleteSamplingRuleCommand({ RuleName: op.ruleName }));
        return out.$metadata.attempts ?? 1;
      } catch (e) {
        // Already gone (an earlier attempt went through before its response was lost): done.
        if (e instanceof ResourceNotFoundException) return attemptsOf(e);
        throw e;
      }
    }
    case "tag": {
      const out = await xray.send(new TagResourceCommand({ ResourceARN: arnOf(op), Tags: op.tags }));
      return out.$metadata.attempts ?? 1;
    }
    case "untag": {
      const out = await xray.send(new UntagResourceCommand({ ResourceARN: arnOf(op), TagKeys: op.tagKeys }));
      return out.$metadata.attempts ?? 1;
    }
  }
}

function arnOf(op: { ruleName: string; ruleArn?: string }): string {
  if (!op.ruleArn) throw new Error(`rule ${op.ruleName} has no ARN to tag`);
  return op.ruleArn;
}

function attemptsOf(e: unknown): number {
  const attempts = (e as { $metadata?: { attempts?: number } })?.$metadata?.attempts;
  return typeof attempts === "number" && attempts > 0 ? attempts : 1;
}

function messageOf(e: unknown): string {
  if (e instanceof Error) return `${e.name === "Error" ? "" : `${e.name}: `}${e.message}`;
  return String(e);
}

/** No audit record has this id. */
export class UnknownAuditRecordError extends Error {
  constructor(readonly auditId: string) {
    super(
      `no audit record ${JSON.stringify(auditId)}: nothing to roll back (apply prints the id of each change set it records)`,
    );
    this.name = "UnknownAuditRecordError";
  }
}

/**
 * Restores the managed rules and Default's settings that an audited change set replaced; the
 * rollback is itself an audited change set (mode "rollback", `rollbackOf` the id).
 */
export async function rollbackChangeSet(
  auditId: string,
  options: Omit<ApplyOptions, "mode" | "rollbackOf" | "planId"> & { audit: AuditStore },
): Promise<ApplyResult> {
  const record = await options.audit.get(auditId);
  if (!record) throw new UnknownAuditRecordError(auditId);
  return applyRuleSet((current) => rollbackRuleSet(record, current, options.config), {
    ...options,
    mode: "rollback",
    rollbackOf: record.id,
    planId: record.planId,
  });
}
