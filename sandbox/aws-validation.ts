/**
 * Request validation for the emulated services, with zod: schemas whose messages read like
 * AWS's constraint messages, and a parse that throws the service's validation error.
 */
import { z } from "zod";
import { invalidRequest, type ServiceError, validationMessage } from "./service-error.ts";

export const text = (min: number, max: number) =>
  z
    .string({ error: "Member must be a string" })
    .min(min, `Member must have length greater than or equal to ${min}`)
    .max(max, `Member must have length less than or equal to ${max}`);

export const integer = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .number({ error: "Member must be a number" })
    .int("Member must be an integer")
    .min(min, `Member must have value greater than or equal to ${min}`)
    .max(max, `Member must have value less than or equal to ${max}`);

export const decimal = (min: number, max: number) =>
  z
    .number({ error: "Member must be a number" })
    .min(min, `Member must have value greater than or equal to ${min}`)
    .max(max, `Member must have value less than or equal to ${max}`);

/** A timestamp as the JSON protocols send it: seconds since the epoch. */
export const epochSeconds = z
  .number({ error: "Member must be a timestamp (seconds since the epoch)" })
  .refine(Number.isFinite, "Member must be a timestamp (seconds since the epoch)");

/** `SamplingRule.ResourceARN` → `samplingRule.resourceARN`, as AWS names paths in messages. */
function awsPath(path: readonly PropertyKey[]): string {
  return path
    .map((key, i) =>
      typeof key === "number" ? `${i === 0 ? "" : "."}member.${key + 1}` : lowerFirst(String(key)),
    )
    .join(".")
    .replace(/\.\./g, ".")
    .replace(/^\./, "");
}

function lowerFirst(s: string): string {
  return s.length === 0 ? s : s[0].toLowerCase() + s.slice(1);
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = input;
  for (const key of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/** Parses a request body, or throws the service's validation error listing every problem. */
export function parseRequest<S extends z.ZodType>(
  schema: S,
  body: unknown,
  toError: (message: string) => ServiceError = invalidRequest,
): z.infer<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  throw toError(
    validationMessage(
      result.error.issues.map((issue) => ({
        path: awsPath(issue.path),
        value: valueAt(body, issue.path),
        constraint:
          issue.code === "invalid_type" && valueAt(body, issue.path) === undefined
            ? "Member must not be null"
            : issue.message,
      })),
    ),
  );
}
