"""Fresh IPython kernels in ~50 ms of CPU instead of ~400: fork them from a process that has
already imported ipykernel and IPython (a "zygote", like Android's or multiprocessing's
forkserver).

Every notebook still gets its own new kernel process with a clean namespace; only the imports are
shared (copy-on-write). Pieces:

* the **server** (``python _forkserver.py serve SOCKET``): imports ipykernel, starts no thread,
  then forks one child per request; the child takes the requester's stdio, environment and working
  directory and becomes ``IPKernelApp.launch_instance(argv)``. It kills a child whose requester
  went away and exits (killing its children) when its own parent, the pytest process, is gone.
* the **client** (``python _forkserver.py kernel SOCKET -- ARGS``): what jupyter_client launches
  as "the kernel process". It asks the server for a kernel, forwards signals to it (interrupts),
  and exits with the kernel's exit code, so the kernel manager's poll/kill/interrupt just work.
  It imports nothing but the standard library.
* :class:`ForkKernelManager` launches the client instead of ``python -m ipykernel_launcher``.

POSIX only; the plugin falls back to ordinary kernels elsewhere or when the server cannot start.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys

_FORWARD = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")


# --------------------------------------------------------------------------------------------
# server
# --------------------------------------------------------------------------------------------


def _recv_line(conn: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def serve(path: str) -> None:
    import selectors

    import ipykernel.ipkernel  # noqa: F401 - the point of the server: imported once, shared
    import ipykernel.kernelapp  # noqa: F401
    import IPython  # noqa: F401

    parent = os.getppid()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ)
    children: dict[int, socket.socket] = {}  # kernel pid -> its client's connection
    conns: dict[socket.socket, int] = {}
    sys.stdout.write("ready\n")
    sys.stdout.flush()

    def stop(*_: object) -> None:
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            os.unlink(path)
        except OSError:
            pass
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    while True:
        for key, _ in sel.select(timeout=0.2):
            sock = key.fileobj
            if sock is listener:
                conn, _addr = listener.accept()
                msg, fds, _flags, _ = socket.recv_fds(conn, 1 << 20, 3)
                while not msg.endswith(b"\n"):
                    more = conn.recv(1 << 20)
                    if not more:
                        break
                    msg += more
                request = json.loads(msg)
                pid = os.fork()
                if pid == 0:  # the kernel
                    _become_kernel(request, fds, [listener, conn, *conns])
                for fd in fds:
                    os.close(fd)
                children[pid] = conn
                conns[conn] = pid
                conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
                sel.register(conn, selectors.EVENT_READ)
            else:  # a client closed its connection (it exited or was killed): kill its kernel
                conn = sock  # type: ignore[assignment]
                try:
                    data = conn.recv(1024)
                except OSError:
                    data = b""
                if not data:
                    pid = conns.pop(conn, None)
                    sel.unregister(conn)
                    conn.close()
                    if pid is not None and pid in children:
                        children.pop(pid, None)
                        try:
                            os.kill(pid, signal.SIGKILL)
                        except OSError:
                            pass
        # reap kernels that exited and tell their clients
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            conn = children.pop(pid, None)
            if conn is not None:
                code = os.waitstatus_to_exitcode(status)
                try:
                    conn.sendall(json.dumps({"exit": code}).encode() + b"\n")
                except OSError:
                    pass
        if os.getppid() != parent:
            stop()


def _become_kernel(request: dict, fds: list[int], close: list[socket.socket]) -> None:
    try:
        for s in close:
            s.close()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.setsid()
        for target, fd in zip((0, 1, 2), fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        # the server is the parent: kernels die with it (and print no console banner)
        os.environ["JPY_PARENT_PID"] = str(os.getppid())
        argv = [*request["argv"], f"--IPKernelApp.parent_handle={os.getppid()}"]
        sys.argv = [sys.executable, *argv]
        if "" not in sys.path:
            sys.path.insert(0, "")
        from ipykernel.kernelapp import IPKernelApp

        IPKernelApp.launch_instance(argv=argv)
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 0
    except BaseException:  # noqa: BLE001
        import traceback

        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


# --------------------------------------------------------------------------------------------
# client: the process jupyter_client thinks is the kernel
# --------------------------------------------------------------------------------------------


def client(path: str, argv: list[str]) -> int:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(path)
    request = {"argv": argv, "env": dict(os.environ), "cwd": os.getcwd()}
    socket.send_fds(conn, [json.dumps(request).encode() + b"\n"], [0, 1, 2])
    reply = json.loads(_recv_line(conn))
    pid = reply["pid"]

    def forward(signum: int, _frame: object) -> None:
        try:
            os.kill(pid, signum)
        except OSError:
            pass

    for name in _FORWARD:
        signal.signal(getattr(signal, name), forward)
    line = _recv_line(conn)
    if not line:  # the server died
        forward(signal.SIGKILL, None)
        return 1
    return int(json.loads(line).get("exit", 0))


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]  # no shadowing by our files
    if sys.argv[1] == "serve":
        serve(sys.argv[2])
    elif sys.argv[1] == "kernel":
        sys.exit(client(sys.argv[2], sys.argv[4:]))  # kernel SOCKET -- ARGS...
