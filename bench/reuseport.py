"""The alternative gateway/serving.py did not take, measured: SO_REUSEPORT, one listening
socket per worker. How a burst of 8 connections spreads over 2 listeners (the kernel picks
one by a hash of the connection's addresses and ports), and what closing one listener (a
worker draining on SIGTERM) does to the connections queued on it, with Linux's
``net.ipv4.tcp_migrate_req`` off and on.

Plain sockets, no gateway: two forked processes each with its own SO_REUSEPORT listener.
The sysctl is per network namespace, so this runs in a namespace of its own and changes
nothing on the machine (it needs root):

    unshare -n sh -c 'ip link set lo up && python -m bench.reuseport'
"""

from __future__ import annotations

import collections
import multiprocessing as mp
import socket
import time
from multiprocessing.queues import Queue
from typing import Any

PORT = 18080
SYSCTL = "/proc/sys/net/ipv4/tcp_migrate_req"


def _listener() -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", PORT))
    sock.listen(128)
    return sock


def _worker(ready: Queue[Any], commands: Queue[Any], out: Queue[Any]) -> None:
    """Accepts only when told: 'count' takes every connection queued on its listener."""
    sock = _listener()
    sock.settimeout(0.05)
    ready.put(1)
    held: list[socket.socket] = []
    while True:
        command = commands.get()
        if command == "count":
            taken = 0
            while True:
                try:
                    held.append(sock.accept()[0])
                except TimeoutError:
                    break
                taken += 1
            out.put(taken)
        elif command == "close":
            sock.close()
            out.put("closed")
        elif command == "serve":
            for conn in held:
                try:
                    conn.settimeout(1)
                    conn.recv(1)
                    conn.sendall(b"k")
                except OSError:
                    pass
            out.put("served")
        else:
            return


def run(migrate: int, bursts: int) -> None:
    with open(SYSCTL, "w") as sysctl:
        sysctl.write(str(migrate))
    context = mp.get_context("fork")
    workers = []
    for _ in range(2):
        ready, commands, out = context.Queue(), context.Queue(), context.Queue()
        process = context.Process(target=_worker, args=(ready, commands, out))
        process.start()
        ready.get()
        workers.append((process, commands, out))
    spread: collections.Counter[str] = collections.Counter()
    for _ in range(bursts):
        clients = [socket.create_connection(("127.0.0.1", PORT)) for _ in range(8)]
        time.sleep(0.01)
        counts = []
        for _, commands, out in workers:
            commands.put("count")
            counts.append(out.get())
        spread["/".join(map(str, sorted(counts, reverse=True)))] += 1
        for client in clients:
            client.close()
    print(f"tcp_migrate_req={migrate}: 8 connections over 2 listeners, {bursts} bursts: "
          f"{dict(spread.most_common())}", flush=True)  # fmt: skip
    # Drain: 8 connections queued (nobody accepting yet), then worker 0 closes its listener.
    clients = [socket.create_connection(("127.0.0.1", PORT)) for _ in range(8)]
    time.sleep(0.05)
    workers[0][1].put("close")
    workers[0][2].get()
    workers[1][1].put("count")
    taken = workers[1][2].get()
    for client in clients:
        try:
            client.sendall(b"q")
        except OSError:
            pass
    workers[1][1].put("serve")
    workers[1][2].get()
    answered = 0
    for client in clients:
        client.settimeout(1)
        try:
            answered += client.recv(1) == b"k"
        except OSError:
            pass
    for process, commands, _ in workers:
        commands.put("quit")
        process.join()
    print(f"   one listener closed with 8 connections queued: the other took {taken}; "
          f"{answered} answered, {8 - answered} reset")  # fmt: skip


def main() -> None:
    for migrate in (0, 1):
        run(migrate, bursts=200)


if __name__ == "__main__":
    main()
