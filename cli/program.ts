/**
 * The `xray-governor` program: commander set up once (name, version, help, error output), and
 * the runner that turns what a command throws into an exit code.
 */
import { Command, CommanderError } from "commander";
import packageJson from "../package.json" with { type: "json" };
import { FormatError } from "../shared/domain/formats.ts";
import { EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, InputError } from "./errors.ts";

export function createProgram(): Command {
  return (
    new Command("xray-governor")
      .description(packageJson.description)
      .version(packageJson.version)
      .showHelpAfterError("(add --help for usage)")
      // Throw instead of exiting, so that `run` decides the exit code (2 for every usage error).
      .exitOverride()
  );
}

/** Runs the program on argv and sets the process's exit code; never throws. */
export async function run(program: Command, argv: readonly string[]): Promise<void> {
  try {
    await program.parseAsync([...argv]);
    process.exitCode = EXIT_OK;
  } catch (error) {
    process.exitCode = exitCodeOf(error);
  }
}

function exitCodeOf(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander has written its message (or the help) already; help and --version exit 0.
    return error.exitCode === 0 ? EXIT_OK : EXIT_BAD_INPUT;
  }
  if (error instanceof InputError || error instanceof FormatError) {
    process.stderr.write(`xray-governor: ${error.message}\n`);
    return EXIT_BAD_INPUT;
  }
  const detail = error instanceof Error ? (process.env.DEBUG ? error.stack : error.message) : String(error);
  process.stderr.write(`xray-governor: failed: ${detail}\n`);
  return EXIT_FAILURE;
}
