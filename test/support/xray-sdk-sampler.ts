/**
 * aws-xray-sdk-core's own centralized sampler (rule poller, target poller, rule cache and
 * per-second reservoir), pointed at a sandbox as its daemon and run on fake timers, so that a
 * test can drive a real X-Ray client through simulated hours in seconds.
 *
 * The SDK's sampling modules are process-wide singletons: use one per test file (vitest runs
 * each file in its own process).
 */
import http from "node:http";
import { createRequire } from "node:module";
import { vi } from "vitest";
import type { Sandbox } from "../../sandbox/index.ts";
import { SeededRandom } from "../../sandbox/seeded-random.ts";
import type { Endpoint } from "../../shared/domain/formats.ts";
import { requestOf } from "../../shared/domain/sampling.ts";

/** What the SDK's middleware hands its sampler (SDK field names). */
export interface SdkSampleRequest {
  host?: string;
  httpMethod?: string;
  urlPath?: string;
  serviceName?: string;
  serviceType?: string;
}

export interface SdkRule {
  getName(): string;
}

export interface SdkSampler {
  start(): void;
  /** The matched rule's name when sampled, else false. */
  shouldSample(request: SdkSampleRequest): string | false;
  ruleCache: {
    getRules(): SdkRule[];
    getMatchedRule(request: SdkSampleRequest, nowSeconds: number): SdkRule | undefined;
  };
}

export interface SdkUnderTest {
  sampler: SdkSampler;
  /**
   * Moves fake time (and the sandbox's clock) forward a second at a time: `eachSecond` runs at
   * the start of each second, then the SDK's pollers fire and their calls are answered.
   */
  advance(seconds: number, eachSecond?: (second: number) => void): Promise<void>;
  /** Real timers and Math.random again (the SDK's pollers stay stopped). */
  stop(): void;
}

const require = createRequire(import.meta.url);
const SAMPLING = "aws-xray-sdk-core/dist/lib/middleware/sampling";

/** The SDK as an application would run it, on fake timers from `start`, its draws seeded. */
export async function startSdkSampler(
  sandbox: Sandbox,
  options: { start: number; seed: number },
): Promise<SdkUnderTest> {
  vi.useFakeTimers({
    now: options.start,
    toFake: ["Date", "setTimeout", "clearTimeout", "setInterval", "clearInterval"],
  });
  // The fixed-rate decision is Math.random() <= rate: seeded, the run is the same every time.
  const draws = SeededRandom.derive(options.seed, "aws-xray-sdk-core");
  const random = vi.spyOn(Math, "random").mockImplementation(() => draws.next());

  const xray = require("aws-xray-sdk-core") as {
    setDaemonAddress(address: string): void;
    middleware: { sampler: SdkSampler };
  };
  xray.setDaemonAddress(`127.0.0.1:${sandbox.port}`);
  const connector = require(`${SAMPLING}/service_connector.js`) as {
    httpClient: { request: typeof http.request };
  };
  // The pollers call the daemon with real HTTP while their timers are fake: keep track of the
  // calls in flight (without changing them) so that time moves on only once they are answered.
  const inFlight = new Set<Promise<void>>();
  const request = (options: http.RequestOptions, onResponse: (res: http.IncomingMessage) => void) => {
    let done = () => {};
    const finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    inFlight.add(finished);
    void finished.then(() => inFlight.delete(finished));
    const req = http.request(options, (res) => {
      onResponse(res); // the SDK's listeners first, so that ours run after its callback
      res.on("end", done);
      res.on("error", done);
    });
    req.on("error", done);
    return req;
  };
  connector.httpClient = { request: request as typeof http.request };
  const settle = async () => {
    while (inFlight.size > 0) await Promise.all([...inFlight]);
  };

  const sampler = xray.middleware.sampler;
  sampler.start(); // rules at once, then targets every 10 s and rules every 5 minutes
  await settle();
  return {
    sampler,
    async advance(seconds, eachSecond) {
      for (let s = 0; s < seconds; s++) {
        eachSecond?.(s);
        sandbox.runUntil(Date.now() + 1000);
        vi.advanceTimersByTime(1000);
        await settle();
      }
    },
    stop() {
      random.mockRestore();
      vi.useRealTimers();
    },
  };
}

/** The request the SDK's middleware would sample for an endpoint (its route filled in). */
export function sampleRequestOf(
  endpoint: Pick<Endpoint, "service" | "serviceType" | "host" | "method" | "path">,
): SdkSampleRequest {
  const request = requestOf(endpoint);
  return {
    serviceName: request.service,
    serviceType: request.serviceType,
    host: request.host,
    httpMethod: request.method,
    urlPath: request.urlPath,
  };
}
