export { CreditdClient, HOME_NODE_HEADER, Homes, MAX_REMEMBERED_HOMES, newIdempotencyKey, orgOfWrite } from "./client.js";
export type { ClientOptions, Export, ExportQuery, HistoryFilters } from "./client.js";
export { CreditdError, CreditdConnectionError, UnexpectedResponse } from "./base-error.js";
export * from "./codes.js";
export { OPERATIONS } from "./operations.js";
export type { components, operations, paths } from "./schema.js";
export type { Operation, RequestOptions, WriteOptions } from "./spec.js";
export { sign, verifyWebhook, WebhookVerificationError } from "./webhooks.js";
