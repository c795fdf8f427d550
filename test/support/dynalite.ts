/**
 * In-memory DynamoDB (dynalite) with the tables of `infra/tables.yml`, for tests of the stores.
 */
export { type LocalDynamo, startLocalDynamo } from "../../sandbox/dynamodb.ts";
