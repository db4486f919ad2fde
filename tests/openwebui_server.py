"""A real Open WebUI 0.12.4 for the test suite: provisioned once, started per session.

``provision()`` installs ``open-webui==0.12.4`` (on the local CPU build of torch) into a cached
virtual environment outside the repository and reuses it on later runs. ``start()`` runs it on
127.0.0.1 and a free port with a temporary data folder and the offline environment of
``shared/reference/openwebui-models.md`` Part B §3, signs up the first user (the admin) and makes an
API key. ``stop()`` ends it by its pid.

The cache location and the environment handed to subprocesses are read once, when this module is
imported (conftest load or collection), before any test guard can point ``HOME`` elsewhere.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import filelock
import httpx

OPENWEBUI_VERSION = "0.12.4"
TORCH_VERSION = "2.13.0"
VENV_NAME = f"openwebui-{OPENWEBUI_VERSION}"
MARKER_NAME = ".modelops-provisioned.json"

#: Nothing listens on the discard port of loopback, so connections to it are refused at once.
REFUSING_URL = "http://127.0.0.1:9"
SECRET_KEY = "modelops-test-secret-key-not-for-production"
ADMIN_NAME = "Modelops Test Admin"
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "Modelops-Test-Passw0rd!"

INSTALL_STEP_TIMEOUT = 45 * 60.0
LOCK_TIMEOUT = 2 * INSTALL_STEP_TIMEOUT + 10 * 60.0
READY_TIMEOUT = 180.0
STOP_TIMEOUT = 20.0

Log = Callable[[str], None]


class OpenWebUIError(RuntimeError):
    """Provisioning or starting the test server failed; the message carries a log tail."""


def resolve_cache_root(environ: Mapping[str, str]) -> Path:
    """``$MODELOPS_TEST_CACHE``, else ``$XDG_CACHE_HOME/modelops-tests``, else ``~/.cache/…``."""
    explicit = environ.get("MODELOPS_TEST_CACHE")
    if explicit:
        return Path(explicit).expanduser().absolute()
    xdg = environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser().absolute() / "modelops-tests"
    home = environ.get("HOME") or str(Path.home())
    return Path(home).absolute() / ".cache" / "modelops-tests"


#: The real environment, as it was when this module was first imported.
REAL_ENV: dict[str, str] = dict(os.environ)
#: Where the cached virtual environment lives, resolved from ``REAL_ENV``.
CACHE_ROOT: Path = resolve_cache_root(REAL_ENV)


def log_progress(message: str) -> None:
    """One line to the real terminal, even under pytest's output capture."""
    stream = sys.__stderr__
    if stream is None:  # pragma: no cover - no terminal at all
        return
    stream.write(f"[openwebui {time.strftime('%H:%M:%S')}] {message}\n")
    stream.flush()


