/**
 * A local SSM Parameter Store for tests: GetParameter over SSM's awsJson1_1 wire protocol
 * (POST / with `X-Amz-Target: AmazonSSM.GetParameter`) on a random localhost port, so the
 * real SDK client (through Powertools parameters) reads the config as in Lambda. The sandbox
 * emulates X-Ray and CloudWatch only; this is the one SSM call the tuner makes, and node:http
 * is enough for it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface LocalParameterStore {
  endpoint: string;
  /** Sets (or replaces) a String parameter. */
  put(name: string, value: string): void;
  /** GetParameter calls received. */
  reads: number;
  stop(): Promise<void>;
}

export async function startParameterStore(region = "us-east-1"): Promise<LocalParameterStore> {
  const values = new Map<string, { value: string; version: number; modified: number }>();
  const store: LocalParameterStore = {
    endpoint: "",
    reads: 0,
    put(name, value) {
      const version = (values.get(name)?.version ?? 0) + 1;
      values.set(name, { value, version, modified: Date.now() / 1000 });
    },
    stop: async () => {},
  };
  const server = createServer((req, res) => {
    void answer(req, res);
  });
  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const target = req.headers["x-amz-target"];
    if (target !== "AmazonSSM.GetParameter") {
      return reply(res, 400, { __type: "UnknownOperationException", message: `unknown operation ${target}` });
    }
    store.reads++;
    const { Name } = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as { Name?: string };
    const found = Name === undefined ? undefined : values.get(Name);
    if (!Name || !found) return reply(res, 400, { __type: "ParameterNotFound", message: "" });
    reply(res, 200, {
      Parameter: {
        Name,
        Type: "String",
        Value: found.value,
        Version: found.version,
        LastModifiedDate: found.modified,
        ARN: `arn:aws:ssm:${region}:000000000000:parameter/${Name.replace(/^\//, "")}`,
        DataType: "text",
      },
    });
  }
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  store.endpoint = `http://127.0.0.1:${port}`;
  store.stop = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return store;
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/x-amz-json-1.1",
    "content-length": Buffer.byteLength(text),
    "x-amzn-requestid": crypto.randomUUID(),
  });
  res.end(text);
}
