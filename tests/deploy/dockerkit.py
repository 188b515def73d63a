"""The Dockerfile read and carried out: by a real Docker engine where one answers, otherwise replayed into a
folder that stands in for the image's file system.

The replay reads the Dockerfile's own instructions rather than a copy of them. The image's root is a
temporary folder (`/app` is `ROOT/app`), a fresh venv made with the running Python stands in for the base
image's `/usr/local` (python:3.11-slim keeps its Python there), the build context is the repository's
tracked files less `.dockerignore`, and a container is the ENTRYPOINT and CMD started from WORKDIR with the
image's ENV and nothing of the host's. What it cannot do is said where it happens and kept in `skipped`.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import shlex
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path
from typing import IO, Protocol

HEREDOC = re.compile(r"<<(-?)(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")
# What python:3.11-slim itself sets, under the Dockerfile's ENV.
BASE_PATH = "/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"
BASE_ENV = {"LANG": "C.UTF-8"}
# Steps that need root on the host; the replay runs as whoever runs the tests.
ROOT_ONLY = {"useradd", "groupadd", "adduser", "chown", "chgrp"}


@dataclass(frozen=True)
class Instruction:
    line: int
    keyword: str  # FROM, RUN, COPY, ...
    args: str  # the rest, continuation lines joined
    heredoc: str | None = None  # the body of a `<<'SH'` document


@dataclass
class Image:
    """What the build leaves behind that a container starts from."""

    base: str = ""
    env: dict[str, str] = field(default_factory=dict)
    workdir: str = "/"
    user: str = "root"
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=lambda: ["python3"])  # the base image's CMD
    exposed: list[str] = field(default_factory=list)
    owned: list[str] = field(default_factory=list)  # what the skipped chown and useradd give the user
    skipped: list[str] = field(default_factory=list)  # what the replay did not do, and why


def parse_dockerfile(text: str) -> list[Instruction]:
    """The instructions in order: comments dropped, `\\` continuations joined, heredoc bodies attached."""
    lines = text.splitlines()
    found: list[Instruction] = []
    i = 0
    while i < len(lines):
        start, current = i + 1, lines[i]
        i += 1
        if not current.strip() or current.lstrip().startswith("#"):
            continue
        while current.rstrip().endswith("\\") and i < len(lines):
            current = current.rstrip()[:-1] + " " + lines[i].strip()
            i += 1
        keyword, _, args = current.strip().partition(" ")
        heredoc = None
        marker = HEREDOC.search(args)
        if marker:
            end = next((j for j in range(i, len(lines)) if lines[j].strip() == marker.group(3)), None)
            if end is None:
                raise ValueError(f"Dockerfile line {start}: the heredoc {marker.group(3)} never ends")
            body = lines[i:end] if not marker.group(1) else [b.lstrip("\t") for b in lines[i:end]]
            heredoc, i = "\n".join(body) + "\n", end + 1
            if not marker.group(2) and "$" in heredoc:
                raise NotImplementedError(f"Dockerfile line {start}: an unquoted heredoc's variables are not replayed")
        found.append(Instruction(start, keyword.upper(), args.strip(), heredoc))
    return found


def exec_form(args: str) -> list[str]:
    """ENTRYPOINT and CMD: the JSON form as it is, the shell form through /bin/sh -c (as Docker does)."""
    if args.startswith("["):
        return [str(part) for part in json.loads(args)]
    return ["/bin/sh", "-c", args]


def dockerignore_rules(text: str) -> list[tuple[bool, re.Pattern[str]]]:
    """(excludes, pattern) per line of a .dockerignore, as Docker reads them (`**`, `*`, `?`, `!`)."""
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keep = line.startswith("!")
        pattern = posixpath.normpath(line.lstrip("!").strip()).lstrip("/")
        rules.append((not keep, re.compile(_glob_regex(pattern))))
    return rules


def _glob_regex(pattern: str) -> str:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return f"^{out}$"


def ignored(path: str, rules: Sequence[tuple[bool, re.Pattern[str]]]) -> bool:
    """Whether the build context leaves `path` out: it, or a folder it is in, matches; the last rule wins."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    verdict = False
    for excludes, pattern in rules:
        if any(pattern.match(p) for p in prefixes):
            verdict = excludes
    return verdict


