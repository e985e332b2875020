/** One operation of openapi.json (the table is `OPERATIONS` in operations.ts). */
export interface Operation {
  readonly id: string;
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  readonly path: string;
  /** The operation takes an `Idempotency-Key`: a retry gets the first answer. */
  readonly idempotent: boolean;
}

/** Per-call options of a read. */
export interface RequestOptions {
  /** Cancels the call (and its retries). */
  signal?: AbortSignal;
}

/** Per-call options of a write. */
export interface WriteOptions extends RequestOptions {
  /** The write's key; a fresh UUID when absent. Every retry of the call sends the same one. */
  idempotencyKey?: string;
}
