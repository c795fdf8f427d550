/** Progress messages of the CLI's commands: on standard error, so standard output stays the result. */

/** Writes `xray-governor: <message>` to standard error, or nothing with --quiet. */
export function progressReporter(quiet: boolean | undefined): (message: string) => void {
  return (message) => {
    if (!quiet) process.stderr.write(`xray-governor: ${message}\n`);
  };
}
