import { randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { rename, rm, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";

import { CreditdConnectionError, CreditdError, UnexpectedResponse } from "./base-error.js";
import { ERRORS_BY_CODE } from "./codes.js";
import { Operations } from "./operations.js";
import type { components, operations } from "./schema.js";
import type { Operation, RequestOptions, WriteOptions } from "./spec.js";

type S = components["schemas"];

/** How a client reaches creditd and how hard it tries. */
export interface ClientOptions {
  /** Default: `CREDITD_URL`, else http://127.0.0.1:8080. */
  baseUrl?: string;
  /** Default: `CREDITD_API_KEY`. */
  apiKey?: string;
  /** Retries after the first try (default 3). */
  maxRetries?: number;
  /** First back-off in ms (default 250), doubled each retry up to `maxBackoffMs` (8000), with jitter. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Per-try time limit in ms (default 30000). */
  timeoutMs?: number;
  /** A fetch to use instead of the global one (Node 18+). */
  fetch?: typeof fetch;
  /**
   * The deployment's other nodes (their own URLs), when several nodes share
   * one PostgreSQL database: an organisation's writes go to the node an
   * answer names as its home (`Creditd-Home-Node`), and back to `baseUrl`
   * when it fails. A URL not listed here is never followed.
   */
  nodes?: string[];
}

/** Query filters of the history and the export. */
export type HistoryFilters = Omit<NonNullable<operations["listCreditEvents"]["parameters"]["query"]>, "limit" | "offset" | "cursor">;
export type ExportQuery = NonNullable<operations["exportCreditEvents"]["parameters"]["query"]>;

/** A finished download. */
export interface Export {
  path: string | undefined;
  filename: string | undefined;
  bytes: number;
  contentType: string;
}

const RETRY_STATUSES = new Set([429, 500, 502, 503, 504]);
/** The answer header that names an organisation's home node. */
export const HOME_NODE_HEADER = "creditd-home-node";
/** Most organisations whose home node a client remembers; past it, it starts over. */
export const MAX_REMEMBERED_HOMES = 10_000;

/** A node URL's identity (origin and path without a trailing `/`), or undefined if not an http(s) URL. */
function nodeKey(url: string): string | undefined {
  try {
    const u = new URL(url.trim());
    if ((u.protocol !== "http:" && u.protocol !== "https:") || !u.hostname) return undefined;
    return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, "")}`;
  } catch {
    return undefined;
  }
}

/** The organisation a write is for, when an org's home node takes it. */
export function orgOfWrite(op: Operation, path: Record<string, string>): string | undefined {
  if (op.method === "GET" || !op.path.startsWith("/api/organizations/{org_id}")) return undefined;
  return path.org_id || undefined;
}

/** Where each organisation's writes go: a listed node an answer named, else the base URL. */
export class Homes {
  readonly #nodes = new Map<string, string>();
  readonly #byOrg = new Map<string, string>();

  constructor(nodes: string[] = []) {
    for (const n of nodes) {
      const key = nodeKey(n);
      if (key === undefined) throw new TypeError(`node ${JSON.stringify(n)} is not an http(s) URL with a host`);
      this.#nodes.set(key, n.trim().replace(/\/+$/, ""));
    }
  }

  get size(): number {
    return this.#byOrg.size;
  }

  of(org: string | undefined): string | undefined {
    return org === undefined ? undefined : this.#byOrg.get(org);
  }

  /** Takes an answer's header: a listed node is remembered; anything else named is forgotten. */
  learn(org: string | undefined, named: string | null): void {
    if (org === undefined || this.#nodes.size === 0 || named === null) return;
    const key = nodeKey(named);
    const node = key === undefined ? undefined : this.#nodes.get(key);
    if (node === undefined) {
      this.#byOrg.delete(org);
      return;
    }
    if (this.#byOrg.size >= MAX_REMEMBERED_HOMES && !this.#byOrg.has(org)) this.#byOrg.clear();
    this.#byOrg.set(org, node);
  }

  forget(org: string | undefined): void {
    if (org !== undefined) this.#byOrg.delete(org);
  }
}
const MAX_RETRY_AFTER_MS = 60_000;
const EXPORT: Operation = { id: "exportCreditEvents", method: "GET", path: "/api/organizations/{org_id}/credit-events/export", idempotent: false };

/** A fresh key for one logical write (a random UUID). */
export function newIdempotencyKey(): string {
  return randomUUID();
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => { clearTimeout(t); reject(signal.reason); }, { once: true });
  });
}

/** Whether a request that may have reached the server can be sent again (see README). */
function mayResend(op: Operation): boolean {
  return op.method === "GET" || op.method === "PUT" || op.idempotent;
}

function notConnected(e: unknown): boolean {
  const code = (e as { cause?: { code?: string } })?.cause?.code;
  return code === "ECONNREFUSED" || code === "UND_ERR_CONNECT_TIMEOUT" || code === "ENOTFOUND";
}

function queryString(query: object | undefined): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v === undefined || v === null) continue;
    for (const one of Array.isArray(v) ? v : [v]) p.append(k, String(one));
  }
  const s = p.toString();
  return s ? `?${s}` : "";
}

function filenameOf(disposition: string | null): string | undefined {
  const m = disposition?.match(/filename="([^"]+)"/) ?? disposition?.match(/filename=([^;]+)/);
  const name = m ? basename(m[1].trim().replace(/\\/g, "/")) : undefined;
  return name || undefined;
}

async function errorFrom(res: Response): Promise<CreditdError> {
  const requestId = res.headers.get("x-request-id") ?? undefined;
  const text = await res.text();
  try {
    const body = JSON.parse(text);
    const { code, message } = body.error;
    if (typeof code !== "string" || typeof message !== "string") throw new Error("not the error shape");
    const Cls = ERRORS_BY_CODE[code] ?? CreditdError;
    return new Cls(message, { status: res.status, code, requestId, body });
  } catch {
    return new UnexpectedResponse(`HTTP ${res.status} without the API's error shape: ${text.slice(0, 200)}`, { status: res.status, requestId });
  }
}

