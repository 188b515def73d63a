"""The Dockerfile, checked by doing what it says (issue 18: "a Dockerfile that builds and runs any of the
three" process types).

Where a Docker engine answers `docker info`, the image is built from the repository and its containers run
on the host's network against the local PostgreSQL. Where none does (the machine this project is developed
on has only the docker client), the Dockerfile's own instructions are replayed into a temporary folder
(tests/deploy/dockerkit.py): the files each COPY names from the tracked files less .dockerignore, the RUN
line's `pip install` into a fresh venv of the running Python standing in for the base image, the heredoc
entrypoint into that venv's bin. Either way each process starts as `docker run IMAGE <type>` starts it:
through the ENTRYPOINT, from the image's WORKDIR (never the repository), with a `.env`'s settings on a fresh
PostgreSQL schema and nothing else, so the example workspace, the templates and the migrations it uses
are the ones the image holds.

The replay cannot prove what needs the base image or root: that python:3.11-slim behaves as a venv of the
running Python does, that the `comms` user exists and may write /app/var (useradd, chown and USER are
skipped, saying so), or that `docker build` accepts the file's syntax (heredocs, COPY --chmod).
"""

from __future__ import annotations

import json
import posixpath
import re
import signal
import socket
import subprocess
import sys
import time
import tomllib
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text

from pipeline.cli import build_parser
from pipeline.cli.web_cmds import gunicorn_options
from pipeline.localservers import free_port
from pipeline.settings import load_settings
from tests.conftest import ROOT, _postgres_reason, fresh_schema
from tests.deploy.dockerkit import (
    Container,
    DockerImage,
    Replay,
    ReplayedImage,
    build_context,
    dockerignore_rules,
    engine_answers,
    exec_form,
    ignored,
    parse_dockerfile,
)
from tests.integration.test_queue_workers import clock_lock_held

pytestmark = pytest.mark.slow
INSTRUCTIONS = parse_dockerfile((ROOT / "Dockerfile").read_text())
# The gunicorn settings the Procfile's web line and the image's web process must agree on.
GUNICORN = ("bind", "workers", "worker_class", "threads", "timeout", "graceful_timeout")


# --- the entrypoint against the Procfile: no build, no database ---------------------------------------------


class Stubs:
    """The image's entrypoint script and the Procfile's lines, run by /bin/sh against a `comms` and a
    `gunicorn` that only print the arguments they were given."""

    def __init__(self, folder: Path) -> None:
        self.bin = folder / "bin"
        self.bin.mkdir()
        for name in ("comms", "gunicorn"):
            self._write(name, f"#!{sys.executable}\nimport json, sys\nprint(json.dumps(sys.argv[1:]))\n")
        entry = exec_form(_only("ENTRYPOINT").args)
        scripts = [s for s in INSTRUCTIONS if s.keyword == "COPY" and s.heredoc is not None]
        body = next((s.heredoc for s in scripts if posixpath.basename(s.args.split()[-1]) == entry[0]), None)
        assert body is not None, f"ENTRYPOINT {entry[0]}: no COPY <<heredoc in the Dockerfile writes it"
        self.entry = [str(self._write(entry[0], body)), *entry[1:]]
        self.procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line)

    def _write(self, name: str, body: str) -> Path:
        path = self.bin / name
        path.write_text(body)
        path.chmod(0o755)
        return path

    def docker(self, args: Sequence[str], env: Mapping[str, str]) -> list[str]:
        """What `comms` (or gunicorn) is given by `docker run IMAGE ARGS` (ARGS empty: the CMD)."""
        return self._run([*self.entry, *(args or exec_form(_only("CMD").args))], env)

    def heroku(self, process: str, env: Mapping[str, str]) -> list[str]:
        """What the Procfile's `process:` line gives its command, the line expanded by a shell."""
        return self._run(["/bin/sh", "-c", f"exec {self.procfile[process]}"], env)

    def _run(self, argv: list[str], env: Mapping[str, str]) -> list[str]:
        done = subprocess.run(
            argv, env={"PATH": f"{self.bin}:/usr/bin:/bin", **env}, capture_output=True, text=True, timeout=30
        )
        assert done.returncode == 0, done.stderr
        return [str(a) for a in json.loads(done.stdout)]


