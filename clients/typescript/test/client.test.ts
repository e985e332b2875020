import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, before, test } from "node:test";

import * as creditd from "../src/index.js";
import { CreditdClient, CreditdError, ERRORS_BY_CODE, OPERATIONS, sign, verifyWebhook, WebhookVerificationError } from "../src/index.js";
import { checkAgainstDocument, checkedFetch, DOC, faultyProxy, ROOT, startCreditd, webhookReceiver, type Live } from "./harness.js";

let live: Live;
let client: CreditdClient;

before(async () => {
  live = await startCreditd();
  client = new CreditdClient({ baseUrl: live.url, apiKey: live.key, fetch: checkedFetch, backoffMs: 10 });
});
after(async () => { await live.stop(); });

async function newOrg(): Promise<string> {
  const id = `org-${randomUUID().slice(0, 12)}`;
  await client.createOrganization({ id, name: `Test ${id}`, time_zone: "Europe/Madrid" });
  return id;
}

test("grant, hold, debit and release", async () => {
  const org = await newOrg();
  const g = await client.grantCredits(org, { kind: "grant", amount: "100", description: "Welcome" });
  assert.equal(g.balance.available, 100);
  const h = await client.createHold(org, { amount: "30.5", user_email: "ana@acme.example", service: "AI" });
  assert.match(h.hold!.id, /^hold_/);
  assert.equal(h.balance.held, 30.5);
  const d = await client.debitHold(org, h.hold!.id, { amount: "12.25" });
  assert.equal(d.balance.available, 87.75);
  const h2 = await client.createHold(org, { amount: 1 });
  await client.releaseHold(org, h2.hold!.id);
  assert.equal((await client.getBalance(org)).available, 87.75);
});

test("errors are classes by code", async () => {
  const org = await newOrg();
  await client.grantCredits(org, { kind: "grant", amount: 10 });
  const e = await client.createHold(org, { amount: 11 }).catch((x) => x);
  assert.ok(e instanceof creditd.InsufficientCredits && e instanceof CreditdError);
  assert.equal(e.status, 409);
  assert.equal(e.code, "insufficient_credits");
  assert.ok(e.requestId && e.message.includes("insufficient"));
  const h = await client.createHold(org, { amount: 1 });
  await client.debitHold(org, h.hold!.id);
  await assert.rejects(client.debitHold(org, h.hold!.id), creditd.HoldAlreadySettled);
  await assert.rejects(client.releaseHold(org, "hold_999999"), creditd.HoldNotFound);
  await assert.rejects(client.createHold(org, { amount: "1.0000001" }), creditd.ValidationError);
  await assert.rejects(client.getBalance(`nope-${org}`), creditd.NotFound);
  await assert.rejects(client.createOrganization({ id: org, name: "again" }), creditd.AlreadyExists);
  await client.addMember(org, { email: "mia@acme.example", name: "Mia", role: "owner" });
  await client.setCap(org, { member: "mia@acme.example", limit: 2 });
  await assert.rejects(client.recordUsage(org, { amount: 3, user_email: "mia@acme.example" }), creditd.CapExceeded);
  const bad = new CreditdClient({ baseUrl: live.url, apiKey: "not-a-key-at-all-xxxx", fetch: checkedFetch });
  await assert.rejects(bad.listApiKeys(), (x: unknown) => x instanceof creditd.Unauthorized && x.status === 401);
});

test("one class per code of the server's list, one method per JSON operation", () => {
  const text = readFileSync(join(ROOT, "crates/creditd-core/src/error.rs"), "utf8");
  const codes = [...text.matchAll(/^\s+\w+ = "(\w+)", \d{3};/gm)].map((m) => m[1]).sort();
  assert.ok(codes.length > 20);
  assert.deepEqual(Object.keys(ERRORS_BY_CODE).sort(), codes);
  for (const [code, Cls] of Object.entries(ERRORS_BY_CODE)) assert.equal(Cls.CODE, code);
  for (const [path, ops] of Object.entries<any>(DOC.paths)) {
    for (const op of Object.values<any>(ops)) {
      const ok = op.responses["201"] ?? op.responses["200"];
      if (op.tags.includes("dashboard") || Object.keys(ok.content ?? {}).join() !== "application/json") continue;
      assert.equal(typeof (client as any)[op.operationId], "function", op.operationId);
      assert.equal((OPERATIONS as any)[op.operationId].path, path);
    }
  }
});