def log_tail(path: Path, lines: int = 40, max_bytes: int = 64 * 1024) -> str:
    """The last ``lines`` lines of a log file, or a note that there is none."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - max_bytes))
            data = fh.read()
    except OSError as exc:
        return f"(no log at {path}: {exc})"
    text = data.decode("utf-8", errors="replace").splitlines()
    return "\n".join(text[-lines:])


# --------------------------------------------------------------------------------------------
# Provisioning
# --------------------------------------------------------------------------------------------


def venv_path(cache_root: Path | None = None) -> Path:
    return (cache_root or CACHE_ROOT) / VENV_NAME


def _read_marker(venv: Path) -> dict[str, object] | None:
    """The marker's content if the venv is complete and still usable, else None."""
    try:
        data = json.loads((venv / MARKER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("open-webui") != OPENWEBUI_VERSION:
        return None
    # The interpreter link must still resolve (a removed base Python breaks the venv).
    if not (venv / "bin" / "python").exists() or not (venv / "bin" / "open-webui").exists():
        return None
    return data


def is_provisioned(cache_root: Path | None = None) -> bool:
    return _read_marker(venv_path(cache_root)) is not None


def _run_logged(
    argv: list[str], *, log_path: Path, env: Mapping[str, str], what: str, log: Log
) -> None:
    """Run one install step with its output appended to ``log_path``, reporting progress."""
    started = time.monotonic()
    log(f"{what}: {' '.join(argv)}")
    with log_path.open("ab") as out:
        out.write(f"\n$ {' '.join(argv)}\n".encode())
        out.flush()
        in_main = threading.current_thread() is threading.main_thread()
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=dict(env),
                # A killed test run must not leave pip writing into a venv the next run removes.
                preexec_fn=_die_with_parent if in_main else None,  # noqa: PLW1509
            )
        except OSError as exc:
            raise OpenWebUIError(f"{what}: cannot run {argv[0]!r}: {exc}") from exc
        while True:
            try:
                rc = proc.wait(timeout=20)
                break
            except subprocess.TimeoutExpired:
                elapsed = time.monotonic() - started
                if elapsed > INSTALL_STEP_TIMEOUT:
                    _terminate_pid(proc)
                    raise OpenWebUIError(
                        f"{what} took more than {INSTALL_STEP_TIMEOUT:.0f} s and was stopped.\n"
                        f"Log: {log_path}\n--- last lines ---\n{log_tail(log_path)}"
                    ) from None
                recent = [ln for ln in log_tail(log_path, 8).splitlines() if ln.strip()]
                useful = [ln for ln in recent if not ln.startswith("WARNING")] or recent or [""]
                last = useful[-1].strip()
                log(f"{what}: still running after {elapsed:.0f} s … {last[:110]}")
    elapsed = time.monotonic() - started
    if rc != 0:
        raise OpenWebUIError(
            f"{what} failed with exit code {rc} after {elapsed:.0f} s.\n"
            f"Command: {' '.join(argv)}\nLog: {log_path}\n"
            f"--- last lines ---\n{log_tail(log_path)}"
        )
    log(f"{what}: done in {elapsed:.1f} s")


def _installed_versions(venv: Path, env: Mapping[str, str]) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json;"
        "import platform;"
        "v = {n: m.version(n) for n in ('open-webui', 'torch')};"
        "v['python'] = platform.python_version();"
        "print(json.dumps(v))"
    )
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code],
        capture_output=True,
        text=True,
        env=dict(env),
        check=False,
        timeout=120,
    )
    if out.returncode != 0:
        raise OpenWebUIError(f"Could not read installed versions in {venv}:\n{out.stderr[-3000:]}")
    versions: dict[str, str] = json.loads(out.stdout)
    return versions


def provision(
    cache_root: Path | None = None, *, python: str | None = None, log: Log = log_progress
) -> Path:
    """Return the path of a complete Open WebUI venv, installing it first if need be.

    Safe to call from several processes at once (pytest-xdist workers): a file lock lets one
    install while the others wait, and the marker is written only after a verified install, so a
    half-finished venv is removed and redone.
    """
    root = cache_root or CACHE_ROOT
    venv = venv_path(root)
    if _read_marker(venv) is not None:
        return venv
    root.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(str(root / f"{VENV_NAME}.lock"))
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        log(f"another process is provisioning {venv}; waiting for it (up to {LOCK_TIMEOUT:.0f} s)")
        try:
            lock.acquire(timeout=LOCK_TIMEOUT)
        except filelock.Timeout:
            raise OpenWebUIError(
                f"Timed out after {LOCK_TIMEOUT:.0f} s waiting for the provisioning lock "
                f"{lock.lock_file}"
            ) from None
    try:
        if _read_marker(venv) is not None:  # the other process finished it
            return venv
        _install(venv, root, python or REAL_ENV.get("MODELOPS_TEST_PYTHON", "python3.11"), log)
        return venv
    finally:
        lock.release()