def _only(keyword: str) -> Any:
    found = [s for s in INSTRUCTIONS if s.keyword == keyword]
    assert len(found) == 1, f"the Dockerfile has {len(found)} {keyword} lines"
    return found[0]


def command_line(argv: Sequence[str]) -> dict[str, Any]:
    """`comms ARGV` as the command line reads it."""
    return vars(build_parser().parse_args(list(argv)))


def gunicorn_settings(argv: Sequence[str]) -> dict[str, Any]:
    """The gunicorn settings of `comms web ...` or of `gunicorn ...`, each read by its own parser."""
    from gunicorn.config import Config

    config = Config()
    if argv[0] == "web":
        options = gunicorn_options(build_parser().parse_args(list(argv)), load_settings(environ={}, env_file=None))
    else:
        options = {k: v for k, v in vars(config.parser().parse_args(list(argv))).items() if v is not None}
    for key, value in options.items():
        if key in config.settings:
            config.set(key, value)
    return {name: config.settings[name].get() for name in GUNICORN}


@pytest.mark.parametrize("env", [{}, {"PORT": "9123", "WEB_CONCURRENCY": "3", "WORKER_CONCURRENCY": "5"}])
def test_the_entrypoint_starts_each_process_as_the_procfile_does(tmp_path: Path, env: dict[str, str]) -> None:
    stubs = Stubs(tmp_path)
    assert command_line(stubs.docker(["clock"], env)) == command_line(stubs.heroku("clock", env))
    assert command_line(stubs.docker([], env)) == command_line(stubs.heroku("clock", env)), "CMD: the clock"
    assert command_line(stubs.docker(["worker"], env)) == command_line(stubs.heroku("worker", env))
    assert command_line(stubs.docker(["worker", "--concurrency", "7"], env))["concurrency"] == 7, "ARGS win"
    web = gunicorn_settings(stubs.docker(["web"], env))
    assert web == gunicorn_settings(stubs.heroku("web", env)[:-1])  # less the application, pipeline.web.wsgi:app
    assert web["bind"] == [f"0.0.0.0:{env.get('PORT', '8000')}"]
    assert env or web["bind"][0].rsplit(":", 1)[1] in _only("EXPOSE").args.split(), "the EXPOSEd port by default"
    assert stubs.docker(["jobs", "--status", "failed"], env) == ["jobs", "--status", "failed"], "the rest: comms"