test("every write sends an Idempotency-Key; a reused key replays", async () => {
  const org = await newOrg();
  const keys: Array<[string, string | null]> = [];
  const spy: typeof fetch = (input, init) => {
    keys.push([init?.method ?? "GET", new Headers(init?.headers).get("idempotency-key")]);
    return checkedFetch(input, init);
  };
  const c = new CreditdClient({ baseUrl: live.url, apiKey: live.key, fetch: spy });
  await c.grantCredits(org, { kind: "grant", amount: 5 });
  await c.grantCredits(org, { kind: "grant", amount: 5 }, { idempotencyKey: "mine-1" });
  const again = await c.grantCredits(org, { kind: "grant", amount: 5 }, { idempotencyKey: "mine-1" });
  assert.equal(again.balance.available, 10);
  await assert.rejects(c.grantCredits(org, { kind: "grant", amount: 6 }, { idempotencyKey: "mine-1" }), creditd.IdempotencyConflict);
  await c.getBalance(org);
  assert.match(keys[0][1]!, /^[0-9a-f-]{36}$/);
  assert.deepEqual(keys.slice(1, 4).map((k) => k[1]), ["mine-1", "mine-1", "mine-1"]);
  assert.deepEqual(keys[4], ["GET", null]);
});

test("a lost answer is retried with the same key and applied once", async () => {
  const org = await newOrg();
  const p = await faultyProxy(live.url, ["drop"]);
  try {
    const c = new CreditdClient({ baseUrl: p.url, apiKey: live.key, backoffMs: 10 });
    const r = await c.grantCredits(org, { kind: "grant", amount: 100 });
    assert.equal(r.balance.available, 100);
    assert.equal((await c.getBalance(org)).available, 100);
  } finally { await p.close(); }
  const posts = p.seen.filter((s) => s.method === "POST");
  assert.equal(posts.length, 2);
  assert.ok(posts[0].key && posts[0].key === posts[1].key);
});

test("503 and 429 are retried with the same key", async () => {
  const org = await newOrg();
  const p = await faultyProxy(live.url, ["503", "429"]);
  try {
    const c = new CreditdClient({ baseUrl: p.url, apiKey: live.key, backoffMs: 10 });
    const r = await c.grantCredits(org, { kind: "grant", amount: 7 }, { idempotencyKey: "given" });
    assert.equal(r.balance.available, 7);
  } finally { await p.close(); }
  assert.deepEqual(p.seen.map((s) => s.key), ["given", "given", "given"]);
  assert.equal((await client.getBalance(org)).available, 7);
});

test("retries give up with the last error", async () => {
  const org = await newOrg();
  const p = await faultyProxy(live.url, ["503", "503"]);
  try {
    const c = new CreditdClient({ baseUrl: p.url, apiKey: live.key, backoffMs: 10, maxRetries: 1 });
    await assert.rejects(c.grantCredits(org, { kind: "grant", amount: 7 }), (e: unknown) => e instanceof creditd.Overloaded && e.status === 503);
  } finally { await p.close(); }
  assert.equal(p.seen.length, 2);
  assert.equal(new Set(p.seen.map((s) => s.key)).size, 1);
  assert.equal((await client.getBalance(org)).available, 0);
});

test("a write without idempotency is not resent after a lost answer", async () => {
  const p = await faultyProxy(live.url, ["drop"]);
  const id = `lost-${randomUUID().slice(0, 8)}`;
  try {
    const c = new CreditdClient({ baseUrl: p.url, apiKey: live.key, backoffMs: 10 });
    await assert.rejects(c.createOrganization({ id, name: "x" }), creditd.CreditdConnectionError);
    assert.equal((await c.getOrganization(id)).id, id);
  } finally { await p.close(); }
  assert.deepEqual(p.seen.map((s) => s.method), ["POST", "GET"]);
});

test("connection refused is retried, then a CreditdConnectionError", async () => {
  const c = new CreditdClient({ baseUrl: "http://127.0.0.1:9", apiKey: live.key, backoffMs: 10, maxRetries: 2 });
  await assert.rejects(c.getBalance("acme"), creditd.CreditdConnectionError);
});

