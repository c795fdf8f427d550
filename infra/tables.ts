/**
 * The DynamoDB tables of `infra/tables.yml` as CreateTable inputs, so that tests and the local
 * sandbox create exactly the tables the deployment creates.
 */
import { readFileSync } from "node:fs";
import type { CreateTableCommandInput } from "@aws-sdk/client-dynamodb";
import { parse } from "yaml";

export const TABLES_FILE = new URL("./tables.yml", import.meta.url);

interface CloudFormationTable {
  Type: string;
  Properties: Record<string, unknown> & {
    AttributeDefinitions: CreateTableCommandInput["AttributeDefinitions"];
    KeySchema: CreateTableCommandInput["KeySchema"];
  };
}

/** Logical ids of the tables (keys of `infra/tables.yml`). */
export type TableId = "StateTable" | "AuditTable";

/** Every table resource of `infra/tables.yml`, by logical id. */
export function tableResources(): Record<string, CloudFormationTable> {
  const doc = parse(readFileSync(TABLES_FILE, "utf8")) as Record<string, CloudFormationTable>;
  for (const [id, resource] of Object.entries(doc)) {
    if (resource?.Type !== "AWS::DynamoDB::Table") {
      throw new Error(`${TABLES_FILE.pathname}: ${id} is not an AWS::DynamoDB::Table`);
    }
  }
  return doc;
}

/**
 * CreateTable inputs for every table, named by `nameOf(logicalId)`. Only the properties that
 * shape the table and its keys carry over; encryption and recovery settings are deployment
 * concerns that CreateTable spells differently.
 */
export function createTableInputs(nameOf: (id: string) => string = (id) => id): CreateTableCommandInput[] {
  return Object.entries(tableResources()).map(([id, { Properties: p }]) => ({
    TableName: nameOf(id),
    AttributeDefinitions: p.AttributeDefinitions,
    KeySchema: p.KeySchema,
    BillingMode: (p.BillingMode as CreateTableCommandInput["BillingMode"]) ?? "PAY_PER_REQUEST",
    GlobalSecondaryIndexes: p.GlobalSecondaryIndexes as CreateTableCommandInput["GlobalSecondaryIndexes"],
    LocalSecondaryIndexes: p.LocalSecondaryIndexes as CreateTableCommandInput["LocalSecondaryIndexes"],
  }));
}