def _install(venv: Path, root: Path, python: str, log: Log) -> None:
    log_path = root / f"{VENV_NAME}-install.log"
    log_path.write_text(
        f"provisioning {venv} at {time.strftime('%Y-%m-%d %H:%M:%S')}\n", encoding="utf-8"
    )
    env = dict(REAL_ENV)
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)
    env.pop("PYTHONHOME", None)
    # No pip cache, so nothing lands under the real home; no version check.
    env["PIP_NO_CACHE_DIR"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    if venv.exists():
        log(f"removing unfinished venv {venv}")
        shutil.rmtree(venv)
    started = time.monotonic()
    log(f"provisioning Open WebUI {OPENWEBUI_VERSION} into {venv} (takes minutes; log {log_path})")
    pip = str(venv / "bin" / "pip")
    quiet = ["--progress-bar", "off"]
    _run_logged([python, "-m", "venv", str(venv)], log_path=log_path, env=env, what="venv", log=log)
    _run_logged(
        [pip, "install", *quiet, f"torch=={TORCH_VERSION}"],
        log_path=log_path,
        env=env,
        what=f"pip install torch=={TORCH_VERSION}",
        log=log,
    )
    _run_logged(
        [pip, "install", *quiet, f"open-webui=={OPENWEBUI_VERSION}"],
        log_path=log_path,
        env=env,
        what=f"pip install open-webui=={OPENWEBUI_VERSION}",
        log=log,
    )
    versions = _installed_versions(venv, env)
    if versions.get("open-webui") != OPENWEBUI_VERSION or not versions.get("torch", "").startswith(
        TORCH_VERSION
    ):
        raise OpenWebUIError(
            f"Unexpected versions after install in {venv}: {versions} (wanted open-webui "
            f"{OPENWEBUI_VERSION}, torch {TORCH_VERSION}).\n"
            f"--- last lines ---\n{log_tail(log_path)}"
        )
    if not (venv / "bin" / "open-webui").exists():
        raise OpenWebUIError(f"{venv}/bin/open-webui is missing after install; see {log_path}")
    elapsed = time.monotonic() - started
    marker = {
        "open-webui": versions["open-webui"],
        "torch": versions["torch"],
        "python": versions.get("python", ""),
        "provisioned_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "seconds": round(elapsed, 1),
    }
    tmp = venv / f"{MARKER_NAME}.tmp"
    tmp.write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    tmp.replace(venv / MARKER_NAME)
    log(f"provisioned {venv} in {elapsed:.0f} s ({versions})")


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


@dataclass
class OpenWebUI:
    """A running Open WebUI with its first (admin) user signed up."""

    url: str
    token: str
    api_key: str
    pid: int
    data_dir: Path
    log_path: Path
    admin_id: str
    admin_email: str = ADMIN_EMAIL
    admin_password: str = ADMIN_PASSWORD
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False, compare=False)

    def client(self, token: str | None = None, *, timeout: float = 60.0) -> httpx.Client:
        """An ``httpx.Client`` on the server's URL with a Bearer header (the API key by default).

        Pass ``token=server.token`` for the admin's JWT. Close it (or use it as a context manager).
        """
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token or self.api_key}"},
            timeout=timeout,
            trust_env=False,
        )

    def log_tail(self, lines: int = 40) -> str:
        return log_tail(self.log_path, lines)


