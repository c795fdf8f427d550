/**
 * How the reports write numbers: dollars with 2 decimals, percentages with 1 decimal, trace
 * counts with k/M/B suffixes. Pure functions, shared by every renderer so that the terminal
 * table and the markdown report read the same.
 */

const dollars = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
const compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumSignificantDigits: 3 });
const small = new Intl.NumberFormat("en-US", { maximumSignificantDigits: 2 });

/** `$1,234.50`. */
export function usd(value: number): string {
  if (!Number.isFinite(value)) return "—";
  return dollars.format(value);
}

/**
 * A share (0..1) as a percentage with 1 decimal: `12.3%`. Below 1% it keeps two significant
 * digits instead (`0.28%`, `0.042%`: low sampling rates are common and one decimal would blur
 * them), and a share just short of 1 is written `>99.9%`, so a report never claims "none" or
 * "all" when it is not.
 */
export function percent(share: number): string {
  if (!Number.isFinite(share)) return "—";
  const value = share * 100;
  if (value > 0 && value < 0.995) return `${small.format(value)}%`;
  if (value < 100 && value >= 99.95) return ">99.9%";
  return `${value.toFixed(1)}%`;
}

/** A difference of two shares in percentage points, signed: `+3.2 pts`. */
export function points(delta: number): string {
  if (!Number.isFinite(delta)) return "—";
  const value = Math.round(delta * 1000) / 10;
  if (value === 0) return "±0.0 pts";
  return `${value > 0 ? "+" : ""}${value.toFixed(1)} pts`;
}

/** A count of traces or requests: `950`, `12.3k`, `4.56M`. */
export function count(value: number): string {
  if (!Number.isFinite(value)) return "—";
  if (Math.abs(value) < 1000) {
    return Math.abs(value) < 10 && !Number.isInteger(value) ? value.toFixed(1) : Math.round(value).toString();
  }
  // Intl's compact notation writes thousands as "K"; the reports use the lower-case SI "k".
  return compact.format(value).replace("K", "k");
}

/** A reservoir: `2/s`. */
export function reservoir(tracesPerSecond: number): string {
  return `${tracesPerSecond}/s`;
}

/** `before → after`, or just the value when it did not change. */
export function change(before: string | undefined, after: string): string {
  if (before === undefined) return after;
  return before === after ? after : `${before} → ${after}`;
}
