/** Where an error answer came from. */
export interface ErrorInit {
  status?: number;
  code?: string;
  requestId?: string;
  body?: unknown;
  cause?: unknown;
}

/**
 * A refusal or failure answered by creditd (or a failure to reach it).
 * `status` is the HTTP status (undefined when no answer came), `code` the
 * stable `error.code`, `requestId` the server's `x-request-id`. The class
 * for each code is in codes.ts (generated from the server's list).
 */
export class CreditdError extends Error {
  static readonly CODE: string | undefined = undefined;
  static readonly STATUS: number | undefined = undefined;
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly requestId: string | undefined;
  readonly body: unknown;

  constructor(message: string, init: ErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.status = init.status;
    this.code = init.code ?? (new.target as typeof CreditdError).CODE;
    this.requestId = init.requestId;
    this.body = init.body;
  }
}

/** creditd could not be reached, or the connection broke, every time it was tried. */
export class CreditdConnectionError extends CreditdError {}

/** An answer that is not what the API documents (e.g. a proxy's HTML page). */
export class UnexpectedResponse extends CreditdError {}
