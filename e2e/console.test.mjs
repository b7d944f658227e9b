// End-to-end, in real headless Chromium (Debian's `chromium`, driven by playwright-core):
// the operator console, Swagger UI at /docs, and /openapi.json validated as OpenAPI 3.1.
//
// It starts the real `vbank serve` (VBANK_BIN, else target/debug/vbank) on a fresh SQLite file
// with the in-process sandbox, adds a merchant whose webhooks go to a receiver here, and
// checks every console action through the API afterwards. Screenshots go to target/e2e/.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { mkdtempSync, mkdirSync, existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { Validator } from "@seriousme/openapi-schema-validator";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const vbankBin = process.env.VBANK_BIN || join(root, "target", "debug", "vbank");
const chromiumPath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const screenshots = join(root, "target", "e2e");
const IMP_KEY = "e2e_console";
const IMP_SECRET = "e2e-console-secret";
const INIAPI_KEY = "ItEQKi3rY7uvDS8l";

let server;
let url;
let browser;
let workdir;
let hooks;
const received = [];

function run(args) {
  return execFileSync(vbankBin, args, { encoding: "utf8" });
}

before(async () => {
  assert.ok(existsSync(vbankBin), `${vbankBin} is missing: build it with cargo build -p vbank-server`);
  assert.ok(existsSync(chromiumPath), `${chromiumPath} is missing: apt-get install chromium`);
  mkdirSync(screenshots, { recursive: true });
  workdir = mkdtempSync(join(tmpdir(), "vbank-e2e-"));
  const databaseUrl = `sqlite://${join(workdir, "vbank.db")}`;

  hooks = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      received.push(body);
      response.end("ok");
    });
  });
  await new Promise((done) => hooks.listen(0, "127.0.0.1", done));
  const hookUrl = `http://127.0.0.1:${hooks.address().port}/hook`;
  run(["merchant", "add", "--imp-key", IMP_KEY, "--imp-secret", IMP_SECRET, "--webhook-url", hookUrl, "--database-url", databaseUrl]);

  server = spawn(vbankBin, ["serve", "--addr", "127.0.0.1:0", "--database-url", databaseUrl, "--webhook-retry-schedule", "1s,1s"], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, RUST_LOG: "warn" },
  });
  url = await new Promise((done, fail) => {
    let output = "";
    const timer = setTimeout(() => fail(new Error("vbank serve did not start in 60 s: " + output)), 60_000);
    server.stdout.on("data", (chunk) => {
      output += chunk;
      const match = output.match(/^vbank listening on (\S+)$/m);
      if (match) {
        clearTimeout(timer);
        done(match[1]);
      }
    });
    server.on("exit", (code) => fail(new Error(`vbank serve exited (${code}): ${output}`)));
  });
  server.stdout.resume();
  // As root on a machine with a closed network: no sandbox, and none of Chromium's own traffic.
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
  server?.kill();
  hooks?.close();
  if (workdir) rmSync(workdir, { recursive: true, force: true });
});

async function api(method, path, body, token) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body) headers["Content-Type"] = "application/json";
  const response = await fetch(url + path, { method, headers, body: body && JSON.stringify(body) });
  return { status: response.status, json: await response.json() };
}

async function token() {
  const answer = await api("POST", "/users/getToken", { imp_key: IMP_KEY, imp_secret: IMP_SECRET });
  assert.equal(answer.json.code, 0, JSON.stringify(answer.json));
  return answer.json.response.access_token;
}

async function issue(accessToken, pg, merchantUid) {
  const query = pg.includes("inicis") ? `?pg_api_key=${INIAPI_KEY}` : "";
  const answer = await api("POST", `/vbanks${query}`, {
    merchant_uid: merchantUid, amount: 1000, vbank_code: "004", vbank_due: Math.floor(Date.now() / 1000) + 86400,
    vbank_holder: "테스트상점", buyer_name: "홍길동", buyer_email: "buyer@example.test", buyer_tel: "01012345678", pg,
  }, accessToken);
  assert.equal(answer.json.code, 0, JSON.stringify(answer.json));
  return answer.json.response;
}

async function status(accessToken, impUid) {
  const answer = await api("GET", `/payments/${impUid}`, undefined, accessToken);
  assert.equal(answer.json.code, 0, JSON.stringify(answer.json));
  return answer.json.response;
}

async function signIn(page) {
  await page.goto(`${url}/console`);
  await page.getByTestId("imp-key").fill(IMP_KEY);
  await page.getByTestId("imp-secret").fill(IMP_SECRET);
  await page.getByTestId("login").click();
  await page.getByTestId("results").waitFor();
  await page.locator("#app:not(.hidden)").waitFor();
}

async function open(page, impUid) {
  await page.getByTestId("search-imp-uid").fill(impUid);
  await page.getByTestId("search").click();
  await page.locator(`tr[data-imp-uid="${impUid}"]`).click();
  await page.waitForFunction((id) => document.getElementById("detail-title").textContent === id, impUid);
}

test("/openapi.json validates as OpenAPI 3.1", async () => {
  const response = await fetch(`${url}/openapi.json`);
  const document = await response.json();
  const validator = new Validator();
  const result = await validator.validate(document);
  assert.equal(validator.version, "3.1");
  assert.ok(result.valid, JSON.stringify(result.errors, null, 2));
});

test("/docs renders Swagger UI with every operation", async () => {
  const page = await browser.newPage();
  const failed = [];
  page.on("requestfailed", (request) => failed.push(request.url()));
  await page.goto(`${url}/docs`);
  await page.locator(".opblock").first().waitFor({ timeout: 20_000 });
  const document = await (await fetch(`${url}/openapi.json`)).json();
  const operations = Object.values(document.paths).reduce((count, item) => count + Object.keys(item).length, 0);
  assert.equal(await page.locator(".opblock").count(), operations);
  assert.match(await page.locator(".title").first().innerText(), /vbank/);
  assert.deepEqual(failed, [], "every asset comes from the server itself");
  await page.screenshot({ path: join(screenshots, "docs.png"), fullPage: false });
  await page.close();
});