/**
 * The creditd client: one method per operation of the document (generated
 * in operations.ts), plus `iterCreditEvents`, `exportCreditEvents`. Every
 * write sends an `Idempotency-Key` and retries reuse it.
 */
export class CreditdClient extends Operations {
  readonly baseUrl: string;
  readonly maxRetries: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  readonly timeoutMs: number;
  readonly #key: string;
  readonly #fetch: typeof fetch;
  /** Each organisation's home node, learnt from answers (see `ClientOptions.nodes`). */
  readonly homes: Homes;

  constructor(options: ClientOptions = {}) {
    super();
    const key = options.apiKey ?? process.env.CREDITD_API_KEY;
    if (!key) throw new Error("an API key is required: pass apiKey or set CREDITD_API_KEY");
    this.#key = key;
    this.baseUrl = (options.baseUrl ?? process.env.CREDITD_URL ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
    this.maxRetries = options.maxRetries ?? 3;
    this.backoffMs = options.backoffMs ?? 250;
    this.maxBackoffMs = options.maxBackoffMs ?? 8000;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.homes = new Homes(options.nodes);
  }

  #delay(attempt: number, retryAfter: string | null): number {
    if (retryAfter !== null && /^\d+(\.\d+)?$/.test(retryAfter.trim())) {
      return Math.min(Number(retryAfter) * 1000, MAX_RETRY_AFTER_MS);
    }
    const full = Math.min(this.maxBackoffMs, this.backoffMs * 2 ** attempt);
    return full * (0.5 + Math.random() / 2);
  }

