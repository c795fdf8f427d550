/**
 * The scheduled tuner (EventBridge, every 15 minutes by default): reads the config from SSM,
 * makes one tuning run (`runTuning` in shared/pipeline.ts: collect → plan → act → record, by
 * mode and kill switch, auto mode inside the guard rails), logs a summary and publishes it as
 * CloudWatch metrics (EMF). A run that fails to read, or whose apply fails or is only partly
 * done, fails the invocation (the next run converges); the others succeed and return the summary.
 *
 * No idempotency middleware: an event delivered twice cannot apply twice, because the second
 * run finds the account already equal to the plan and writes nothing (the applier reconciles
 * against the account), and month-to-date counts each statistic window once.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { SSMProvider } from "@aws-lambda-powertools/parameters/ssm";
import { Tracer } from "@aws-lambda-powertools/tracer";
import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SSMClient } from "@aws-sdk/client-ssm";
import { XRayClient } from "@aws-sdk/client-xray";
import middy from "@middy/core";
import type { Context, ScheduledEvent } from "aws-lambda";
import { xrayRetryStrategy } from "../shared/aws/applier.ts";
import { AuditStore } from "../shared/aws/audit-store.ts";
import { loadConfigParameter, tunerEnvironment } from "../shared/aws/deployment.ts";
import { StateStore } from "../shared/aws/state-store.ts";
import { runTuning, summarizeRun, type TuningSummary } from "../shared/pipeline.ts";

const SERVICE = "xray-governor";
const logger = new Logger({ serviceName: SERVICE });
const metrics = new Metrics({ namespace: "XRayGovernor", serviceName: SERVICE });
const tracer = new Tracer({ serviceName: SERVICE });

const environment = tunerEnvironment(process.env);
const region = environment.AWS_REGION;
const xray = tracer.captureAWSv3Client(new XRayClient({ region, retryStrategy: xrayRetryStrategy() }));
const cloudWatch = tracer.captureAWSv3Client(new CloudWatchClient({ region, maxAttempts: 5 }));
const dynamo = tracer.captureAWSv3Client(new DynamoDBClient({ region }));
const parameters = new SSMProvider({ awsSdkV3Client: tracer.captureAWSv3Client(new SSMClient({ region })) });
const audit = new AuditStore(dynamo, environment.XRAY_GOVERNOR_AUDIT_TABLE);
const state = new StateStore(dynamo, environment.XRAY_GOVERNOR_STATE_TABLE);

async function tune(event: ScheduledEvent, _context: Context): Promise<TuningSummary> {
  logger.appendKeys({ scheduledEventId: event.id, scheduledAt: event.time });
  let summary: TuningSummary;
  try {
    const config = await loadConfigParameter(parameters, environment);
    const run = await runTuning({
      clients: { xray, cloudWatch },
      audit,
      state,
      config,
      now: new Date(),
      region,
      actor: "scheduler",
    });
    summary = summarizeRun(run, config);
  } catch (error) {
    metrics.addMetric("TuningErrors", MetricUnit.Count, 1);
    logger.error("tuning run stopped before changing any rule", error as Error);
    throw error;
  }
  publish(summary);
  const { outcome } = summary;
  const level = outcome === "partial" || outcome === "failed" || outcome === "refused" ? "error" : "info";
  logger[outcome === "escalated" ? "warn" : level](`tuning run ${outcome}`, { summary });
  if (outcome === "approval pending") {
    logger.info("approval pending: the plan waits for a person (mode approve)", { planId: summary.planId });
  }
  if (outcome === "partial" || outcome === "failed" || summary.auditError) {
    throw new Error(`tuning run ${outcome}: ${summary.reasons.join("; ")}`);
  }
  return summary;
}

function publish(summary: TuningSummary): void {
  const run = metrics.singleMetric();
  run.addDimension("Outcome", summary.outcome);
  run.addMetric("TuningRuns", MetricUnit.Count, 1);
  metrics.addMetric("BudgetMonthlyUsd", MetricUnit.NoUnit, summary.budgetMonthlyUsd);
  metrics.addMetric("RuleWrites", MetricUnit.Count, summary.ruleWrites);
  if (summary.projectedMonthlyUsd === undefined || !summary.actions) return;
  metrics.addMetric("ProjectedMonthlyUsd", MetricUnit.NoUnit, summary.projectedMonthlyUsd);
  metrics.addMetric("ProjectedMonthlyUsdBefore", MetricUnit.NoUnit, summary.projectedMonthlyUsdBefore ?? 0);
  metrics.addMetric("ProjectedFaultCapture", MetricUnit.Percent, 100 * (summary.faultCapture ?? 0));
  metrics.addMetric("ProjectedErrorCapture", MetricUnit.Percent, 100 * (summary.errorCapture ?? 0));
  metrics.addMetric("ProjectedCoverage", MetricUnit.Percent, 100 * (summary.coverage ?? 0));
  const { create, update, delete: deletes } = summary.actions;
  metrics.addMetric("PlannedActions", MetricUnit.Count, create + update + deletes);
}

export const handler = middy(tune)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
