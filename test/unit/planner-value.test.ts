import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { expNegative } from "../../shared/domain/planner/value.ts";

describe("the planner's fast exponential", () => {
  it("agrees with Math.exp to a few parts in a billion over the whole range the value model uses", () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 60, noNaN: true }), (y) => {
        const exact = Math.exp(-y);
        expect(Math.abs(expNegative(y) - exact)).toBeLessThanOrEqual(3e-9 * exact);
      }),
      { numRuns: 20_000 },
    );
  });

  it("is exact at the table's points and at the ends of its range", () => {
    expect(expNegative(0)).toBe(1);
    expect(expNegative(1)).toBe(Math.exp(-1));
    expect(expNegative(40)).toBe(Math.exp(-40));
    expect(expNegative(Number.POSITIVE_INFINITY)).toBe(0);
  });
});
