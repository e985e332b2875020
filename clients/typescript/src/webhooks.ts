import { createHmac, timingSafeEqual } from "node:crypto";

/** The delivery is not signed by the secret, or is too old or too new. */
export class WebhookVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WebhookVerificationError";
  }
}

type Headers_ = Headers | Record<string, string | string[] | undefined>;

function header(headers: Headers_, name: string): string | undefined {
  if (typeof (headers as Headers).get === "function") return (headers as Headers).get(name) ?? undefined;
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === name) return Array.isArray(v) ? v[0] : v;
  }
  return undefined;
}

function hmacHex(secret: string, id: string, t: number, body: Uint8Array | string): string {
  return createHmac("sha256", secret).update(`${id}.${t}.`).update(body).digest("hex");
}

/** The `Creditd-Signature` header creditd sends (for tests of receivers). */
export function sign(secret: string, messageId: string, timestamp: number, body: Uint8Array | string): string {
  return `t=${timestamp},v1=${hmacHex(secret, messageId, timestamp, body)}`;
}

/**
 * Checks a delivery as creditd signs it: `Creditd-Signature: t=<unix s>,v1=<hex>`,
 * the hex HMAC-SHA256 of `"<Creditd-Webhook-Id>.<t>.<raw body>"` under the
 * endpoint's secret, compared in constant time; the timestamp must be within
 * `toleranceS` of now. Returns the decoded message; throws
 * `WebhookVerificationError` otherwise. Pass the raw body as received.
 */
export function verifyWebhook(
  secret: string,
  headers: Headers_,
  body: Uint8Array | string,
  options: { toleranceS?: number; nowS?: number } = {},
): any {
  const sig = header(headers, "creditd-signature");
  const id = header(headers, "creditd-webhook-id");
  if (!sig || !id) throw new WebhookVerificationError("missing Creditd-Signature or Creditd-Webhook-Id header");
  let t: number | undefined;
  const given: string[] = [];
  for (const part of sig.split(",")) {
    const [k, ...rest] = part.trim().split("=");
    const v = rest.join("=");
    if (k === "t") t = /^-?\d+$/.test(v) ? Number(v) : NaN;
    else if (k === "v1") given.push(v);
  }
  if (t === undefined || Number.isNaN(t) || given.length === 0) {
    throw new WebhookVerificationError("Creditd-Signature lacks t= or v1=");
  }
  const now = options.nowS ?? Date.now() / 1000;
  const tolerance = options.toleranceS ?? 300;
  if (Math.abs(now - t) > tolerance) throw new WebhookVerificationError(`timestamp ${t} is more than ${tolerance} s from now`);
  const good = Buffer.from(hmacHex(secret, id, t, body), "hex");
  const ok = given.some((g) => {
    const b = Buffer.from(g, "hex");
    return b.length === good.length && timingSafeEqual(b, good);
  });
  if (!ok) throw new WebhookVerificationError("signature does not match");
  return JSON.parse(typeof body === "string" ? body : Buffer.from(body).toString("utf8"));
}
