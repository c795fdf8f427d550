import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { count, percent, points, usd } from "../../shared/report/numbers.ts";

describe("report numbers", () => {
  it("writes dollars with 2 decimals and thousands separators", () => {
    expect(usd(1234.5)).toBe("$1,234.50");
    expect(usd(0.004)).toBe("$0.00");
  });

  it("writes percentages with 1 decimal", () => {
    expect(percent(0.1234)).toBe("12.3%");
    expect(percent(1)).toBe("100.0%");
    expect(percent(0)).toBe("0.0%");
  });

  it("never writes 0.0% for a share above zero, nor 100.0% for a share below one", () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), (share) => {
        const text = percent(share);
        if (share > 0) expect(text).not.toBe("0.0%");
        if (share < 1) expect(text).not.toBe("100.0%");
      }),
    );
    expect(percent(0.00042)).toBe("0.042%");
    expect(percent(0.0028)).toBe("0.28%");
    expect(percent(0.99996)).toBe(">99.9%");
  });

  it("writes trace counts with k and M suffixes", () => {
    expect(count(950)).toBe("950");
    expect(count(12_345)).toBe("12.3k");
    expect(count(4_560_000)).toBe("4.56M");
    expect(count(0.42)).toBe("0.4");
  });

  it("keeps a count's suffixed form within 1% of the count", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1000, max: 1e11 }), (n) => {
        const match = /^([\d.]+)([kMB])$/.exec(count(n));
        expect(match).not.toBeNull();
        const scale = { k: 1e3, M: 1e6, B: 1e9 }[match?.[2] as "k" | "M" | "B"];
        expect(Math.abs(Number(match?.[1]) * scale - n) / n).toBeLessThan(0.01);
      }),
    );
  });

  it("signs differences in points", () => {
    expect(points(0.032)).toBe("+3.2 pts");
    expect(points(-0.5)).toBe("-50.0 pts");
    expect(points(0.00001)).toBe("±0.0 pts");
  });
});