test("console: sign in, find a sandbox payment, revoke it, and the API agrees", async () => {
  const accessToken = await token();
  const payment = await issue(accessToken, "tosspayments", `e2e-revoke-${Date.now()}`);
  const page = await browser.newPage();
  await signIn(page);
  // The new payment is listed without a search term.
  await page.locator(`tr[data-imp-uid="${payment.imp_uid}"]`).waitFor();
  await open(page, payment.imp_uid);
  assert.equal(await page.getByTestId("detail-status").innerText(), "ready");
  await page.getByTestId("revoke-reason").fill("operator revoke");
  await page.getByTestId("revoke").click();
  await page.waitForFunction(() => document.querySelector("[data-testid=detail-status]").textContent === "cancelled");
  await page.getByText("tosspayments revoke: ok").waitFor();
  await page.screenshot({ path: join(screenshots, "console-revoked.png"), fullPage: true });
  const after = await status(accessToken, payment.imp_uid);
  assert.equal(after.status, "cancelled");
  assert.equal(after.cancel_history.length, 1);
  // The revoke reached the PG from the console (the reason is not checked: the PG's own cancel
  // notification can be recorded first, with the default reason).
  const events = (await api("GET", `/payments/${payment.imp_uid}/events`, undefined, accessToken)).json.response;
  assert.ok(events.some((event) => event.kind === "pg_call" && event.detail.startsWith("tosspayments revoke: ok")), JSON.stringify(events));
  await page.close();
});

test("console: a KG INICIS revoke asks for pg_api_key", async () => {
  const accessToken = await token();
  const payment = await issue(accessToken, "html5_inicis.INIpayTest", `e2e-inicis-${Date.now()}`);
  const page = await browser.newPage();
  await signIn(page);
  await open(page, payment.imp_uid);
  await page.getByTestId("revoke").click();
  await page.getByTestId("message").getByText("pg_api_key").waitFor();
  assert.equal((await status(accessToken, payment.imp_uid)).status, "ready", "nothing was sent without the key");
  await page.getByTestId("revoke-pg-api-key").fill(INIAPI_KEY);
  await page.getByTestId("revoke").click();
  await page.waitForFunction(() => document.querySelector("[data-testid=detail-status]").textContent === "cancelled");
  assert.equal((await status(accessToken, payment.imp_uid)).status, "cancelled");
  await page.close();
});

test("console: simulate a deposit, refund part of it, resend its webhook, advance the clock", async () => {
  const accessToken = await token();
  const payment = await issue(accessToken, "tosspayments", `e2e-deposit-${Date.now()}`);
  const page = await browser.newPage();
  await signIn(page);
  await open(page, payment.imp_uid);
  await page.getByTestId("deposit").click();
  await page.waitForFunction(() => document.querySelector("[data-testid=detail-status]").textContent === "paid");
  assert.equal((await status(accessToken, payment.imp_uid)).status, "paid");

  await page.getByTestId("refund-amount").fill("400");
  await page.getByTestId("refund-holder").fill("홍길동");
  await page.getByTestId("refund-bank").fill("088");
  await page.getByTestId("refund-account").fill("110123456789");
  await page.getByTestId("refund-reason").fill("partial");
  await page.getByTestId("refund").click();
  await page.getByTestId("message").getByText("400 KRW returned").waitFor();
  assert.equal((await status(accessToken, payment.imp_uid)).cancel_amount, 400);

  // The ready and paid webhooks were delivered; resend the first one.
  const hooksBefore = received.length;
  let deliveries = [];
  for (let tries = 0; tries < 50 && !(deliveries.length >= 2 && deliveries.every((d) => d.state === "delivered")); tries++) {
    await new Promise((done) => setTimeout(done, 200));
    deliveries = (await api("GET", `/webhooks?imp_uid=${payment.imp_uid}`, undefined, accessToken)).json.response;
  }
  assert.ok(deliveries.length >= 2, JSON.stringify(deliveries));
  await open(page, payment.imp_uid);
  await page.getByTestId(`resend-${deliveries[0].id}`).click();
  await page.getByTestId("message").getByText("queued to be sent again").waitFor();
  for (let tries = 0; tries < 50 && received.length <= hooksBefore; tries++) {
    await new Promise((done) => setTimeout(done, 200));
  }
  assert.ok(received.length > hooksBefore, "the resent webhook arrived");

  const before = await page.getByTestId("sandbox-now").innerText();
  await page.getByTestId("clock-hours").fill("48");
  await page.getByTestId("advance-clock").click();
  await page.waitForFunction((old) => document.querySelector("[data-testid=sandbox-now]").textContent !== old, before);
  const clock = await (await fetch(`${url}/sandbox/clock`)).json();
  assert.ok(clock.now >= Math.floor(Date.now() / 1000) + 47 * 3600, JSON.stringify(clock));
  await page.screenshot({ path: join(screenshots, "console-refunded.png"), fullPage: true });
  await page.close();
});

test("console: wrong credentials say what to do", async () => {
  const page = await browser.newPage();
  await page.goto(`${url}/console`);
  await page.getByTestId("imp-key").fill(IMP_KEY);
  await page.getByTestId("imp-secret").fill("wrong");
  await page.getByTestId("login").click();
  await page.getByTestId("message").getByText("sign in again").waitFor();
  assert.ok(await page.getByTestId("login").isVisible());
  await page.close();
});