test("the history iterator follows cursors with the filters", async () => {
  const org = await newOrg();
  await client.grantCredits(org, { kind: "grant", amount: 1000 });
  for (let i = 0; i < 11; i++) await client.recordUsage(org, { amount: 1, service: "AI", project_id: `p${i % 2}` });
  const first = await client.listCreditEvents(org, { limit: 5 });
  assert.equal(first.events.length, 5);
  assert.ok(first.next_cursor);
  const sizes: number[] = [];
  for await (const page of client.iterCreditEventPages(org, {}, 5)) sizes.push(page.events.length);
  assert.deepEqual(sizes, [5, 5, 2]);
  const seqs: number[] = [];
  for await (const e of client.iterCreditEvents(org, {}, 4)) seqs.push(e.seq);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => b - a));
  assert.equal(new Set(seqs).size, 12);
  const usage = [];
  for await (const e of client.iterCreditEvents(org, { event_type: ["usage"], project_id: "p0" }, 2)) usage.push(e);
  assert.equal(usage.length, 6);
  assert.ok(usage.every((e) => e.project_id === "p0"));
});

test("exports stream to a file, a directory or a stream", async () => {
  const org = await newOrg();
  await client.grantCredits(org, { kind: "grant", amount: 50 });
  await client.recordUsage(org, { amount: "2.5", service: "AI" });
  const dir = mkdtempSync(join(tmpdir(), "creditd-export-"));
  const out = await client.exportCreditEvents(org, dir, { format: "csv", layout: "full" });
  assert.ok(out.filename && out.path === join(dir, out.filename));
  const text = readFileSync(out.path!, "utf8");
  assert.equal(Buffer.byteLength(text), out.bytes);
  assert.equal(text.trim().split("\n").length, 3);
  assert.ok(out.contentType.startsWith("text/csv"));
  const chunks: Buffer[] = [];
  const sink = new Writable({ write(c, _e, cb) { chunks.push(c); cb(); } });
  const x = await client.exportCreditEvents(org, sink, { format: "xlsx" });
  assert.equal(Buffer.concat(chunks).subarray(0, 2).toString(), "PK");
  assert.equal(x.bytes, Buffer.concat(chunks).length);
  await assert.rejects(client.exportCreditEvents(`nope-${org}`, join(dir, "x.csv")), creditd.NotFound);
  assert.ok(!existsSync(join(dir, "x.csv")) && !existsSync(join(dir, "x.csv.part")));
  assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith(".part")), []);
});

test("a live webhook delivery verifies", async () => {
  const org = await newOrg();
  const rx = await webhookReceiver();
  try {
    const created = await client.createWebhookEndpoint(org, { url: `${rx.url}/hooks`, event_types: ["depleted"] });
    const secret = created.secret;
    assert.match(secret, /^whsec_/);
    await client.grantCredits(org, { kind: "grant", amount: 10 });
    await client.recordUsage(org, { amount: 10 });
    const { headers, body } = await rx.first(20_000);
    const msg = verifyWebhook(secret, headers, body);
    assert.equal(msg.type, "depleted");
    assert.equal(msg.org_id, org);
    assert.equal(msg.data.available, 0);
    assert.equal(msg.id, headers["creditd-webhook-id"]);
    const tampered = Buffer.from(body.toString().replace('"available":0', '"available":9'));
    assert.throws(() => verifyWebhook(secret, headers, tampered), WebhookVerificationError);
    assert.throws(() => verifyWebhook("whsec_wrong", headers, body), WebhookVerificationError);
    assert.throws(() => verifyWebhook(secret, headers, body, { nowS: Date.now() / 1000 + 301 }), WebhookVerificationError);
    assert.throws(() => verifyWebhook(secret, { "creditd-webhook-id": msg.id }, body), WebhookVerificationError);
    assert.equal(sign(secret, msg.id, Number(headers["creditd-webhook-timestamp"]), body), headers["creditd-signature"]);
  } finally { await rx.close(); }
});

