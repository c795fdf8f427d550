/**
 * The traces the simulator sampled, kept in columns (typed arrays) in time order: a busy
 * simulated day holds hundreds of thousands, and summaries are only built for the ones a
 * GetTraceSummaries call returns. Old traces fall out after the retention.
 */

export interface StoredTrace {
  /** Position in the store (stable while the trace is kept). */
  position: number;
  /** Start of the request, milliseconds since the epoch. */
  timeMs: number;
  endpoint: number;
  /** HTTP status of the response. */
  status: number;
  responseTimeMs: number;
  /** Sequence number the trace id and URL are derived from. */
  sequence: number;
}

export class TraceStore {
  private times = new Float64Array(1024);
  private endpoints = new Int32Array(1024);
  private statuses = new Uint16Array(1024);
  private responseTimes = new Float32Array(1024);
  private sequences = new Uint32Array(1024);
  /** Index of the oldest kept trace and one past the newest. */
  private first = 0;
  private end = 0;
  /** Positions are `index + dropped`, so that they stay valid across compactions. */
  private dropped = 0;
  private nextSequence = 0;

  constructor(private readonly retentionMs: number) {}

  get size(): number {
    return this.end - this.first;
  }

  /** Appends a trace; traces must come in time order. */
  add(timeMs: number, endpoint: number, status: number, responseTimeMs: number): void {
    if (this.end === this.times.length) this.grow();
    const i = this.end++;
    this.times[i] = timeMs;
    this.endpoints[i] = endpoint;
    this.statuses[i] = status;
    this.responseTimes[i] = responseTimeMs;
    this.sequences[i] = this.nextSequence++ >>> 0;
  }

  /** Drops traces older than the retention before `nowMs`. */
  prune(nowMs: number): void {
    const oldest = nowMs - this.retentionMs;
    while (this.first < this.end && this.times[this.first] < oldest) this.first++;
  }

  /** The first position at or after `timeMs`. */
  positionAt(timeMs: number): number {
    let lo = this.first;
    let hi = this.end;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.times[mid] < timeMs) lo = mid + 1;
      else hi = mid;
    }
    return lo + this.dropped;
  }

  /** The first kept position. */
  get firstPosition(): number {
    return this.first + this.dropped;
  }

  get endPosition(): number {
    return this.end + this.dropped;
  }

  at(position: number): StoredTrace | undefined {
    const i = position - this.dropped;
    if (i < this.first || i >= this.end) return undefined;
    return {
      position,
      timeMs: this.times[i],
      endpoint: this.endpoints[i],
      status: this.statuses[i],
      responseTimeMs: this.responseTimes[i],
      sequence: this.sequences[i],
    };
  }

  /** Every kept trace in [fromMs, toMs), oldest first. */
  *between(fromMs: number, toMs: number): Generator<StoredTrace> {
    for (let p = this.positionAt(fromMs); p < this.endPosition; p++) {
      const trace = this.at(p);
      if (!trace || trace.timeMs >= toMs) return;
      yield trace;
    }
  }

  private grow(): void {
    const kept = this.end - this.first;
    const capacity = kept * 2 > this.times.length ? this.times.length * 2 : this.times.length;
    const move = <T extends Float64Array | Int32Array | Uint16Array | Float32Array | Uint32Array>(
      array: T,
      make: (n: number) => T,
    ): T => {
      const next = make(capacity);
      next.set(array.subarray(this.first, this.end));
      return next;
    };
    this.times = move(this.times, (n) => new Float64Array(n));
    this.endpoints = move(this.endpoints, (n) => new Int32Array(n));
    this.statuses = move(this.statuses, (n) => new Uint16Array(n));
    this.responseTimes = move(this.responseTimes, (n) => new Float32Array(n));
    this.sequences = move(this.sequences, (n) => new Uint32Array(n));
    this.dropped += this.first;
    this.end = kept;
    this.first = 0;
  }
}
