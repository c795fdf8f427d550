/**
 * The CLI's exit codes and the error that means "the input was bad".
 */

/** Success. */
export const EXIT_OK = 0;
/** Something failed that the user did not cause (a bug, the disk, the network). */
export const EXIT_FAILURE = 1;
/** Bad input: a flag, a file that cannot be read, or a document that does not validate. Nothing was changed. */
export const EXIT_BAD_INPUT = 2;

/** Bad input, with a message that names the flag or field and the problem. */
export class InputError extends Error {
  override name = "InputError";
}
