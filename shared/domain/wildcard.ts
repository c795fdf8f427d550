/**
 * X-Ray wildcard patterns: `*` matches zero or more characters, `?` exactly one.
 * Matching is case-insensitive, as in the X-Ray SDKs.
 */

export type WildcardMatcher = (value: string) => boolean;

const cache = new Map<string, WildcardMatcher>();

/** Compiles a pattern into a matcher; results are cached per pattern. */
export function wildcardMatcher(pattern: string): WildcardMatcher {
  const cached = cache.get(pattern);
  if (cached) return cached;
  const matcher = compile(pattern);
  if (cache.size > 10_000) cache.clear();
  cache.set(pattern, matcher);
  return matcher;
}

export function wildcardMatch(pattern: string, value: string): boolean {
  return wildcardMatcher(pattern)(value);
}

function compile(pattern: string): WildcardMatcher {
  if (pattern === "*") return () => true;
  const lower = pattern.toLowerCase();
  if (!/[*?]/.test(lower)) return (value) => value.toLowerCase() === lower;
  const source = lower
    .split("")
    .map((ch) => {
      if (ch === "*") return "[\\s\\S]*";
      if (ch === "?") return "[\\s\\S]";
      return ch.replace(/[.+^${}()|[\]\\/-]/g, "\\$&");
    })
    .join("");
  const regex = new RegExp(`^${source}$`);
  return (value) => regex.test(value.toLowerCase());
}

/** Number of literal (non-wildcard) characters: a rough measure of how specific a pattern is. */
export function literalLength(pattern: string): number {
  let n = 0;
  for (const ch of pattern) if (ch !== "*" && ch !== "?") n++;
  return n;
}

/** Whether a pattern has a wildcard. X-Ray has no escape: a literal `*` or `?` is a wildcard too. */
export function isWildcard(pattern: string): boolean {
  return pattern.includes("*") || pattern.includes("?");
}
