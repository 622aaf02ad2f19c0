"""Drive the installed `ualscope` in a real terminal, as an investigator on a jump host would.

Two drivers, for two questions:

- `Tmux`: what the screen shows. The app runs in a detached tmux session of a given size on a
  private server (`-L`), so neither a running tmux nor its environment takes part; tests send
  keys and poll `capture-pane` for what they wait for. A crashed app's pane stays open
  (`remain-on-exit`), so its traceback is in the failure message.
- `PtyApp`: every byte the app writes. The app runs on a bare pseudo-terminal whose master
  side a thread drains into a buffer: that buffer is exactly what a terminal (or an SSH
  client) would receive, escape sequences included, with nothing interpreting it between.

Both start the app with a small, explicit environment (`app_environment`), so a variable in
the developer's shell (NO_COLOR, COLORTERM, TEXTUAL_*) cannot change what a test sees.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path

TMUX = shutil.which("tmux")
UALSCOPE = Path(sys.executable).with_name("ualscope")
WAIT_SECONDS = 120.0  # the sample case shows in about 2 s idle; the machine may be busy
POLL_SECONDS = 0.2


def app_environment(state: Path, **extra: str) -> dict[str, str]:
    """The app's whole environment: no inherited colour or Textual settings."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(state),
        "LANG": "C.UTF-8",
        "TERM": "xterm-256color",
        "XDG_STATE_HOME": str(state),  # case files land here, never beside the evidence
    }
    env.update(extra)
    return env


class Tmux:
    """The app in a detached tmux session of `width` x `height`; read through capture-pane."""

    def __init__(
        self,
        command: list[str],
        env: Mapping[str, str],
        *,
        cwd: Path,
        width: int = 80,
        height: int = 24,
    ) -> None:
        self.socket = f"ualscope-test-{uuid.uuid4().hex[:8]}"
        self.name = "app"
        self._config_dir = Path(tempfile.mkdtemp(prefix="ualscope-tmux-"))
        config = self._config_dir / "tmux.conf"
        # remain-on-exit: if the app dies, its last screen (a traceback) can still be read.
        config.write_text("set -g remain-on-exit on\nset -g status off\n", encoding="utf-8")
        # `env -i` runs the app with exactly `env`, whatever the tmux server inherited.
        assignments = [f"{key}={value}" for key, value in env.items()]
        shell = shlex.join(["env", "-i", *assignments, *command])
        self._tmux(
            "-f",
            str(config),
            "new-session",
            "-d",
            "-x",
            str(width),
            "-y",
            str(height),
            "-s",
            self.name,
            "-c",
            str(cwd),
            shell,
        )

    def _tmux(self, *args: str) -> str:
        assert TMUX is not None
        done = subprocess.run(
            [TMUX, "-L", self.socket, *args],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "LANG": "C.UTF-8"},
        )
        return done.stdout

    def keys(self, *keys: str, literal: bool = False) -> None:
        self._tmux("send-keys", "-t", self.name, *(["-l"] if literal else []), *keys)

    def screen(self, *, escapes: bool = False) -> str:
        """The visible screen as text; with `escapes`, SGR sequences (colours, bold) kept."""
        return self._tmux("capture-pane", "-p", "-t", self.name, *(["-e"] if escapes else []))

    def history(self) -> str:
        """The screen and what scrolled off it: a traceback is longer than 24 lines."""
        return self._tmux("capture-pane", "-p", "-S", "-", "-t", self.name)

    def dead(self) -> bool:
        return self._tmux("display-message", "-p", "-t", self.name, "#{pane_dead}").strip() == "1"

    def wait_for(
        self, check: Callable[[str], bool], what: str, seconds: float = WAIT_SECONDS
    ) -> str:
        deadline = time.monotonic() + seconds
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if check(screen):
                return screen
            if self.dead():
                raise AssertionError(f"the app exited while waiting for {what}:\n{self.history()}")
            time.sleep(POLL_SECONDS)
        raise AssertionError(f"gave up waiting for {what}; the screen was:\n{screen}")

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._tmux("kill-server")
        shutil.rmtree(self._config_dir, ignore_errors=True)