def build_context(repo: Path) -> dict[str, Path]:
    """The repository's tracked files as they are in the working tree, less what .dockerignore leaves out:
    what `docker build .` sends from a clean checkout."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=repo, capture_output=True, check=True).stdout
    ignore = repo / ".dockerignore"
    rules = dockerignore_rules(ignore.read_text()) if ignore.exists() else []
    names = [n for n in listed.decode().split("\0") if n]
    return {n: repo / n for n in names if (repo / n).is_file() and not ignored(n, rules)}


class Replay:
    """Carries out a Dockerfile's instructions into `root`, a folder standing in for the image."""

    def __init__(self, root: Path, context: Mapping[str, Path], log: IO[str]) -> None:
        self.root, self.context, self.log = root, context, log
        self.image = Image()

    def host(self, path: str) -> Path:
        """Where the image's absolute `path` is in the replay."""
        return self.root / posixpath.normpath(posixpath.join(self.image.workdir, path)).lstrip("/")

    def build(self, instructions: Sequence[Instruction]) -> Image:
        for step in instructions:
            handler = getattr(self, f"do_{step.keyword.lower()}", None)
            if handler is None:
                raise NotImplementedError(f"Dockerfile line {step.line}: the replay cannot follow {step.keyword}")
            handler(step)
        return self.image

    def do_from(self, step: Instruction) -> None:
        self.image.base = step.args
        wanted = re.fullmatch(r"python:(\d+)\.(\d+)\S*", step.args)
        if wanted is None:
            raise NotImplementedError(f"FROM {step.args}: only a python: base image has a stand-in here")
        if sys.version_info[:2] < (int(wanted.group(1)), int(wanted.group(2))):
            raise NotImplementedError(f"FROM {step.args}: the running Python {sys.version.split()[0]} is older")
        # The base image's Python lives in /usr/local: a fresh venv there, with pip, stands in for it.
        subprocess.run([sys.executable, "-m", "venv", str(self.host("/usr/local"))], check=True)

    def do_env(self, step: Instruction) -> None:
        words = shlex.split(step.args)
        pairs = [w.partition("=") for w in words] if "=" in words[0] else [(words[0], "=", " ".join(words[1:]))]
        for key, _, value in pairs:
            self.image.env[key] = re.sub(r"\$\{?(\w+)\}?", lambda m: self.image.env.get(m.group(1), ""), value)

    def do_workdir(self, step: Instruction) -> None:
        self.image.workdir = posixpath.normpath(posixpath.join(self.image.workdir, step.args))
        self.host(".").mkdir(parents=True, exist_ok=True)

    def do_user(self, step: Instruction) -> None:
        self.image.user = step.args
        self.image.skipped.append(f"USER {step.args}: the replay runs as the host's user")

    def do_expose(self, step: Instruction) -> None:
        self.image.exposed += step.args.split()

    def do_entrypoint(self, step: Instruction) -> None:
        self.image.entrypoint, self.image.cmd = exec_form(step.args), []  # a new ENTRYPOINT clears the base's CMD

    def do_cmd(self, step: Instruction) -> None:
        self.image.cmd = exec_form(step.args)

    def do_copy(self, step: Instruction) -> None:
        words = shlex.split(HEREDOC.sub("", step.args)) if step.heredoc is not None else shlex.split(step.args)
        flags = dict(w[2:].partition("=")[::2] for w in words if w.startswith("--"))
        paths = [w for w in words if not w.startswith("--")]
        if set(flags) - {"chmod", "chown"}:
            raise NotImplementedError(f"Dockerfile line {step.line}: COPY {sorted(flags)} is not replayed")
        if "chown" in flags:
            self.image.skipped.append(f"COPY --chown={flags['chown']}: needs root on the host")
        mode = int(flags["chmod"], 8) if "chmod" in flags else None
        if step.heredoc is not None:
            self._place(self.host(paths[-1]), step.heredoc.encode(), mode)
            return
        *sources, dest = paths
        into_folder = dest.endswith("/") or len(sources) > 1
        for source in sources:
            for name, target in self._copied(source, dest, into_folder, step.line):
                self._place(target, self.context[name].read_bytes(), mode)

    def _copied(self, source: str, dest: str, into_folder: bool, line: int) -> Iterator[tuple[str, Path]]:
        """(context file, where it goes) for one COPY source, as Docker copies a file, a folder or a glob."""
        src = posixpath.normpath(source).lstrip("/")
        if src in self.context:
            yield src, self.host(posixpath.join(dest, posixpath.basename(src)) if into_folder else dest)
            return
        inside = "" if src == "." else src + "/"
        found = [n for n in self.context if n.startswith(inside)]
        for name in found:
            yield name, self.host(posixpath.join(dest, name[len(inside) :]))
        globbed = [n for n in self.context if "/" not in n and fnmatchcase(n, src)] if not found else []
        for name in globbed:
            yield name, self.host(posixpath.join(dest, name))
        if not found and not globbed:
            raise FileNotFoundError(f"Dockerfile line {line}: COPY {source}: not in the build context")

    @staticmethod
    def _place(target: Path, data: bytes, mode: int | None) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        if mode is not None:
            target.chmod(mode)

    def do_run(self, step: Instruction) -> None:
        """A RUN line as a chain of `&&` commands. `pip` is the stand-in's pip, an absolute path is the
        image's path under `root`; useradd and chown need root on the host and are skipped, saying so."""
        if step.heredoc is not None:
            raise NotImplementedError(f"Dockerfile line {step.line}: RUN <<heredoc is not replayed")
        lexer = shlex.shlex(step.args, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words = list(lexer)
        if any((w != "&&" and set(w) <= set(";|&<>")) or "$" in w for w in words):
            raise NotImplementedError(f"Dockerfile line {step.line}: only `&&` chains without variables are replayed")
        commands: list[list[str]] = [[]]
        for word in words:
            if word == "&&":
                commands.append([])
            else:
                commands[-1].append(word)
        for argv in commands:
            self._run(argv, step.line)

    def _run(self, argv: list[str], line: int) -> None:
        if argv[0] in ROOT_ONLY:
            self.image.skipped.append(f"RUN {shlex.join(argv)} (line {line}): needs root on the host")
            operands = [w for w in argv[1:] if not w.startswith("-")]
            if argv[0] == "chown":
                self.image.owned += [posixpath.join(self.image.workdir, p) for p in operands[1:]]
            elif argv[0] in ("useradd", "adduser"):
                self.image.owned.append(f"/home/{operands[-1]}")
            return
        argv = [str(self.host("/usr/local/bin/pip")) if argv[0] == "pip" else argv[0]] + [
            str(self.host(w)) if w.startswith("/") else w for w in argv[1:]
        ]
        # The builder's own network settings (the host's PIP_INDEX_URL, certificates, proxies) stay, as the
        # build machine's would. PIP_NO_CACHE_DIR is dropped, a deviation: pip reuses the host's cache, so
        # the replay takes seconds where a cold download would take minutes. It changes what is fetched
        # from where, not what is installed.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("COMMS_", "VIRTUAL_ENV", "PYTHONPATH"))}
        env |= {k: v for k, v in self.image.env.items() if k != "PIP_NO_CACHE_DIR"}
        env["PATH"] = f"{self.host('/usr/local/bin')}:{env.get('PATH', BASE_PATH)}"
        print(f"--- RUN {shlex.join(argv)}", file=self.log, flush=True)
        subprocess.run(argv, cwd=self.host("."), env=env, stdout=self.log, stderr=subprocess.STDOUT, check=True)


class Container(Protocol):
    """The image, started as `docker run [--env ...] IMAGE ARGS...` starts it."""

    def start(self, args: Sequence[str], env: Mapping[str, str], log: IO[str]) -> subprocess.Popen[str]: ...


class ReplayedImage:
    """A replayed image's containers: ENTRYPOINT + (ARGS or CMD), from WORKDIR, with the image's ENV and
    the given variables only (nothing of the host's environment, as in a container)."""

    def __init__(self, replay: Replay) -> None:
        self.replay, self.image = replay, replay.image
        self.built = self._files()

    def _files(self) -> dict[str, tuple[int, int]]:
        """(modified, size) of each file of the image but the user's own folders (chown, useradd)."""
        own = [self.replay.host(path) for path in self.image.owned]
        return {
            str(path.relative_to(self.replay.root)): (path.lstat().st_mtime_ns, path.lstat().st_size)
            for path in self.replay.root.rglob("*")
            if not path.is_dir() and not any(path.is_relative_to(folder) for folder in own)
        }

    def changed(self) -> list[str]:
        """Files of the image made, changed or removed since the build: in the real image, owned by root
        and so out of the `comms` user's reach."""
        now = self._files()
        return sorted(name for name in now.keys() | self.built.keys() if now.get(name) != self.built.get(name))

    def environment(self, env: Mapping[str, str]) -> dict[str, str]:
        home = self.replay.host(f"/home/{self.image.user}")  # useradd --create-home's folder
        home.mkdir(parents=True, exist_ok=True)
        path = ":".join(str(self.replay.host(p)) if p.startswith("/usr/local") else p for p in BASE_PATH.split(":"))
        return BASE_ENV | {"PATH": path, "HOME": str(home)} | self.image.env | dict(env)

    def start(self, args: Sequence[str], env: Mapping[str, str], log: IO[str]) -> subprocess.Popen[str]:
        argv = self.image.entrypoint + (list(args) if args else self.image.cmd)
        environment = self.environment(env)
        found = shutil.which(argv[0], path=environment["PATH"])
        if found is None:
            raise FileNotFoundError(f"ENTRYPOINT {argv[0]}: not on the image's PATH")
        return subprocess.Popen(
            [found, *argv[1:]],
            cwd=self.replay.host(self.image.workdir),
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )


class DockerImage:
    """A real image on a real engine; containers on the host's network, so that 127.0.0.1:5432 is the local
    PostgreSQL and PORT is reached on the host's addresses as a published port would be."""

    def __init__(self, tag: str) -> None:
        self.tag = tag

    def start(self, args: Sequence[str], env: Mapping[str, str], log: IO[str]) -> subprocess.Popen[str]:
        variables = [f"--env={k}={v}" for k, v in env.items()]
        name = f"comms-test-{uuid.uuid4().hex[:8]}"
        command = ["docker", "run", "--rm", f"--name={name}", "--network=host", *variables, self.tag, *args]
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, text=True)  # signals are proxied


@cache
def engine_answers() -> bool:
    """Whether a Docker engine answers `docker info` within a few seconds."""
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except subprocess.TimeoutExpired:
        return False