test("any of several signatures may match", () => {
  const body = '{"id":"whmsg_1","type":"depleted"}';
  const [t, v1] = sign("whsec_k", "whmsg_1", 1_700_000_000, body).split(",");
  const headers = { "creditd-webhook-id": "whmsg_1", "creditd-signature": `${t},v1=00ff,${v1}` };
  assert.equal(verifyWebhook("whsec_k", headers, body, { nowS: 1_700_000_100 }).type, "depleted");
  assert.throws(() => verifyWebhook("whsec_k", { ...headers, "creditd-signature": `${t},v1=00ff` }, body, { nowS: 1_700_000_100 }), WebhookVerificationError);
  assert.throws(() => verifyWebhook("whsec_k", { ...headers, "creditd-webhook-id": "whmsg_2" }, body, { nowS: 1_700_000_100 }), WebhookVerificationError);
});

test("an answer off the document fails the check", () => {
  checkAgainstDocument("GET", "/api/organizations/acme/credit-events", 200, "application/json", JSON.stringify({ events: [], limit: 5 }));
  assert.throws(() => checkAgainstDocument("GET", "/api/organizations/acme/credit-events", 200, "application/json", '{"events": []}'));
  assert.throws(() => checkAgainstDocument("POST", "/api/organizations/acme/holds", 409, "application/json", '{"error": {"code": 3, "message": "x"}}'));
  assert.throws(() => checkAgainstDocument("GET", "/api/nothing-here", 200, "application/json", "{}"));
});

test("writes go to the home node an answer names, only if listed, and back to the base URL when it fails", async () => {
  const org = await newOrg();
  const writes = (p: { seen: Array<{ method: string }> }) => p.seen.filter((s) => s.method !== "GET").length;
  // Node B: a proxy that names the live server as the org's home.
  const b = await faultyProxy(live.url, [], `${live.url}/`);
  try {
    const c = new CreditdClient({ baseUrl: b.url, apiKey: live.key, nodes: [live.url], backoffMs: 10 });
    for (let i = 0; i < 10; i++) await c.grantCredits(org, { kind: "grant", amount: 1 });
    assert.equal((await c.getBalance(org)).available, 10);
    assert.equal(writes(b), 1, "only the first write went through node B");
    assert.equal(b.seen.length, 2, "reads stay on the base URL");
    // Without the node listed the hint is never followed.
    const plain = new CreditdClient({ baseUrl: b.url, apiKey: live.key, backoffMs: 10 });
    for (let i = 0; i < 3; i++) await plain.grantCredits(org, { kind: "grant", amount: 1 });
    assert.equal(writes(b), 4);
  } finally { await b.close(); }

  // A listed home that is down: each write goes back to node B, applied once.
  const dead = await faultyProxy(live.url, []);
  const deadUrl = dead.url;
  await dead.close();
  const d = await faultyProxy(live.url, [], deadUrl);
  try {
    const c = new CreditdClient({ baseUrl: d.url, apiKey: live.key, nodes: [deadUrl], backoffMs: 10 });
    for (let i = 0; i < 4; i++) await c.grantCredits(org, { kind: "grant", amount: 1 });
    assert.equal(writes(d), 4);
    assert.equal(new Set(d.seen.map((s) => s.key)).size, 4);
    assert.equal((await c.getBalance(org)).available, 17);
  } finally { await d.close(); }
});

test("homes are bounded, only for listed nodes and only for writes under an org", () => {
  const h = new creditd.Homes(["http://10.0.0.1:8080/"]);
  h.learn("o", "http://10.0.0.1:8080");
  assert.equal(h.of("o"), "http://10.0.0.1:8080");
  h.learn("o", "http://evil.example/");
  assert.equal(h.of("o"), undefined);
  for (let i = 0; i <= creditd.MAX_REMEMBERED_HOMES; i++) h.learn(`org-${i}`, "http://10.0.0.1:8080/");
  assert.equal(h.size, 1);
  assert.equal(creditd.orgOfWrite(OPERATIONS.recordUsage, { org_id: "a" }), "a");
  assert.equal(creditd.orgOfWrite(OPERATIONS.getBalance, { org_id: "a" }), undefined);
  assert.equal(creditd.orgOfWrite(OPERATIONS.createOrganization, {}), undefined);
  assert.throws(() => new CreditdClient({ baseUrl: "http://127.0.0.1:1", apiKey: "k".repeat(20), nodes: ["ftp://x"] }), TypeError);
});
