/**
 * An error the emulated service answers with: the exception name the SDK maps to its class,
 * the HTTP status, a message, and any extra members of the error shape.
 */
export class ServiceError extends Error {
  constructor(
    /** The shape name (`InvalidRequestException`, `ThrottledException`, …). */
    readonly code: string,
    readonly status: number,
    message: string,
    readonly members: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = code;
  }
}

/** X-Ray's "missing or invalid parameters" error (HTTP 400). */
export function invalidRequest(message: string): ServiceError {
  return new ServiceError("InvalidRequestException", 400, message);
}

/**
 * Turns validation problems into the message AWS services use:
 * `2 validation errors detected: Value '0' at 'samplingRule.priority' failed to satisfy constraint: …`.
 */
export function validationMessage(problems: { path: string; value: unknown; constraint: string }[]): string {
  const n = problems.length;
  const details = problems
    .map(
      (p) => `Value '${describeValue(p.value)}' at '${p.path}' failed to satisfy constraint: ${p.constraint}`,
    )
    .join("; ");
  return `${n} validation error${n === 1 ? "" : "s"} detected: ${details}`;
}

function describeValue(value: unknown): string {
  if (value === undefined) return "null";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
