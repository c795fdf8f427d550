/**
 * What a deployed Lambda is told by its deployment: the environment variables serverless.yml
 * sets, checked once at start, and the governor's config, read from SSM Parameter Store on
 * every run (so a change of mode or the freeze flag takes effect on the next run).
 */
import type { SSMProvider } from "@aws-lambda-powertools/parameters/ssm";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { type Config, FormatError, formatPath, parseConfig } from "../domain/formats.ts";

const variable = z.string({ error: "is not set" }).trim().min(1, "is empty");

export const TunerEnvironmentSchema = z.object({
  /** Name of the SSM parameter holding the config (JSON or YAML). */
  XRAY_GOVERNOR_CONFIG_PARAMETER: variable,
  XRAY_GOVERNOR_AUDIT_TABLE: variable,
  XRAY_GOVERNOR_STATE_TABLE: variable,
  /**
   * The rule-name prefix the deployment's IAM policy grants writes on; the config's
   * `rules.namePrefix` must be the same, or every write would be denied halfway through.
   */
  XRAY_GOVERNOR_RULE_PREFIX: variable,
  /** Set by Lambda itself. */
  AWS_REGION: variable,
});
export type TunerEnvironment = z.infer<typeof TunerEnvironmentSchema>;

/** The deployment's environment is not what serverless.yml sets. */
export class DeploymentError extends Error {
  override name = "DeploymentError";
}

export function tunerEnvironment(env: NodeJS.ProcessEnv): TunerEnvironment {
  const result = TunerEnvironmentSchema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `  - ${formatPath(i.path)}: ${i.message}`);
  throw new DeploymentError(`invalid environment (see serverless.yml):\n${problems.join("\n")}`);
}

/**
 * Reads the config from the SSM parameter and validates it. Throws a {@link FormatError}
 * naming every bad field, or a {@link DeploymentError} when the parameter cannot be read or
 * does not agree with the deployment; either way nothing has been changed.
 */
export async function loadConfigParameter(
  parameters: Pick<SSMProvider, "get">,
  environment: Pick<TunerEnvironment, "XRAY_GOVERNOR_CONFIG_PARAMETER" | "XRAY_GOVERNOR_RULE_PREFIX">,
): Promise<Config> {
  const name = environment.XRAY_GOVERNOR_CONFIG_PARAMETER;
  let text: string | undefined;
  try {
    // No cache: the kill switch (mode off, freeze) must hold from the very next run.
    text = await parameters.get(name, { maxAge: 0 });
  } catch (error) {
    // Powertools wraps the SDK's error; the SDK's name says what happened (SSM sends no message).
    const cause = ((error as Error).cause ?? error) as Error;
    const what =
      cause.name === "ParameterNotFound"
        ? "it does not exist (create it: see infra/README.md)"
        : `${cause.name}: ${cause.message}`;
    throw new DeploymentError(
      `SSM parameter ${name} (XRAY_GOVERNOR_CONFIG_PARAMETER) could not be read: ${what}`,
      {
        cause: error,
      },
    );
  }
  if (text === undefined) throw new DeploymentError(`SSM parameter ${name} has no value`);
  let document: unknown;
  try {
    document = parseYaml(text); // YAML 1.2 reads JSON too
  } catch (error) {
    throw new FormatError(`config in SSM parameter ${name}`, [
      { path: "", message: `not valid JSON or YAML: ${(error as Error).message.split("\n")[0]}` },
    ]);
  }
  let config: Config;
  try {
    config = parseConfig(document);
  } catch (error) {
    if (error instanceof FormatError)
      throw new FormatError(`config in SSM parameter ${name}`, error.problems);
    throw error;
  }
  const granted = environment.XRAY_GOVERNOR_RULE_PREFIX;
  if (config.rules.namePrefix !== granted) {
    throw new FormatError(`config in SSM parameter ${name}`, [
      {
        path: "rules.namePrefix",
        message: `is ${JSON.stringify(config.rules.namePrefix)} but this deployment may only write rules named ${JSON.stringify(`${granted}*`)} (the ruleNamePrefix param of serverless.yml); make them the same`,
      },
    ]);
  }
  return config;
}
