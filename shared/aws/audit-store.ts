/**
 * Audit records of applied change sets in DynamoDB (the AuditTable of `infra/tables.yml`):
 * one item per change set, listed most recent first, fetched by id.
 */
import { randomBytes } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { AuditRecord, NewAuditRecord } from "../domain/audit.ts";
import type { SamplingRule } from "../domain/formats.ts";
import { documentClient } from "./dynamodb-documents.ts";

const PARTITION = "audit";

/** Rule lists above this many bytes of JSON are stored gzipped, to stay far below DynamoDB's 400 KB item limit. */
const INLINE_RULES_MAX_BYTES = 100_000;

/** `20261117T101500Z-a1b2c3`: the time first, so ids sort by time, then randomness against collisions. */
export const AUDIT_ID_PATTERN = /^\d{8}T\d{6}Z-[0-9a-f]{6}$/;

export function newAuditId(at: Date): string {
  const time = at
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
  return `${time}-${randomBytes(3).toString("hex")}`;
}

export class AuditStore {
  private readonly documents: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.documents = documentClient(client);
  }

  /** Stores a new record and returns it with its id. */
  async record(entry: NewAuditRecord): Promise<AuditRecord> {
    const at = entry.at ? new Date(entry.at) : this.clock();
    const record: AuditRecord = { ...entry, id: newAuditId(at), at: at.toISOString() };
    const { before, after, ...rest } = record;
    await this.documents.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: PARTITION, ...rest, ...encodeRules("before", before), ...encodeRules("after", after) },
        ConditionExpression: "attribute_not_exists(id)",
      }),
    );
    return record;
  }

  /** The record with this id, or undefined when there is none (or the id is not an audit id). */
  async get(id: string): Promise<AuditRecord | undefined> {
    if (!AUDIT_ID_PATTERN.test(id)) return undefined;
    const { Item } = await this.documents.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: PARTITION, id }, ConsistentRead: true }),
    );
    return Item ? decodeRecord(Item) : undefined;
  }

  /** The most recent records, newest first. */
  async listRecent(limit = 20): Promise<AuditRecord[]> {
    const out: AuditRecord[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.documents.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "pk = :pk",
          ExpressionAttributeValues: { ":pk": PARTITION },
          ScanIndexForward: false,
          Limit: limit - out.length,
          ExclusiveStartKey,
        }),
      );
      out.push(...(page.Items ?? []).map(decodeRecord));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey && out.length < limit);
    return out;
  }
}

function encodeRules(field: "before" | "after", rules: SamplingRule[]): Record<string, unknown> {
  const json = JSON.stringify(rules);
  if (Buffer.byteLength(json) <= INLINE_RULES_MAX_BYTES) return { [field]: rules };
  return { [`${field}Gzip`]: gzipSync(json) };
}

function decodeRules(item: Record<string, unknown>, field: "before" | "after"): SamplingRule[] {
  const gz = item[`${field}Gzip`];
  if (gz instanceof Uint8Array) return JSON.parse(gunzipSync(gz).toString("utf8")) as SamplingRule[];
  return (item[field] as SamplingRule[] | undefined) ?? [];
}

function decodeRecord(item: Record<string, unknown>): AuditRecord {
  const { pk: _pk, before: _b, after: _a, beforeGzip: _bg, afterGzip: _ag, ...rest } = item;
  return {
    ...(rest as Omit<AuditRecord, "before" | "after">),
    before: decodeRules(item, "before"),
    after: decodeRules(item, "after"),
  };
}