# -- a bare pseudo-terminal --------------------------------------------------------------------

# Escape sequences as ECMA-48 frames them: CSI (ESC [ or C1 CSI), OSC, DCS, SOS, PM and APC
# strings (ending in BEL or ST), and two- or three-byte ESC sequences.
CSI = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]")
STRING_SEQUENCE = re.compile(
    r"(?:\x1b[\]P^_X]|[\x9d\x90\x9e\x9f\x98])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
)
SHORT_ESCAPE = re.compile(r"\x1b[ -/]*[0-~]")
CURSOR_TO = re.compile(r"\x1b\[\d*(?:;\d*)?H")

KEYS = {
    "enter": "\r",
    "escape": "\x1b",
    "tab": "\t",
    "space": " ",
    "up": "\x1b[A",
    "down": "\x1b[B",
    "right": "\x1b[C",
    "left": "\x1b[D",
    "pagedown": "\x1b[6~",
    "pageup": "\x1b[5~",
    "ctrl+pagedown": "\x1b[6;5~",  # scrolls a list a page to the right
    "ctrl+pageup": "\x1b[5;5~",
}


def visible_text(stream: str) -> str:
    """What the stream draws, as text to search: sequences removed, cursor jumps as newlines.

    Textual draws a changed line left to right after one cursor jump, so text that is on one
    line of the screen is contiguous here even where its style changes.
    """
    text = CURSOR_TO.sub("\n", stream)
    for pattern in (STRING_SEQUENCE, CSI, SHORT_ESCAPE):
        text = pattern.sub("", text)
    return text


class PtyApp:
    """The app on a pseudo-terminal of `width` x `height`, every byte it writes kept in order."""

    def __init__(
        self,
        command: list[str],
        env: Mapping[str, str],
        *,
        cwd: Path,
        width: int = 80,
        height: int = 24,
    ) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
        self._master = master
        self._lock = threading.Lock()
        self._buffer = bytearray()
        # Its own session and process group: close() ends the app and its load workers by
        # that group's id, and nothing else.
        self.process = subprocess.Popen(
            command,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
        )
        os.close(slave)
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        # The app blocks on a full pty if nobody reads: read until the slave side is gone.
        while True:
            try:
                data = os.read(self._master, 65536)
            except OSError:
                return
            if not data:
                return
            with self._lock:
                self._buffer.extend(data)

    @property
    def raw(self) -> bytes:
        with self._lock:
            return bytes(self._buffer)

    def mark(self) -> int:
        """A position in the stream: `wait_for` looks only at what was written after it."""
        return len(self.raw)

    def text(self, since: int = 0, until: int | None = None) -> str:
        """What was drawn between two marks, as `visible_text` gives it."""
        return visible_text(self.raw[since:until].decode("utf-8", errors="replace"))

    def press(self, *keys: str) -> None:
        for key in keys:
            os.write(self._master, KEYS.get(key, key).encode("utf-8"))
            # Escape alone is told from the start of a sequence by a pause (ESCDELAY, 100 ms).
            time.sleep(0.25 if key == "escape" else 0.05)

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_for(self, needle: str, since: int, what: str, seconds: float = WAIT_SECONDS) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if needle in self.text(since):
                return
            if not self.alive():
                raise AssertionError(f"the app exited while waiting for {what}:\n{self.text()}")
            time.sleep(POLL_SECONDS)
        tail = self.text(since)[-2000:]
        raise AssertionError(f"gave up waiting for {what} ({needle!r}); drawn since:\n{tail}")

    def wait_quiet(self, quiet: float = 0.3, seconds: float = WAIT_SECONDS) -> None:
        """Until the app has written nothing for `quiet` seconds: a key's redraw is done."""
        deadline = time.monotonic() + seconds
        size, since = self.mark(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.05)
            now = self.mark()
            if now != size:
                size, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
        raise AssertionError(f"the app kept drawing for {seconds} s")

    def wait_exit(self, seconds: float = 30) -> int | None:
        try:
            return self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return None

    def close(self) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            if self.wait_exit(10) is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._reader.join(timeout=5)
        with contextlib.suppress(OSError):
            os.close(self._master)