  /** Sends with retries; resolves to a 2xx response (body unread). */
  async send(op: Operation, path: Record<string, string>, query: object | undefined, body: unknown, options?: WriteOptions): Promise<Response> {
    const rel = op.path.replace(/\{(\w+)\}/g, (_, name: string) => {
      const v = path[name];
      if (v === undefined || v === "") throw new TypeError(`${op.id}: ${name} is required`);
      return encodeURIComponent(v);
    }) + queryString(query);
    const headers: Record<string, string> = { authorization: `Bearer ${this.#key}`, accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    // Every write carries a key; every retry below reuses it.
    if (op.method !== "GET") headers["idempotency-key"] = options?.idempotencyKey ?? newIdempotencyKey();
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const org = orgOfWrite(op, path);
    // A home that refuses the connection sends the request straight on to the base URL, once per call.
    let fellBack = false;
    for (let attempt = 0; ; attempt++) {
      const home = this.homes.of(org);
      const url = (home ?? this.baseUrl) + rel;
      let res: Response;
      try {
        // The caller's signal or the per-try time limit (AbortSignal.any is not in Node 18).
        const ctl = new AbortController();
        const timer = setTimeout(() => ctl.abort(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
        const onAbort = () => ctl.abort(options?.signal?.reason);
        options?.signal?.addEventListener("abort", onAbort, { once: true });
        try {
          res = await this.#fetch(url, { method: op.method, headers, body: payload, signal: ctl.signal });
        } finally {
          clearTimeout(timer);
          options?.signal?.removeEventListener("abort", onAbort);
        }
      } catch (e) {
        if (options?.signal?.aborted) throw e;
        if (home !== undefined) {
          this.homes.forget(org);
          // It never left the home: straight on to the base URL.
          if (notConnected(e) && !fellBack) { fellBack = true; attempt--; continue; }
        }
        if (attempt >= this.maxRetries || !(notConnected(e) || mayResend(op))) {
          throw new CreditdConnectionError(`${op.id}: ${(e as Error).message}${(e as { cause?: Error }).cause ? `: ${(e as { cause: Error }).cause.message}` : ""}`, { cause: e });
        }
        await sleep(this.#delay(attempt, null), options?.signal);
        continue;
      }
      if (home !== undefined && RETRY_STATUSES.has(res.status)) this.homes.forget(org);
      else this.homes.learn(org, res.headers.get(HOME_NODE_HEADER));
      if (res.ok) return res;
      if (attempt >= this.maxRetries || !RETRY_STATUSES.has(res.status)) throw await errorFrom(res);
      await res.body?.cancel();
      await sleep(this.#delay(attempt, res.headers.get("retry-after")), options?.signal);
    }
  }

  protected async call<T>(op: Operation, path: Record<string, string>, query: object | undefined, body: unknown, options: WriteOptions | undefined): Promise<T> {
    const res = await this.send(op, path, query, body, options);
    const text = await res.text();
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new UnexpectedResponse(`${op.id}: the answer is not JSON: ${text.slice(0, 200)}`, { status: res.status, requestId: res.headers.get("x-request-id") ?? undefined });
    }
  }

  /** The history's pages, newest first, following `next_cursor` to the last one. */
  async *iterCreditEventPages(orgId: string, filters: HistoryFilters = {}, pageSize = 100, options?: RequestOptions): AsyncGenerator<S["Page"]> {
    let cursor: string | undefined;
    for (;;) {
      // Every field of each event (not seed 001's `fields=events`): a Page.
      const page = (await this.listCreditEvents(orgId, { ...filters, fields: "all", limit: pageSize, cursor }, options)) as S["Page"];
      yield page;
      if (!page.next_cursor || page.events.length === 0) return;
      cursor = page.next_cursor;
    }
  }

  /** Every event matching the filters, newest first (`for await (const e of ...)`). */
  async *iterCreditEvents(orgId: string, filters: HistoryFilters = {}, pageSize = 100, options?: RequestOptions): AsyncGenerator<S["Event"]> {
    for await (const page of this.iterCreditEventPages(orgId, filters, pageSize, options)) yield* page.events;
  }

  /**
   * Streams `GET …/credit-events/export` to `dest`: a file path (written as
   * `<path>.part`, renamed when complete), an existing directory (the
   * server's file name is used) or a Writable.
   */
  async exportCreditEvents(orgId: string, dest: string | Writable, query: ExportQuery = {}, options?: RequestOptions): Promise<Export> {
    const res = await this.send(EXPORT, { org_id: orgId }, { format: "csv", ...query }, undefined, options);
    const filename = filenameOf(res.headers.get("content-disposition"));
    const contentType = res.headers.get("content-type") ?? "";
    if (!res.body) throw new UnexpectedResponse("exportCreditEvents: an answer without a body", { status: res.status });
    let bytes = 0;
    const body = Readable.fromWeb(res.body as import("node:stream/web").ReadableStream<Uint8Array>);
    const count = async function* (src: AsyncIterable<Buffer>) {
      for await (const chunk of src) {
        bytes += chunk.length;
        yield chunk;
      }
    };
    try {
      if (typeof dest !== "string") {
        await pipeline(body, count, dest, { end: false });
        return { path: undefined, filename, bytes, contentType };
      }
      const isDir = await stat(dest).then((s) => s.isDirectory(), () => false);
      const target = isDir ? join(dest, filename ?? `credit-history.${query.format ?? "csv"}`) : dest;
      const part = `${target}.part`;
      try {
        await pipeline(body, count, createWriteStream(part));
        await rename(part, target);
      } catch (e) {
        await rm(part, { force: true });
        throw e;
      }
      return { path: target, filename, bytes, contentType };
    } catch (e) {
      if (e instanceof CreditdError) throw e;
      throw new CreditdConnectionError(`exportCreditEvents: the download broke: ${(e as Error).message}`, { cause: e });
    }
  }
}
