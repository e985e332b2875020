import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, before, test } from "node:test";

import { startCreditd, type Live } from "./harness.js";

const PKG = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
let live: Live;
before(async () => { live = await startCreditd(); });
after(async () => { await live.stop(); });

test("the README's five-minute example runs unchanged", async () => {
  const blocks = [...readFileSync(join(PKG, "README.md"), "utf8").matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.equal(blocks.length, 1);
  const dir = mkdtempSync(join(tmpdir(), "creditd-readme-"));
  mkdirSync(join(dir, "node_modules", "@creditd"), { recursive: true });
  symlinkSync(PKG, join(dir, "node_modules", "@creditd", "client"));
  writeFileSync(join(dir, "example.mjs"), blocks[0]);
  const { stdout } = await promisify(execFile)(process.execPath, ["example.mjs"], {
    cwd: dir, timeout: 60_000, env: { ...process.env, CREDITD_URL: live.url, CREDITD_API_KEY: live.key },
  });
  assert.match(stdout, /available: 87\.5/);
  assert.match(stdout, /refused: insufficient_credits 409/);
  assert.match(stdout, /events: 4/);
  assert.match(stdout, /webhook: depleted 0/);
  const exported = readdirSync(dir).filter((n) => /^credit-history_.*\.csv$/.test(n));
  assert.equal(exported.length, 1);
  assert.match(readFileSync(join(dir, exported[0]), "utf8"), /Welcome credits/);
});
