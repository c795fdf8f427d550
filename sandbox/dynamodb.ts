/**
 * DynamoDB for the sandbox: dynalite in memory on a random localhost port, with the tables of
 * `infra/tables.yml` created, so the stores run against the same table shapes as deployed.
 * Used by tests and by CLI commands run against the embedded sandbox. dynalite is a dev
 * dependency: it is imported only when this starts.
 */
import type { AddressInfo } from "node:net";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createTableInputs, type TableId } from "../infra/tables.ts";

export interface LocalDynamo {
  endpoint: string;
  client: DynamoDBClient;
  /** Table names by logical id. */
  tables: Record<TableId, string>;
  stop(): Promise<void>;
}

export async function startLocalDynamo(options: { tablePrefix?: string } = {}): Promise<LocalDynamo> {
  const prefix = options.tablePrefix ?? "sandbox-";
  const { default: dynalite } = await import("dynalite");
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "sandbox", secretAccessKey: "sandbox" },
  });
  const tables = {} as Record<TableId, string>;
  for (const input of createTableInputs((id) => `${prefix}${id}`)) {
    await client.send(new CreateTableCommand(input));
    tables[input.TableName!.slice(prefix.length) as TableId] = input.TableName!;
  }
  return {
    endpoint,
    client,
    tables,
    async stop() {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
