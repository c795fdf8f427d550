/**
 * The sandbox's HTTP front: one local port that speaks X-Ray's restJson1 (POST /<Operation
 * path>) and CloudWatch's awsJson1_0 (POST / with `X-Amz-Target:
 * GraniteServiceVersion20100801.<Operation>`), as the real SDK v3 clients send them. Requests
 * are not signature-checked. Faults are injected here, before an operation runs.
 *
 * node:http is enough for this: two routing rules and JSON bodies, no framework needed.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { FaultInjector } from "./faults.ts";
import { ServiceError } from "./service-error.ts";

export type OperationHandler = (body: unknown) => unknown;

export interface Operation {
  name: string;
  handle: OperationHandler;
}

export interface SandboxRoutes {
  /** X-Ray operations by request path. */
  xray: Record<string, Operation>;
  /** CloudWatch operations by name (the part of X-Amz-Target after the dot). */
  cloudwatch: Record<string, Operation>;
}

export const CLOUDWATCH_TARGET_PREFIX = "GraniteServiceVersion20100801.";
const CLOUDWATCH_NAMESPACE = "com.amazonaws.cloudwatch";

/** Calls per operation name, counted as they arrive (faulted ones included). */
export type CallCounts = Record<string, number>;

export interface SandboxHttpServer {
  server: Server;
  endpoint: string;
  port: number;
  calls: CallCounts;
  close(): Promise<void>;
}

export async function startHttpServer(options: {
  port: number;
  host: string;
  routes: SandboxRoutes;
  faults: FaultInjector;
}): Promise<SandboxHttpServer> {
  const calls: CallCounts = {};
  const server = createServer((req, res) => {
    handleRequest(req, res, options.routes, options.faults, calls).catch((error: unknown) => {
      if (!res.headersSent) writeJson(res, 500, { Message: `sandbox failure: ${String(error)}` });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    endpoint: `http://${options.host}:${port}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handleRequest(
  req: IncomingMessage,
  res: ServerResponse,
  routes: SandboxRoutes,
  faults: FaultInjector,
  calls: CallCounts,
): Promise<void> {
  const raw = await readBody(req);
  const target = header(req, "x-amz-target");
  const protocol: "xray" | "cloudwatch" = target !== undefined ? "cloudwatch" : "xray";
  const path = (req.url ?? "/").split("?")[0];
  let operation: Operation | undefined;
  if (protocol === "cloudwatch") {
    operation = target?.startsWith(CLOUDWATCH_TARGET_PREFIX)
      ? routes.cloudwatch[target.slice(CLOUDWATCH_TARGET_PREFIX.length)]
      : undefined;
  } else {
    operation = routes.xray[path];
  }
  if (req.method !== "POST" || !operation) {
    const name = protocol === "cloudwatch" ? (target ?? "") : `${req.method} ${path}`;
    writeError(
      res,
      protocol,
      new ServiceError("UnknownOperationException", 404, `Unknown operation ${name}`),
    );
    return;
  }
  calls[operation.name] = (calls[operation.name] ?? 0) + 1;

  const fault = faults.decide(operation.name);
  if (fault.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, fault.latencyMs));
  if (fault.kind === "drop") {
    req.socket.destroy();
    return;
  }
  if (fault.kind === "throttle") {
    writeError(
      res,
      protocol,
      protocol === "xray"
        ? new ServiceError("ThrottledException", 429, "Rate exceeded")
        : new ServiceError("Throttling", 400, "Rate exceeded"),
    );
    return;
  }
  if (fault.kind === "server-error") {
    writeError(res, protocol, new ServiceError("ServiceUnavailable", 503, "Service unavailable, try again"));
    return;
  }

  let body: unknown;
  try {
    body = raw.length === 0 ? {} : JSON.parse(raw);
  } catch {
    writeError(
      res,
      protocol,
      new ServiceError("SerializationException", 400, "The request body is not valid JSON"),
    );
    return;
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    writeError(
      res,
      protocol,
      new ServiceError("SerializationException", 400, "The request body must be a JSON object"),
    );
    return;
  }
  try {
    const output = operation.handle(body);
    writeJson(res, 200, output ?? {}, protocol === "cloudwatch" ? "application/x-amz-json-1.0" : undefined);
  } catch (error) {
    if (error instanceof ServiceError) writeError(res, protocol, error);
    else throw error;
  }
}

/** The query-protocol error code CloudWatch's JSON protocol also reports (`x-amzn-query-error`). */
const CLOUDWATCH_QUERY_CODES: Record<string, string> = {
  InvalidParameterValueException: "InvalidParameterValue",
  InvalidParameterCombinationException: "InvalidParameterCombination",
  MissingRequiredParameterException: "MissingParameter",
  InvalidNextToken: "InvalidNextToken",
  LimitExceededException: "LimitExceededException",
  Throttling: "Throttling",
  ServiceUnavailable: "ServiceUnavailable",
};

function writeError(res: ServerResponse, protocol: "xray" | "cloudwatch", error: ServiceError): void {
  if (protocol === "xray") {
    res.setHeader("x-amzn-errortype", error.code);
    writeJson(res, error.status, { ...error.members, Message: error.message });
    return;
  }
  const queryCode = CLOUDWATCH_QUERY_CODES[error.code] ?? error.code;
  res.setHeader("x-amzn-query-error", `${queryCode};${error.status >= 500 ? "Receiver" : "Sender"}`);
  const modeled =
    error.code !== "Throttling" &&
    error.code !== "ServiceUnavailable" &&
    error.code in CLOUDWATCH_QUERY_CODES;
  writeJson(
    res,
    error.status,
    {
      ...error.members,
      __type: modeled ? `${CLOUDWATCH_NAMESPACE}#${error.code}` : error.code,
      message: error.message,
    },
    "application/x-amz-json-1.0",
  );
}

function writeJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  contentType = "application/json",
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": contentType,
    "content-length": Buffer.byteLength(text),
    "x-amzn-requestid": crypto.randomUUID(),
  });
  res.end(text);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
