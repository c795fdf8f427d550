/**
 * Opaque NextTokens for the emulated list operations: an offset into a list, bound to the
 * operation (and, where it matters, the request) that issued it.
 */
import type { ServiceError } from "./service-error.ts";

export interface Page<T> {
  items: T[];
  nextToken?: string;
}

/**
 * One page of `items` from the position `token` names. `scope` ties tokens to the request that
 * issued them (a token from another operation or request is rejected with `invalidToken`).
 */
export function pageOf<T>(
  items: readonly T[],
  token: string | undefined,
  pageSize: number,
  scope: string,
  invalidToken: (message: string) => ServiceError,
): Page<T> {
  const offset = token === undefined || token === "" ? 0 : offsetOf(token, scope, invalidToken);
  if (offset > items.length) throw invalidToken("The NextToken is no longer valid");
  const end = Math.min(items.length, offset + Math.max(1, pageSize));
  return {
    items: items.slice(offset, end),
    nextToken: end < items.length ? tokenFor(end, scope) : undefined,
  };
}

export function tokenFor(offset: number, scope: string): string {
  return Buffer.from(JSON.stringify({ o: offset, s: scope }), "utf8").toString("base64url");
}

/** The offset a token names, or `invalidToken` when the token is not one this scope issued. */
export function offsetOf(
  token: string,
  scope: string,
  invalidToken: (message: string) => ServiceError,
): number {
  try {
    const decoded = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as {
      o?: unknown;
      s?: unknown;
    };
    if (
      typeof decoded.o === "number" &&
      Number.isInteger(decoded.o) &&
      decoded.o >= 0 &&
      decoded.s === scope
    ) {
      return decoded.o;
    }
  } catch {
    // falls through to the error below
  }
  throw invalidToken("The NextToken is not valid for this request");
}
