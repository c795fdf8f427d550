/**
 * What a command plans on when it is given no snapshot: the sandbox's seeded demo scenario, so
 * `npm start` works on a fresh clone with no AWS account. This is the one place to change when
 * the default becomes a collect from the running sandbox.
 */

import { demoScenario } from "../sandbox/scenario-generator.ts";
import type { ConfigInput, Snapshot } from "../shared/domain/formats.ts";

export interface DefaultInputs {
  /** Where the inputs came from, for the progress line. */
  source: string;
  snapshot: Snapshot;
  /** The scenario's config as a file would hold it (flags such as --budget apply on top). */
  configDocument: ConfigInput;
}

export async function defaultInputs(): Promise<DefaultInputs> {
  const scenario = demoScenario();
  return {
    source: "the embedded demo scenario (seeded sandbox traffic; no AWS account needed)",
    snapshot: scenario.snapshot,
    configDocument: scenario.configDocument,
  };
}
