"""Serve an empty, in-memory mongoeco (a MongoDB wire-protocol server written in Python, not MongoDB) on a free
loopback port until SIGTERM/SIGINT; the bound port is written to `--port-file` (atomically, once listening).

Standalone: run by path with mongoeco's own interpreter (Python >= 3.13), never imported by the harness, so it
imports nothing of `verifiers`. verifiers/stores/mongo/wire_server.py starts it as the sandbox user from a copy in
the sandbox's private directory, the interpreter started with -I -S and the directories holding mongoeco and
pymongo given as `--site` (possibly staged copies a root-owned virtualenv's would be unreachable from).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import site
import sys
from pathlib import Path


async def serve(port_file: Path) -> None:
    # after the --site directories were added: it is found nowhere else
    from mongoeco.wire import AsyncMongoEcoProxyServer  # type: ignore[import-not-found,unused-ignore]

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    server = AsyncMongoEcoProxyServer(host="127.0.0.1", port=0)
    address = await server.start()
    try:
        partial = port_file.with_name(port_file.name + ".partial")
        partial.write_text(f"{address.port}\n", encoding="ascii")
        os.replace(partial, port_file)  # the harness never reads half a number
        print(f"mongoeco listening on 127.0.0.1:{address.port}", flush=True)
        await stop.wait()
    finally:
        await server.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port-file", type=Path, required=True)
    parser.add_argument("--site", action="append", default=[], help="a site-packages directory to add (repeatable)")
    args = parser.parse_args(argv)
    for directory in args.site:
        site.addsitedir(directory)  # .pth files included, as in the virtualenv itself
    asyncio.run(serve(args.port_file))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
