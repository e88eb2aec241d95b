"""Helpers the feed, web and export tests share: configs, ical.js, a server thread."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from scheduler.config import Config, load_config
from scheduler.web import WebState, bound_port, create_app, start_server

ROOT = Path(__file__).resolve().parent.parent
PARSE_FEED_JS = ROOT / "tests" / "js" / "parse_feed.mjs"
TODAY = date(2026, 11, 22)
MIDNIGHT = datetime(2026, 11, 22, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
FIXTURES_DIR = ROOT / "tests" / "fixtures"


def copy_shipped(tmp: Path) -> Path:
    """The shipped config.toml and its calendars copied below `tmp` (state dir tmp/var)."""
    shutil.copy(ROOT / "config.toml", tmp / "config.toml")
    shutil.copytree(ROOT / "calendars", tmp / "calendars")
    return tmp / "config.toml"


def shipped_config(tmp: Path) -> Config:
    """The shipped config, its state dir moved into `tmp`."""
    config = load_config(ROOT / "config.toml")
    return replace(config, state_dir=tmp / "var")


def ical_js(files: Sequence[Path]) -> list[dict[str, Any]]:
    """ical.js's reading of each file (one node process for all of them)."""
    results: list[dict[str, Any]] = []
    for start in range(0, len(files), 400):  # keep the command line short
        chunk = [str(f) for f in files[start:start + 400]]
        done = subprocess.run(["node", str(PARSE_FEED_JS), *chunk], cwd=ROOT, check=True,
                              capture_output=True, text=True, timeout=300)
        results += json.loads(done.stdout)
    return results


class ServerThread:
    """The real aiohttp app on 127.0.0.1, port 0, in a thread with its own event loop."""

    def __init__(self, state: WebState, config: Config) -> None:
        self.state = state
        self.config = config
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def start() -> None:
            self._runner = await start_server(create_app(self.state, self.config),
                                              "127.0.0.1", 0)
            self.port = bound_port(self._runner)

        self.loop.run_until_complete(start())
        self.ready.set()
        self.loop.run_forever()

    def start(self) -> ServerThread:
        self._thread.start()
        if not self.ready.wait(timeout=20):
            raise TimeoutError("server did not start")
        return self

    def stop(self) -> None:
        async def cleanup() -> None:
            if self._runner is not None:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(cleanup(), self.loop).result(timeout=20)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=20)
        self.loop.close()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def running(state: WebState, config: Config) -> Iterator[ServerThread]:
    server = ServerThread(state, config).start()
    try:
        yield server
    finally:
        server.stop()
