/**
 * The governor's state in DynamoDB (the StateTable of `infra/tables.yml`): one item per kind of
 * state, each with a version that every write checks, so two runs at once cannot both apply
 * their change (one of them re-reads and tries again).
 *
 * Month-to-date traces recorded live here: each run adds the sampling statistic windows it
 * read, by the rule in `shared/domain/month-to-date.ts`, so pacing survives restarts and
 * missed runs, and no window is counted twice.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import {
  type Accumulation,
  accumulateWindows,
  type MonthToDateState,
  monthToDateOf,
  type StatisticWindow,
} from "../domain/month-to-date.ts";
import { documentClient } from "./dynamodb-documents.ts";

export const MONTH_TO_DATE_KEY = "month-to-date";

/** A stored state document and the version to pass back when writing it. */
export interface Versioned<T> {
  value: T;
  version: number;
}

/** Another run wrote the same state in between; read it again and redo the change. */
export class StateConflictError extends Error {
  constructor(readonly key: string) {
    super(`state ${key} was changed by another run at the same time`);
    this.name = "StateConflictError";
  }
}

/** How many times a read-modify-write is redone when another run wrote in between. */
const MAX_CONFLICT_RETRIES = 5;

export class StateStore {
  private readonly documents: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.documents = documentClient(client);
  }

  async read<T>(key: string): Promise<Versioned<T> | undefined> {
    const { Item } = await this.documents.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: key }, ConsistentRead: true }),
    );
    if (!Item) return undefined;
    return { value: Item.value as T, version: Item.version as number };
  }

  /**
   * Writes `value` if the stored version is still `expectedVersion` (undefined: if there is
   * none yet); throws {@link StateConflictError} otherwise. Returns the new version.
   */
  async write<T>(key: string, value: T, expectedVersion: number | undefined): Promise<number> {
    const version = (expectedVersion ?? 0) + 1;
    try {
      await this.documents.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: key, version, value },
          ...(expectedVersion === undefined
            ? { ConditionExpression: "attribute_not_exists(pk)" }
            : {
                ConditionExpression: "version = :expected",
                ExpressionAttributeValues: { ":expected": expectedVersion },
              }),
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new StateConflictError(key);
      throw error;
    }
    return version;
  }

  /**
   * Reads the state, applies `change`, writes it back; redoes all three when another run
   * wrote in between. A read-modify-write under optimistic locking, which the SDK's retry
   * (for transport errors) does not cover, hence the loop.
   */
  async update<T, R>(key: string, change: (current: T | undefined) => { value: T; result: R }): Promise<R> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.read<T>(key);
      const { value, result } = change(current?.value);
      try {
        await this.write(key, value, current?.version);
        return result;
      } catch (error) {
        if (!(error instanceof StateConflictError) || attempt >= MAX_CONFLICT_RETRIES) throw error;
      }
    }
  }

  async readMonthToDate(): Promise<MonthToDateState | undefined> {
    return (await this.read<MonthToDateState>(MONTH_TO_DATE_KEY))?.value;
  }

  /** Adds the statistic windows not counted yet to the month-to-date total. */
  async recordStatistics(
    windows: readonly StatisticWindow[],
    now: Date,
    windowSeconds?: number,
  ): Promise<Accumulation> {
    return this.update<MonthToDateState, Accumulation>(MONTH_TO_DATE_KEY, (current) => {
      const accumulation = accumulateWindows(current, windows, { now, windowSeconds });
      return { value: accumulation.state, result: accumulation };
    });
  }

  /** The snapshot's `monthToDate` as of `now` (undefined when the governor has not counted yet). */
  async monthToDate(now: Date): Promise<{ tracesRecorded: number; since: string } | undefined> {
    return monthToDateOf(await this.readMonthToDate(), now);
  }
}
