// The client matrix: the MCP clients people build on, against the real server binary.
//
//   TypeScript SDK 1.x (@modelcontextprotocol/sdk)      stdio and streamable HTTP, protocol 2025-11-25
//   TypeScript SDK 2.x (@modelcontextprotocol/client)   stdio and streamable HTTP, protocol 2026-07-28
//
// For each: with the shipped default policy, tools/list returns every tool (the SDK validates
// the whole list with its own schemas), one successful call per tool family (Amazon MQ and IAM
// on moto, policy generation on a loopback Access Analyzer fake, RabbitMQ on the real broker)
// whose structuredContent the SDK validates against the tool's outputSchema, and a refusal;
// with a test policy, an approval accepted and one declined through the SDK's own elicitation
// support, and a hot reload that hides a tool, seen by the client as a list change. And the
// TypeScript SDK 1.x across two replicas sharing a private Redis (any replica serves a session).
//
// Needs GUARDED_BIN, GUARDED_TEST_MOTO_ENDPOINT and GUARDED_TEST_RABBITMQ_URL (scripts/test.sh
// sets them). Prints one line per check and `N passed, M failed`; exits 1 on any failure.

import { spawn, spawnSync } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { mkdtempSync, writeFileSync, renameSync } from "node:fs";
import { createServer } from "node:http";
import { createServer as createNetServer, connect as connectNet } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { Client as V1Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport as V1Stdio } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport as V1Http } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  ElicitRequestSchema,
  ToolListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { Client as V2Client, StreamableHTTPClientTransport as V2Http } from "@modelcontextprotocol/client";
import { StdioClientTransport as V2Stdio } from "@modelcontextprotocol/client/stdio";

const BIN = need("GUARDED_BIN");
const MOTO = need("GUARDED_TEST_MOTO_ENDPOINT");
const RABBIT = need("GUARDED_TEST_RABBITMQ_URL");
const TOOL_COUNT = 81;
const TOKEN = `interop-${randomUUID()}`;

function need(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`matrix: ${name} is not set (run it through scripts/test.sh)`);
    process.exit(2);
  }
  return v;
}

let passed = 0;
let failed = 0;
async function check(name, f) {
  try {
    const detail = await f();
    passed++;
    console.log(`ok ${name}${detail ? ` (${detail})` : ""}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${String(e?.stack ?? e).split("\n").slice(0, 4).join(" | ")}`);
  }
}
function assert(cond, message) {
  if (!cond) throw new Error(message);
}
const text = (r) => (r.content ?? []).map((c) => c.text ?? "").join("");

