"""Kernels forked from the server: a fresh process each, the requester's env and cwd, and the
kernel manager's interrupt / kill / liveness work through the client process."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from mlnb.execute._forkpool import ForkPool, ForkServer, forkable

pytestmark = [pytest.mark.kernel, pytest.mark.skipif(not forkable("python3"), reason="no fork server here")]


async def _run(kernel, code: str, timeout: float = 30) -> dict:
    kc = kernel.kc
    msg_id = kc.execute(code, user_expressions={"v": "__v"} if "__v" in code else {})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reply = await kc.get_shell_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply["content"]
    raise AssertionError("no reply")


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_forked_kernels(tmp_path, monkeypatch):
    monkeypatch.setenv("MLNB_FORK_TEST", "from-the-requester")

    async def main() -> None:
        server = ForkServer()
        await server.start()
        pool = ForkPool(server, size=2, cwd=str(tmp_path), limit=2)
        pool.fill()
        try:
            a, b = await pool.acquire(), await pool.acquire()
            ra = await _run(a, "import os; __v = (os.getpid(), os.getcwd(), os.environ['MLNB_FORK_TEST'])")
            rb = await _run(b, "import os; x = 1; __v = os.getpid()")
            pid_a, cwd, env = eval(ra["user_expressions"]["v"]["data"]["text/plain"])  # noqa: S307
            assert (cwd, env) == (str(tmp_path), "from-the-requester")
            pid_b = int(rb["user_expressions"]["v"]["data"]["text/plain"])
            assert pid_a != pid_b
            ra = await _run(a, "__v = 'x' in dir()")  # b's namespace is not a's
            assert ra["user_expressions"]["v"]["data"]["text/plain"] == "False"

            # interrupt: SIGINT to the client's process group reaches the forked kernel
            msg_id = a.kc.execute("import time; time.sleep(60)")
            await asyncio.sleep(0.5)
            t0 = time.monotonic()
            await a.km.interrupt_kernel()
            while True:
                reply = await a.kc.get_shell_msg(timeout=20)
                if reply["parent_header"].get("msg_id") == msg_id:
                    break
            assert reply["content"]["ename"] == "KeyboardInterrupt"
            assert time.monotonic() - t0 < 10

            # kill: the client dies, the server kills its kernel
            await b.shutdown(now=True)
            assert not await b.km.is_alive()
            deadline = time.monotonic() + 10
            while _exists(pid_b):
                assert time.monotonic() < deadline, "the forked kernel outlived its killed client"
                await asyncio.sleep(0.05)
            await a.shutdown()  # graceful: the kernel exits, then its client
            assert not await a.km.is_alive()
        finally:
            await pool.close()
            await server.stop()
        assert not os.path.exists(server.path)

    asyncio.run(main())
