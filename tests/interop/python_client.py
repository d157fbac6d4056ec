"""The official Python MCP SDK (`mcp`, pinned by scripts/test.sh) against the real server.

Over stdio and streamable HTTP, with the SDK's own version negotiation (`mode="auto"`, which
lands on 2026-07-28 here) and, over HTTP, also the initialize handshake (`mode="legacy"`):
tools/list returns every tool, a call returns structured content, a refusal is a readable tool
error, and an approval is accepted and declined through the SDK's elicitation callback.

Needs GUARDED_BIN and GUARDED_TEST_MOTO_ENDPOINT. Prints one line per check and
`N passed, M failed`; exits 1 on any failure.
"""

import asyncio
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import uuid

from mcp import Client, StdioServerParameters, types
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

BIN = os.environ["GUARDED_BIN"]
MOTO = os.environ["GUARDED_TEST_MOTO_ENDPOINT"]
TOOL_COUNT = 81
TOKEN = f"interop-{uuid.uuid4()}"
POLICY = """version: 1
default: allow
tools:
  create_broker:
    - action: require_approval
      reason: brokers cost money
"""

passed = 0
failed = 0


async def check(name, coro):
    global passed, failed
    try:
        detail = await coro
        passed += 1
        print(f"ok {name}" + (f" ({detail})" if detail else ""), flush=True)
    except Exception as e:  # noqa: BLE001 - every failure is reported, then counted
        failed += 1
        print(f"FAIL {name}: {type(e).__name__}: {str(e)[:300]}", flush=True)


def text(r):
    return "".join(getattr(c, "text", "") for c in r.content)


def server_env(_folder):
    env = {k: v for k, v in os.environ.items() if k != "GUARDED_AWS_MCP_POLICY"}
    env.update(
        RUST_LOG="warn",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_ENDPOINT_URL=MOTO,
    )
    return env


def serve_args(folder, policy):
    args = ["serve", "--audit-log", os.path.join(folder, "audit.jsonl"),
            "--approvals-dir", os.path.join(folder, "approvals")]
    if policy:
        path = os.path.join(folder, "policy.yaml")
        with open(path, "w") as f:
            f.write(policy)
        args += ["--policy", path]
    return args


def create_args():
    return {"broker_name": f"py-{uuid.uuid4().hex[:8]}", "engine_type": "RABBITMQ",
            "deployment_mode": "SINGLE_INSTANCE", "username": "admin",
            "password": "Sup3r-secret-pw-42", "host_instance_type": "mq.t3.micro"}


def answering(action, approve=None):
    async def callback(_context, _params):
        content = None if approve is None else {"approve": approve}
        return types.ElicitResult(action=action, content=content)
    return callback


class HttpServer:
    def __init__(self, folder, policy):
        tokens = os.path.join(folder, "tokens.json")
        digest = hashlib.sha256(TOKEN.encode()).hexdigest()
        with open(tokens, "w") as f:
            json.dump({"tokens": [{"principal": "py", "roles": [], "sha256": digest}]}, f)
        self.proc = subprocess.Popen(
            [BIN, *serve_args(folder, policy), "--http", "127.0.0.1:0", "--tokens", tokens],
            env=server_env(folder), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for line in self.proc.stderr:
            m = re.search(r"listening on (http://\S+/mcp)$", line.strip())
            if m:
                self.url = m.group(1)
                break
        else:
            raise RuntimeError("HTTP server did not start")

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def target(transport, folder, policy, servers):
    if transport == "stdio":
        return StdioServerParameters(command=BIN, args=serve_args(folder, policy), env=server_env(folder))
    server = HttpServer(folder, policy)
    servers.append(server)
    return server


def client(transport, where, mode, callback=None):
    if transport == "stdio":
        return Client(where, mode=mode, elicitation_callback=callback)
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {TOKEN}"})
    return Client(streamable_http_client(where.url, http_client=http), mode=mode,
                  elicitation_callback=callback)


async def run(transport, mode):
    name = f"python/{transport}/{mode}"
    servers = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            plain = target(transport, folder, None, servers)

            async def listing():
                async with client(transport, plain, mode) as c:
                    tools = (await c.list_tools()).tools
                    assert len(tools) == TOOL_COUNT, f"{len(tools)} tools"
                    assert all(t.title for t in tools), "a tool without a title"
                    r = await c.call_tool("list_brokers", {})
                    assert not r.is_error, text(r)
                    assert r.structured_content is not None, "no structured content"
                    r = await c.call_tool("delete_broker", {"BrokerId": "b-1"})
                    assert r.is_error and text(r).startswith("Denied by policy:"), text(r)
                    return f"{c.protocol_version}, {len(tools)} tools"
            await check(f"{name} default policy: list, a structured call, a refusal", listing())

        with tempfile.TemporaryDirectory() as folder:
            served = target(transport, folder, POLICY, servers)

            async def approve():
                async with client(transport, served, mode, answering("accept", True)) as c:
                    r = await c.call_tool("create_broker", create_args())
                    assert not r.is_error, text(r)
            await check(f"{name} approval accepted through elicitation runs the call", approve())

            async def decline():
                async with client(transport, served, mode, answering("decline")) as c:
                    r = await c.call_tool("create_broker", create_args())
                    assert r.is_error and "the user declined" in text(r), text(r)
            await check(f"{name} approval declined through elicitation refuses the call", decline())
    finally:
        for s in servers:
            s.stop()


async def main():
    for transport, mode in [("stdio", "auto"), ("stdio", "legacy"), ("http", "auto"), ("http", "legacy")]:
        await run(transport, mode)
    print(f"python: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


sys.exit(asyncio.run(main()))
