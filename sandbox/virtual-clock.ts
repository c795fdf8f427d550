/**
 * The sandbox's notion of "now": virtual time that the traffic simulator moves forward (as fast
 * as tests want, or at a multiple of real time), read by everything that stamps a time.
 */
export class VirtualClock {
  private nowMs: number;

  constructor(start: Date | number | string = Date.now()) {
    this.nowMs = new Date(start).getTime();
    if (!Number.isFinite(this.nowMs)) throw new Error(`invalid clock start: ${String(start)}`);
  }

  /** Milliseconds since the epoch. */
  now(): number {
    return this.nowMs;
  }

  /** Seconds since the epoch, as AWS JSON protocols write timestamps. */
  nowSeconds(): number {
    return this.nowMs / 1000;
  }

  date(): Date {
    return new Date(this.nowMs);
  }

  /** Moves time forward (never back). */
  setTo(ms: number): void {
    if (ms < this.nowMs) throw new Error("the virtual clock never goes back");
    this.nowMs = ms;
  }
}
