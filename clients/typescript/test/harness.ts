// The tests' creditd: a real `creditd serve` on a free loopback port, with a
// temporary data directory and a service key from the environment; a fetch
// that checks every answer against openapi.json; loopback helpers.
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, openSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");
export const DOC = JSON.parse(readFileSync(join(ROOT, "openapi.json"), "utf8"));

export interface Live { url: string; key: string; proc: ChildProcess; stop(): Promise<void> }

export function creditdBinary(): string {
  if (process.env.CREDITD_BIN) return process.env.CREDITD_BIN;
  return join(process.env.CARGO_TARGET_DIR ?? join(ROOT, "target"), "debug", "creditd");
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

export async function startCreditd(): Promise<Live> {
  const bin = creditdBinary();
  if (!existsSync(bin)) throw new Error(`no creditd binary at ${bin}: run cargo build -p creditd or set CREDITD_BIN`);
  const dir = mkdtempSync(join(tmpdir(), "creditd-node-"));
  const key = `node-test-service-key-${randomUUID()}`;
  const port = await freePort();
  const log = openSync(join(dir, "server.log"), "w");
  const proc = spawn(bin, ["serve", "--listen", `127.0.0.1:${port}`, "--data-dir", join(dir, "db"), "--webhook-allow-network", "127.0.0.0/8"], {
    env: { ...process.env, CREDITD_SERVICE_KEY: key, RUST_LOG: "warn" },
    stdio: ["ignore", log, log],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/readyz`)).status === 200) break;
    } catch { /* not yet */ }
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill();
      throw new Error(`creditd did not become ready:\n${readFileSync(join(dir, "server.log"), "utf8")}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url, key, proc,
    stop: () => new Promise<void>((r) => { proc.once("exit", () => r()); proc.kill("SIGTERM"); }),
  };
}

// ---- answers against the document -------------------------------------------

const require = createRequire(import.meta.url);
const Ajv2020 = require("ajv/dist/2020").default;
const ajv = new Ajv2020({ strict: false, validateFormats: false });
ajv.addSchema({ $id: "doc", components: DOC.components });

const routes: Array<{ method: string; re: RegExp; op: any }> = [];
for (const [path, ops] of Object.entries<any>(DOC.paths)) {
  const re = new RegExp("^" + path.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{\w+\}/g, "[^/]+") + "$");
  for (const [method, op] of Object.entries(ops)) routes.push({ method: method.toUpperCase(), re, op });
}
routes.sort((a, b) => (a.re.source.match(/\[\^\/\]\+/g) ?? []).length - (b.re.source.match(/\[\^\/\]\+/g) ?? []).length);

/** Throws when an answer does not match openapi.json. */
export function checkAgainstDocument(method: string, path: string, status: number, contentType: string, body: string): void {
  const route = routes.find((r) => r.method === method && r.re.test(path));
  if (!route) throw new Error(`${method} ${path} is not in the document`);
  const r = route.op.responses[String(status)] ?? route.op.responses[`${String(status)[0]}XX`];
  if (!r) throw new Error(`${method} ${path}: status ${status} is not in the document`);
  const schema = r.content?.["application/json"]?.schema;
  if (!schema) return;
  if (!contentType.startsWith("application/json")) throw new Error(`${method} ${path} ${status}: content-type ${contentType}`);
  const ref = schema.$ref ? { $ref: `doc${schema.$ref}` } : schema;
  const validate = ajv.compile(ref);
  if (!validate(JSON.parse(body))) {
    throw new Error(`${method} ${path} ${status} does not match the document: ${ajv.errorsText(validate.errors)}`);
  }
}

export let checkedAnswers = 0;

/** A fetch that checks every JSON answer against the document. */
export const checkedFetch: typeof fetch = async (input, init) => {
  const res = await fetch(input, init);
  const url = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
  const ctype = res.headers.get("content-type") ?? "";
  if (ctype.startsWith("application/json") || res.status >= 400) {
    const text = await res.clone().text();
    checkAgainstDocument(init?.method ?? "GET", url.pathname, res.status, ctype, text);
    checkedAnswers++;
  }
  return res;
};

// ---- loopback helpers -------------------------------------------------------

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((r) => { const parts: Buffer[] = []; req.on("data", (c) => parts.push(c)); req.on("end", () => r(Buffer.concat(parts))); });
}

async function listen(s: Server): Promise<string> {
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

export interface Proxy { url: string; seen: Array<{ method: string; key: string | undefined }>; close(): Promise<void> }

/** Forwards to `upstream`, misbehaving on the first requests: `drop` forwards
 * (creditd applies it) and then closes the connection unanswered; `503`/`429`
 * answer that without forwarding. With `home`, the answers to writes name it
 * in `Creditd-Home-Node`, as a node that forwarded them to their home does. */
export async function faultyProxy(upstream: string, faults: string[], home?: string): Promise<Proxy> {
  const seen: Proxy["seen"] = [];
  const s = createServer(async (req, res) => {
    const body = await readBody(req);
    const key = req.headers["idempotency-key"] as string | undefined;
    seen.push({ method: req.method!, key });
    const fault = faults.shift();
    if (fault === "503" || fault === "429") {
      const payload = JSON.stringify({ error: { code: fault === "503" ? "overloaded" : "too_many_exports", message: "try again" } });
      res.writeHead(Number(fault), { "content-type": "application/json", ...(fault === "429" ? { "retry-after": "0" } : {}) });
      res.end(payload);
      return;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string" && !["host", "connection", "content-length"].includes(k)) headers[k] = v;
    const up = await fetch(upstream + req.url, { method: req.method, headers, body: body.length ? new Uint8Array(body) : undefined });
    const data = Buffer.from(await up.arrayBuffer());
    if (fault === "drop") { req.socket.destroy(); return; }
    const out: Record<string, string> = {};
    up.headers.forEach((v, k) => { if (!["transfer-encoding", "connection", "content-length", "content-encoding"].includes(k)) out[k] = v; });
    if (home !== undefined && req.method !== "GET") out["creditd-home-node"] = home;
    res.writeHead(up.status, out);
    res.end(data);
  });
  const url = await listen(s);
  return { url, seen, close: () => new Promise((r) => { s.closeAllConnections(); s.close(() => r()); }) };
}

export interface Receiver { url: string; got: Array<{ headers: Record<string, string>; body: Buffer }>; first(timeoutMs: number): Promise<Receiver["got"][0]>; close(): Promise<void> }

/** Stores each POST (headers, raw body) and answers 200. */
export async function webhookReceiver(): Promise<Receiver> {
  const got: Receiver["got"] = [];
  const s = createServer(async (req, res) => {
    const body = await readBody(req);
    got.push({ headers: req.headers as Record<string, string>, body });
    res.writeHead(200).end();
  });
  const url = await listen(s);
  return {
    url, got,
    async first(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (got.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      if (!got.length) throw new Error(`no delivery within ${timeoutMs} ms`);
      return got[0];
    },
    close: () => new Promise((r) => { s.closeAllConnections(); s.close(() => r()); }),
  };
}