_LIVE: dict[int, subprocess.Popen[bytes]] = {}
_PASS_THROUGH_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "SSL_CERT_FILE")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_env(
    run_dir: Path, data_dir: Path, venv: Path, *, ollama_base_url: str
) -> dict[str, str]:
    """The offline environment of Part B §3, with HOME and caches inside ``run_dir``."""
    home = run_dir / "home"
    env = {k: REAL_ENV[k] for k in _PASS_THROUGH_ENV if k in REAL_ENV}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
    env.update(
        {
            "HOME": str(home),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "HF_HOME": str(home / ".cache" / "huggingface"),
            "DATA_DIR": str(data_dir),
            "WEBUI_SECRET_KEY": SECRET_KEY,
            "ENV": "dev",
            "OFFLINE_MODE": "true",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "ENABLE_VERSION_UPDATE_CHECK": "false",
            "RAG_EMBEDDING_MODEL_AUTO_UPDATE": "false",
            "RAG_RERANKING_MODEL_AUTO_UPDATE": "false",
            "WHISPER_MODEL_AUTO_UPDATE": "false",
            "RAG_EMBEDDING_ENGINE": "ollama",
            "OLLAMA_BASE_URL": ollama_base_url,
            "RAG_OLLAMA_BASE_URL": ollama_base_url,
            "ENABLE_OLLAMA_API": "true",
            "ENABLE_OPENAI_API": "false",
            "OPENAI_API_BASE_URL": "http://127.0.0.1:9/v1",
            "WEBUI_AUTH": "true",
            "ENABLE_SIGNUP": "true",
            "ENABLE_API_KEYS": "true",
            "ENABLE_COMMUNITY_SHARING": "false",
            "ANONYMIZED_TELEMETRY": "false",
            "DO_NOT_TRACK": "true",
            "SCARF_NO_ANALYTICS": "true",
            "USER_AGENT": "modelops-tests",
            "CORS_ALLOW_ORIGIN": "http://127.0.0.1",
            "PYTHONUNBUFFERED": "1",
            "NO_PROXY": "127.0.0.1,localhost",
        }
    )
    return env


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM when the thread that started us goes away."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start(
    venv: Path,
    run_dir: Path,
    *,
    ollama_base_url: str = REFUSING_URL,
    ready_timeout: float = READY_TIMEOUT,
    extra_env: Mapping[str, str] | None = None,
    log: Log = log_progress,
) -> OpenWebUI:
    """Start Open WebUI in ``run_dir`` (its data in ``run_dir/data``), wait for it, make the admin.

    ``run_dir`` must be new: persistent config is seeded into the database on the first start and
    later starts ignore the environment for those keys.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    data_dir = run_dir / "data"
    data_dir.mkdir(exist_ok=True)
    (run_dir / "home").mkdir(exist_ok=True)
    env = server_env(run_dir, data_dir, venv, ollama_base_url=ollama_base_url)
    env.update(extra_env or {})
    exe = str(venv / "bin" / "open-webui")
    for attempt in range(3):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log_path = run_dir / f"server-{port}.log"
        started = time.monotonic()
        log(f"starting Open WebUI on {url} (data {data_dir})")
        with log_path.open("wb") as out:
            in_main = threading.current_thread() is threading.main_thread()
            proc = subprocess.Popen(
                [exe, "serve", "--host", "127.0.0.1", "--port", str(port)],
                cwd=run_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if in_main else None,  # noqa: PLW1509
            )
        _LIVE[proc.pid] = proc
        try:
            _wait_ready(proc, url, log_path, ready_timeout)
        except OpenWebUIError:
            _terminate_pid(proc)
            _LIVE.pop(proc.pid, None)
            if attempt < 2 and "address already in use" in log_tail(log_path).lower():
                log(f"port {port} was taken meanwhile; retrying on another")
                continue
            raise
        ready_s = time.monotonic() - started
        log(f"Open WebUI ready on {url} in {ready_s:.1f} s (pid {proc.pid})")
        try:
            token, admin_id, api_key = _bootstrap_admin(url)
        except Exception as exc:
            _terminate_pid(proc)
            _LIVE.pop(proc.pid, None)
            raise OpenWebUIError(
                f"Open WebUI at {url} came up but the admin bootstrap failed: {exc}\n"
                f"Log: {log_path}\n--- last lines ---\n{log_tail(log_path)}"
            ) from exc
        return OpenWebUI(
            url=url,
            token=token,
            api_key=api_key,
            pid=proc.pid,
            data_dir=data_dir,
            log_path=log_path,
            admin_id=admin_id,
            process=proc,
        )
    raise AssertionError("unreachable")  # pragma: no cover


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_error = "no answer yet"
    with httpx.Client(base_url=url, timeout=5.0, trust_env=False) as http:
        while True:
            rc = proc.poll()
            if rc is not None:
                raise OpenWebUIError(
                    f"Open WebUI (pid {proc.pid}) exited with code {rc} before it was ready.\n"
                    f"Log: {log_path}\n--- last lines ---\n{log_tail(log_path)}"
                )
            try:
                resp = http.get("/ready")
                if resp.status_code == 200:
                    return
                last_error = f"GET /ready -> {resp.status_code}"
            except httpx.HTTPError as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            if time.monotonic() > deadline:
                raise OpenWebUIError(
                    f"Open WebUI (pid {proc.pid}) was not ready after {timeout:.0f} s "
                    f"({last_error}).\nLog: {log_path}\n--- last lines ---\n{log_tail(log_path)}"
                )
            time.sleep(0.25)


def _bootstrap_admin(url: str) -> tuple[str, str, str]:
    """Sign up the first user (who becomes admin) and create an API key for it."""
    with httpx.Client(base_url=url, timeout=60.0, trust_env=False) as http:
        resp = http.post(
            "/api/v1/auths/signup",
            json={"name": ADMIN_NAME, "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
        )
        if resp.status_code != 200:
            raise OpenWebUIError(f"signup -> {resp.status_code}: {resp.text[:2000]}")
        user = resp.json()
        if user.get("role") != "admin":
            raise OpenWebUIError(f"the first user is not admin: {user!r}")
        token: str = user["token"]
        admin_id: str = user["id"]
        resp = http.post("/api/v1/auths/api_key", headers={"Authorization": f"Bearer {token}"})
        if resp.status_code != 200:
            raise OpenWebUIError(f"api_key -> {resp.status_code}: {resp.text[:2000]}")
        api_key: str = resp.json()["api_key"]
    return token, admin_id, api_key


def _session_members(sid: int) -> list[int]:
    """Pids of live processes in session ``sid`` (the server's own, as it leads a new session)."""
    pids: list[int] = []
    proc_dir = Path("/proc")
    if not proc_dir.is_dir():
        return pids
    for entry in proc_dir.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getsid(int(entry.name)) == sid:
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def _terminate_pid(proc: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> int | None:
    """SIGTERM by pid, wait, SIGKILL by pid after ``timeout``; then any stray children by pid."""
    pid = proc.pid
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            proc.wait(timeout=timeout)
    # The server starts no children (Part B §3), but if one ever did, it stays in the session.
    for child in _session_members(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)
    return proc.returncode


def stop(server: OpenWebUI, *, timeout: float = STOP_TIMEOUT, log: Log = log_progress) -> None:
    """Stop the server by its pid: SIGTERM, wait up to ``timeout``, then SIGKILL."""
    proc = server.process
    if proc is None:
        return
    started = time.monotonic()
    rc = _terminate_pid(proc, timeout)
    _LIVE.pop(proc.pid, None)
    log(f"stopped Open WebUI pid {proc.pid} (exit {rc}) in {time.monotonic() - started:.1f} s")


@atexit.register
def _stop_leftovers() -> None:
    for proc in list(_LIVE.values()):
        with contextlib.suppress(Exception):
            _terminate_pid(proc, timeout=5.0)
    _LIVE.clear()


def main() -> None:
    """``python -m tests.openwebui_server [provision|serve]``: provision, optionally run once."""
    what = sys.argv[1] if len(sys.argv) > 1 else "provision"
    t0 = time.monotonic()
    venv = provision()
    log_progress(f"venv ready: {venv} ({time.monotonic() - t0:.1f} s)")
    if what == "serve":
        import tempfile

        with tempfile.TemporaryDirectory(prefix="openwebui-") as tmp:
            server = start(venv, Path(tmp))
            log_progress(f"{server.url} token={server.token[:16]}… api_key={server.api_key}")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
            finally:
                stop(server)


if __name__ == "__main__":
    main()