// A loopback IAM Access Analyzer: ListPolicyGenerations answers an empty page.
async function accessAnalyzerFake() {
  const server = createServer((req, res) => {
    res.setHeader("content-type", "application/json");
    res.setHeader("x-amzn-requestid", randomUUID());
    if (req.method === "GET" && req.url.startsWith("/policy/generation")) {
      res.end(JSON.stringify({ policyGenerations: [] }));
    } else {
      res.statusCode = 404;
      res.end(JSON.stringify({ message: "not in this fake" }));
    }
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
}

function serverEnv(aa) {
  const dir = mkdtempSync(join(tmpdir(), "guarded-interop-"));
  const inherited = { ...process.env };
  delete inherited.GUARDED_AWS_MCP_POLICY;
  return {
    ...inherited,
    RUST_LOG: "warn",
    AWS_ACCESS_KEY_ID: "testing",
    AWS_SECRET_ACCESS_KEY: "testing",
    AWS_REGION: "us-east-1",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_CONFIG_FILE: join(dir, "no-config"),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, "no-credentials"),
    AWS_ENDPOINT_URL: MOTO,
    AWS_ENDPOINT_URL_ACCESSANALYZER: aa.url,
  };
}

function serveArgs(dir, policy) {
  const args = ["serve", "--audit-log", join(dir, "audit.jsonl"), "--approvals-dir", join(dir, "approvals")];
  if (policy) args.push("--policy", policy);
  return args;
}

// Start `serve --http` with one token; resolve its URL from the line it prints.
async function httpServer(dir, env, policy, extra = []) {
  const tokens = join(dir, "tokens.json");
  const sha256 = createHash("sha256").update(TOKEN).digest("hex");
  writeFileSync(tokens, JSON.stringify({ tokens: [{ principal: "interop", roles: [], sha256 }] }));
  const child = spawn(BIN, [...serveArgs(dir, policy), "--http", "127.0.0.1:0", "--tokens", tokens, ...extra], {
    env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  const url = await new Promise((resolve, reject) => {
    let err = "";
    const timer = setTimeout(() => reject(new Error(`server did not start: ${err}`)), 20000);
    child.stderr.on("data", (d) => {
      err += d;
      const m = err.match(/listening on (http:\/\/\S+\/mcp)\n/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  return { url, stop: () => child.kill() };
}

// A private redis-server on a free loopback port (GUARDED_TEST_REDIS_SERVER, else redis-server).
async function privateRedis() {
  const port = await new Promise((resolve) => {
    const srv = createNetServer();
    srv.listen(0, "127.0.0.1", () => {
      const p = srv.address().port;
      srv.close(() => resolve(p));
    });
  });
  const bin = process.env.GUARDED_TEST_REDIS_SERVER || "redis-server";
  const child = spawn(bin, ["--bind", "127.0.0.1", "--port", String(port), "--save", "", "--appendonly", "no"], {
    stdio: "ignore",
  });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise((resolve) => {
      const sock = connectNet(port, "127.0.0.1");
      sock.on("connect", () => {
        sock.destroy();
        resolve(true);
      });
      sock.on("error", () => resolve(false));
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `redis://127.0.0.1:${port}/0`, stop: () => child.kill() };
}

// Two replicas sharing Redis: the TypeScript SDK 1.x (a 2025-11-25 client) initializes on A,
// and from then on its fetch goes to B: B restores the session, lists and calls; a DELETE of
// the session on A ends it on B too (404 there).
async function twoReplicas(aa) {
  const redis = await privateRedis();
  const env = serverEnv(aa);
  const state = ["--state", redis.url];
  const a = await httpServer(mkdtempSync(join(tmpdir(), "guarded-interop-")), env, null, state);
  const b = await httpServer(mkdtempSync(join(tmpdir(), "guarded-interop-")), env, null, state);
  const seen = { a: 0, b: 0 };
  let route = "a";
  const fetchVia = (input, init) => {
    const url = new URL(input instanceof URL ? input.href : typeof input === "string" ? input : input.url);
    const to = new URL(route === "a" ? a.url : b.url);
    url.host = to.host;
    seen[route]++;
    return fetch(url, init);
  };
  try {
    const client = new V1Client({ name: "interop-v1-fleet", version: "0" }, { capabilities: {} });
    const transport = new V1Http(new URL(a.url), {
      requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } },
      fetch: fetchVia,
    });
    await client.connect(transport);
    const session = transport.sessionId;
    route = "b";
    await check("v1/http two replicas: initialized on A, tools/list on B", async () => {
      assert(session, "no session id");
      const { tools } = await client.listTools();
      assert(tools.length === TOOL_COUNT, `${tools.length} tools`);
      assert(seen.b > 0, "nothing went to B");
    });
    await check("v1/http two replicas: a call on B", async () => {
      const r = await call(client, "list_brokers", {});
      assert(!r.isError && r.structuredContent, JSON.stringify(r).slice(0, 300));
    });
    await check("v1/http two replicas: DELETE on A ends the session on B", async () => {
      route = "a";
      await transport.terminateSession();
      route = "b";
      const r = await fetch(b.url, {
        method: "POST",
        headers: {
          Authorization: `Bearer ${TOKEN}`,
          "Content-Type": "application/json",
          Accept: "application/json, text/event-stream",
          "Mcp-Session-Id": session,
          "Mcp-Protocol-Version": "2025-11-25",
        },
        body: JSON.stringify({ jsonrpc: "2.0", id: 9, method: "tools/list" }),
      });
      assert(r.status === 404, `B answered ${r.status}`);
    });
    await client.close().catch(() => {});
  } catch (e) {
    failed++;
    console.log(`FAIL v1/http two replicas: ${String(e?.stack ?? e).split("\n").slice(0, 4).join(" | ")}`);
  } finally {
    a.stop();
    b.stop();
    redis.stop();
  }
}

// One client of one SDK on one transport, answering elicitations with `answer`.
async function connect(sdk, transport, target, { answer, onListChanged }) {
  const headers = { Authorization: `Bearer ${TOKEN}` };
  if (sdk === "v1") {
    const client = new V1Client({ name: "interop-v1", version: "0" }, { capabilities: { elicitation: {} } });
    client.setRequestHandler(ElicitRequestSchema, async () => answer);
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => onListChanged());
    const t =
      transport === "stdio"
        ? new V1Stdio({ command: BIN, args: target.args, env: target.env, stderr: "ignore" })
        : new V1Http(new URL(target.url), { requestInit: { headers } });
    await client.connect(t);
    return client;
  }
  const client = new V2Client(
    { name: "interop-v2", version: "0" },
    {
      capabilities: { elicitation: { form: {} } },
      versionNegotiation: { mode: { pin: "2026-07-28" } },
      listChanged: { tools: { onChanged: () => onListChanged() } },
    },
  );
  client.setRequestHandler("elicitation/create", async () => answer);
  const t =
    transport === "stdio"
      ? new V2Stdio({ command: BIN, args: target.args, env: target.env, stderr: "ignore" })
      : new V2Http(new URL(target.url), { requestInit: { headers } });
  await client.connect(t);
  return client;
}

async function call(client, name, args) {
  return client.callTool({ name, arguments: args });
}

function createArgs() {
  return {
    broker_name: `interop-${randomUUID().slice(0, 8)}`,
    engine_type: "RABBITMQ",
    deployment_mode: "SINGLE_INSTANCE",
    username: "admin",
    password: "Sup3r-secret-pw-42",
    host_instance_type: "mq.t3.micro",
  };
}

const TEST_POLICY = `version: 1
default: allow
tools:
  create_broker:
    - action: require_approval
      reason: brokers cost money
`;

async function run(sdk, transport, aa) {
  const name = `${sdk}/${transport}`;
  const env = serverEnv(aa);
  const dir = mkdtempSync(join(tmpdir(), "guarded-interop-"));
  const stops = [];
  const target = async (policy) => {
    if (transport === "stdio") return { args: serveArgs(dir, policy), env };
    const s = await httpServer(mkdtempSync(join(tmpdir(), "guarded-interop-")), env, policy);
    stops.push(s.stop);
    return s;
  };
  const none = { answer: { action: "cancel" }, onListChanged: () => {} };
  try {
    // The shipped default policy.
    const plain = await target(null);
    const c = await connect(sdk, transport, plain, none);
    await check(`${name} tools/list returns every tool with a title`, async () => {
      const { tools } = await c.listTools();
      assert(tools.length === TOOL_COUNT, `${tools.length} tools`);
      const untitled = tools.filter((t) => !t.title).map((t) => t.name);
      assert(untitled.length === 0, `no title: ${untitled}`);
      return `${tools.length} tools`;
    });
    for (const [family, tool, args] of [
      ["Amazon MQ", "list_brokers", {}],
      ["IAM", "list_users", {}],
      ["policy generation", "policy_generation_list", {}],
    ]) {
      await check(`${name} ${family}: ${tool} returns validated structured content`, async () => {
        const r = await call(c, tool, args);
        assert(!r.isError, text(r));
        assert(r.structuredContent && typeof r.structuredContent === "object", "no structuredContent");
      });
    }
    await check(`${name} a refusal is a readable tool error`, async () => {
      const r = await call(c, "delete_broker", { BrokerId: "b-1" });
      assert(r.isError === true, "not an error");
      assert(text(r).startsWith("Denied by policy:"), text(r));
    });
    await c.close();

    // A test policy: RabbitMQ, approvals, reload.
    const policy = join(dir, "policy.yaml");
    writeFileSync(policy, TEST_POLICY);
    let changed = 0;
    const served = await target(policy);
    const yes = await connect(sdk, transport, served, {
      answer: { action: "accept", content: { approve: true } },
      onListChanged: () => changed++,
    });
    await yes.listTools();
    await check(`${name} RabbitMQ: connect and list queues on the real broker`, async () => {
      const r = await call(yes, "rabbitmq_broker_initialize_connection", {
        management_url: RABBIT,
        username: "guest",
        password: "guest",
      });
      assert(!r.isError, text(r));
      const q = await call(yes, "rabbitmq_broker_list_queues", {});
      assert(!q.isError, text(q));
      assert(Array.isArray(q.structuredContent?.queues), JSON.stringify(q.structuredContent));
    });
    await check(`${name} approval accepted through the client's elicitation runs the call`, async () => {
      const r = await call(yes, "create_broker", createArgs());
      assert(!r.isError, text(r));
      assert(r.structuredContent?.BrokerId ?? r.structuredContent?.broker_id ?? r.structuredContent, "no broker");
    });
    const no = await connect(sdk, transport, served, {
      answer: { action: "decline" },
      onListChanged: () => {},
    });
    await check(`${name} approval declined through the client's elicitation refuses the call`, async () => {
      const r = await call(no, "create_broker", createArgs());
      assert(r.isError === true, "ran");
      assert(text(r).includes("the user declined"), text(r));
    });
    await no.close();
    await check(`${name} a reload that hides a tool reaches the client as a list change`, async () => {
      const next = join(dir, "policy.next.yaml");
      writeFileSync(next, `${TEST_POLICY}hide: [delete_broker]\n`);
      renameSync(next, policy);
      for (let i = 0; i < 100 && changed === 0; i++) await new Promise((r) => setTimeout(r, 50));
      assert(changed > 0, "no tools/list_changed");
      const { tools } = await yes.listTools();
      assert(!tools.some((t) => t.name === "delete_broker"), "delete_broker still listed");
      return `${tools.length} tools after`;
    });
    await yes.close();
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${String(e?.stack ?? e).split("\n").slice(0, 4).join(" | ")}`);
  } finally {
    stops.forEach((s) => s());
  }
}

// The MCP Inspector CLI: its schema-portability report over every tool, and a real call.
async function inspector(aa) {
  const env = serverEnv(aa);
  const dir = mkdtempSync(join(tmpdir(), "guarded-interop-"));
  const cli = new URL("./node_modules/.bin/inspector", import.meta.url).pathname;
  // The Inspector starts the server with only the variables given by -e: pass the AWS ones
  // (credentials, moto endpoint, no instance metadata), so nothing leaves the machine.
  const pass = Object.entries(env)
    .filter(([k]) => k.startsWith("AWS_") || k === "RUST_LOG")
    .flatMap(([k, v]) => ["-e", `${k}=${v}`]);
  const run = (...method) =>
    spawnSync(cli, ["--cli", ...pass, BIN, ...serveArgs(dir, null), ...method], {
      env,
      encoding: "utf8",
      timeout: 60000,
    });
  await check("inspector-cli tools/list: every tool, 0 schema-portability errors", async () => {
    const r = run("--method", "tools/list");
    assert(r.status === 0, `exit ${r.status}: ${r.stderr}`);
    const tools = JSON.parse(r.stdout).tools;
    assert(tools.length === TOOL_COUNT, `${tools.length} tools`);
    const report = r.stderr.match(/Schema portability: (\d+) errors?, (\d+) warnings?/);
    assert(report, `no portability report: ${r.stderr.slice(0, 300)}`);
    assert(report[1] === "0", report[0]);
    assert(!/unknown format/.test(r.stderr), "unknown formats reported");
    return report[0];
  });
  await check("inspector-cli tools/call list_brokers", async () => {
    const r = run("--method", "tools/call", "--tool-name", "list_brokers");
    assert(r.status === 0, `exit ${r.status}: ${r.stderr}`);
    const out = JSON.parse(r.stdout);
    assert(!out.isError && out.structuredContent, r.stdout.slice(0, 300));
  });
}

const aa = await accessAnalyzerFake();
await inspector(aa);
for (const sdk of ["v1", "v2"]) {
  for (const transport of ["stdio", "http"]) {
    await run(sdk, transport, aa);
  }
}
await twoReplicas(aa);
aa.close();
console.log(`interop: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
