import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isWildcard, literalLength, wildcardMatch } from "../../shared/domain/wildcard.ts";

/**
 * X-Ray's wildcard semantics written out as the textbook dynamic programme, to compare the
 * compiled matcher against: `*` any run of characters, `?` exactly one, case ignored.
 */
function referenceMatch(pattern: string, value: string): boolean {
  const p = pattern.toLowerCase();
  const v = value.toLowerCase();
  // can[i][j]: p[i..] matches v[j..]
  const can = Array.from({ length: p.length + 1 }, () => new Array<boolean>(v.length + 1).fill(false));
  can[p.length][v.length] = true;
  for (let i = p.length - 1; i >= 0; i--) {
    for (let j = v.length; j >= 0; j--) {
      if (p[i] === "*") can[i][j] = can[i + 1][j] || (j < v.length && can[i][j + 1]);
      else if (j < v.length && (p[i] === "?" || p[i] === v[j])) can[i][j] = can[i + 1][j + 1];
    }
  }
  return can[0][0];
}

describe("wildcardMatch", () => {
  it.each([
    ["*", "", true],
    ["*", "/anything/at/all", true],
    ["/orders/*", "/orders/", true],
    ["/orders/*", "/orders/8f3a/items", true],
    ["/orders/*", "/orders", false],
    ["/orders/*/items", "/orders/8f3a/items", true],
    ["/orders/*/items", "/orders/8f3a/lines", false],
    ["/a?c", "/abc", true],
    ["/a?c", "/ac", false],
    ["/a?c", "/abbc", false],
    ["???", "GET", true],
    ["???", "POST", false],
    ["*.json", "/feed.json", true],
    ["*.json", "/feedXjson", false],
    ["/v1/(beta)+", "/v1/(beta)+", true],
    ["/v1/[x]", "/v1/x", false],
  ])("%s against %s is %s", (pattern, value, expected) => {
    expect(wildcardMatch(pattern, value)).toBe(expected);
  });

  it("ignores case in patterns and values alike", () => {
    expect(wildcardMatch("get", "GET")).toBe(true);
    expect(wildcardMatch("/Orders/*", "/oRDERS/X")).toBe(true);
    expect(wildcardMatch("Orders-API", "orders-api")).toBe(true);
    expect(wildcardMatch("p?st", "POST")).toBe(true);
  });

  it("agrees with the textbook matcher on arbitrary patterns and values", () => {
    const alphabet = fc.constantFrom("a", "B", "b", "/", ".", "-");
    const patternChar = fc.oneof(alphabet, fc.constantFrom("*", "?"));
    fc.assert(
      fc.property(
        fc.array(patternChar, { maxLength: 8 }).map((cs) => cs.join("")),
        fc.array(alphabet, { maxLength: 10 }).map((cs) => cs.join("")),
        (pattern, value) => {
          expect(wildcardMatch(pattern, value)).toBe(referenceMatch(pattern, value));
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("pattern measures", () => {
  it("counts literal characters and tells wildcards from literals", () => {
    expect(literalLength("/orders/*/items")).toBe(14);
    expect(literalLength("*")).toBe(0);
    expect(isWildcard("/orders/?")).toBe(true);
    expect(isWildcard("/orders")).toBe(false);
  });
});