def test_the_build_context_leaves_out_what_git_ignores() -> None:
    """`docker build .` sends the working tree less .dockerignore; the replay uses the tracked files. They
    are the same when .dockerignore leaves out at least what git ignores (caches, venvs, .env, var/)."""
    listed = subprocess.run(
        ["git", "ls-files", "--others", "--ignored", "--exclude-standard", "--directory", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    rules = dockerignore_rules((ROOT / ".dockerignore").read_text())
    sent = [name for name in listed.split("\0") if name and not ignored(name.rstrip("/"), rules)]
    assert not sent, f"ignored by git but sent to docker build: {sent}"


# --- the image, built or replayed, and its processes on the local PostgreSQL --------------------------------


@pytest.fixture(scope="module", params=["docker", "replay"])
def image(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Container]:
    reason = _postgres_reason()
    if reason:
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp(f"image-{request.param}")
    if request.param == "docker":
        if not engine_answers():
            pytest.skip("no Docker engine answers `docker info` here: the Dockerfile is replayed instead")
        yield from docker_built(folder)
    else:
        if engine_answers():
            pytest.skip("a Docker engine answers: the real build checks the Dockerfile")
        yield replayed(folder)


def docker_built(folder: Path) -> Iterator[DockerImage]:
    tag = f"comms-test:{uuid.uuid4().hex[:8]}"
    log = folder / "build.log"
    with log.open("w") as out:
        code = subprocess.run(
            ["docker", "build", "-t", tag, str(ROOT)], stdout=out, stderr=subprocess.STDOUT, timeout=900
        ).returncode
    if code != 0:
        pytest.fail(f"docker build failed:\n{log.read_text()[-4000:]}")
    try:
        yield DockerImage(tag)
    finally:
        running = subprocess.run(["docker", "ps", "-q", f"--filter=ancestor={tag}"], capture_output=True, text=True)
        for container in running.stdout.split():
            subprocess.run(["docker", "rm", "-f", container], capture_output=True)
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)


def replayed(folder: Path) -> ReplayedImage:
    log = folder / "build.log"
    with log.open("w") as out:
        replay = Replay(folder / "root", build_context(ROOT), out)
        try:
            replay.build(INSTRUCTIONS)
        except subprocess.CalledProcessError as exc:
            pytest.fail(f"the replayed build failed at {exc.cmd}:\n{log.read_text()[-4000:]}")
    assert all(s.startswith(("RUN useradd", "RUN chown", "USER")) for s in replay.image.skipped), replay.image.skipped
    return ReplayedImage(replay)


def env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as `docker run --env-file` reads them: blank lines and comments skipped, each value
    as it is written (no quotes removed); a KEY without a value, taken from the host there, is left out."""
    lines = (line.strip() for line in path.read_text().splitlines())
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


@pytest.fixture
def dotenv() -> Iterator[dict[str, str]]:
    """The `.env` every container is given: .env.example's settings (the workspace, outbox and reports as
    relative paths, read from the image's WORKDIR), on a fresh schema of the local PostgreSQL with the queue."""
    with fresh_schema("d") as url:
        yield env_file(ROOT / ".env.example") | {
            "COMMS_DATABASE_URL": url,
            "COMMS_QUEUE": "procrastinate",
            "COMMS_SECRET_KEY": "dockerfile-test-secret",
            "COMMS_WORKER_HEARTBEAT_SECONDS": "1",
        }


@contextmanager
def running(image: Container, args: Sequence[str], env: Mapping[str, str], log: Path) -> Iterator[Process]:
    with log.open("w") as out:
        process = Process(image.start(args, env, out), log)
        try:
            yield process
        finally:
            process.kill()


class Process:
    """A container's process and its log (standard output and error, in order)."""

    def __init__(self, popen: subprocess.Popen[str], log: Path) -> None:
        self.popen, self.log = popen, log

    def text(self) -> str:
        return self.log.read_text()

    def wait_until(self, condition: Callable[[], bool], seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            if self.popen.poll() is not None:
                pytest.fail(f"stopped (exit {self.popen.returncode}) before {what}:\n{self.text()[-4000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"not {what} within {seconds:g} s:\n{self.text()[-4000:]}")
            time.sleep(0.2)

    def stop(self) -> int:
        """SIGTERM, as `docker stop` sends it; the exit code."""
        self.popen.send_signal(signal.SIGTERM)
        return self.popen.wait(timeout=40)

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(timeout=30)


def call(image: Container, args: Sequence[str], env: Mapping[str, str], log: Path) -> tuple[int, str]:
    with running(image, args, env, log) as process:
        code = process.popen.wait(timeout=120)
    return code, log.read_text()


def assert_wrote_only_its_own(image: Container) -> None:
    """The processes wrote nowhere but what the Dockerfile gives its user (chown, the home folder): in the
    image everything else belongs to root, and a write there fails. A real image shows it by failing."""
    if isinstance(image, ReplayedImage):
        assert image.changed() == [], "written outside the user's folders"


def tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return set(conn.scalars(text("select tablename from pg_tables where schemaname = current_schema()")))
    finally:
        engine.dispose()


def workers(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(text("select count(*) from procrastinate_workers")) or 0)
    finally:
        engine.dispose()


def outside_address() -> str | None:
    """This host's address on its network (what a published port is reached on), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: only the route is looked up
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") else address


@pytest.mark.postgres
def test_db_upgrade_applies_our_migrations_and_the_queue_schema(
    image: Container, dotenv: dict[str, str], tmp_path: Path
) -> None:
    code, out = call(image, ["db", "upgrade"], dotenv, tmp_path / "upgrade.log")
    assert code == 0, out
    assert {"alembic_version", "outbox", "procrastinate_jobs", "procrastinate_workers"} <= tables(
        dotenv["COMMS_DATABASE_URL"]
    )
    again, out = call(image, ["db", "upgrade"], dotenv, tmp_path / "again.log")
    assert again == 0, out
    assert_wrote_only_its_own(image)


@pytest.mark.postgres
def test_web_answers_on_every_address_and_stops_on_sigterm(
    image: Container, dotenv: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    env = dotenv | {"PORT": str(port), "WEB_CONCURRENCY": "1"}
    with running(image, ["web"], env, tmp_path / "web.log") as web:

        def healthy() -> bool:
            try:
                return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        web.wait_until(healthy, 60, "answering GET /healthz with 200")
        assert f"Listening at: http://0.0.0.0:{port}" in web.text()
        outside = outside_address()
        for host in ["127.0.0.1"] + ([outside] if outside else []):
            assert requests.get(f"http://{host}:{port}/healthz", timeout=10).text == "ok", host
        page = requests.get(f"http://127.0.0.1:{port}/signin", timeout=10)  # a template of the installed package
        assert page.status_code == 200 and "comms.css" in page.text
        style = requests.get(f"http://127.0.0.1:{port}/static/comms.css", timeout=10)
        assert style.status_code == 200 and style.content == (ROOT / "pipeline/web/static/comms.css").read_bytes()
        assert web.stop() == 0, web.text()
    assert "Traceback" not in web.text() and "dockerfile-test-secret" not in web.text()
    assert_wrote_only_its_own(image)


@pytest.mark.postgres
def test_worker_beats_and_stops_on_sigterm(image: Container, dotenv: dict[str, str], tmp_path: Path) -> None:
    url = dotenv["COMMS_DATABASE_URL"]
    with running(image, ["worker"], dotenv, tmp_path / "worker.log") as worker:
        worker.wait_until(lambda: "procrastinate_workers" in tables(url) and workers(url) > 0, 60, "beating")
        code, status = call(image, ["status"], dotenv, tmp_path / "status.log")
        assert code == 0 and re.search(r"worker \d+: last heartbeat .*\(\d+ s ago\)", status), status
        assert worker.stop() == 0, worker.text()
    assert "worker stopped" in worker.text() and "Traceback" not in worker.text()
    assert workers(url) == 0, "a stopped worker leaves the workers' table"
    assert_wrote_only_its_own(image)


@pytest.mark.postgres
def test_the_default_command_is_the_one_clock(image: Container, dotenv: dict[str, str], tmp_path: Path) -> None:
    url = dotenv["COMMS_DATABASE_URL"]
    with running(image, [], dotenv, tmp_path / "clock.log") as clock:  # `docker run IMAGE`: the CMD
        clock.wait_until(lambda: clock_lock_held(url), 60, "holding the clock's lock")
        code, second = call(image, ["clock"], dotenv, tmp_path / "second.log")
        assert code == 3 and "another clock is already running" in second, second
        assert clock.stop() == 0, clock.text()
    assert "clock stopped" in clock.text() and "Traceback" not in clock.text()
    assert not clock_lock_held(url)
    assert_wrote_only_its_own(image)


@pytest.mark.postgres  # only through the image's fixture, which is built for the tests above
def test_the_image_installs_every_file_of_its_packages(image: Container) -> None:
    """What the packages hold in the repository is in the image's site-packages: the processes above run
    from there, not from a checkout (the editable install of the other tests would hide a file left out)."""
    if not isinstance(image, ReplayedImage):
        pytest.skip("read from the replay's folder; a built image's processes above show the same")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = {name.split(".")[0] for name in project["packages"]}
    python = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = image.replay.host(f"/usr/local/lib/{python}/site-packages")
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.decode()
    missing = []
    for package in sorted(packages):
        source = project.get("package-dir", {}).get(package, package)
        for name in (n for n in tracked.split("\0") if n.startswith(f"{source}/")):
            if not (site / package / name[len(source) + 1 :]).is_file():
                missing.append(name)
    assert not missing, f"in the repository's packages but not installed: {missing}"
