"""A real two-node Ray cluster and a real PostgreSQL server on loopback: the search spreads
over both nodes, survives a dead node and a killed driver, `codesign worker` processes share a
PostgreSQL study, and bad endpoints fail fast with one line.

Run alone with `python -m pytest -m cluster`. The nodes are started with `ray start` in their
own temp dirs and process groups, and stopped by killing exactly those processes (never
`ray stop`, which would stop every Ray on the machine): at the end of the module, at exit,
and, for a test run that was killed or timed out before either, by the next run, which finds
the nodes' process groups recorded under NODES_DIR with the pid of a run that is gone. The
PostgreSQL test needs the URL of a database in CODESIGN_TEST_POSTGRES (`.ci/postgres.sh`
starts one and prints it).
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from codesign.record import Key
from codesign.testing import finish_cli, write_space

pytestmark = pytest.mark.cluster

RAY = str(Path(sys.executable).with_name("ray"))
# One file per Ray node a test run started: named by its process group, holding the run's pid.
NODES_DIR = Path(tempfile.gettempdir()) / "codesign-test-ray-nodes"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process, from /proc."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def _group_tree(pgid: int) -> set[int]:
    """The processes of process group `pgid` and all their descendants (Ray workers leave
    the group, but stay children of their raylet)."""
    parents = _parents()
    found = set()
    for pid in parents:
        try:
            if os.getpgid(pid) == pgid:
                found.add(pid)
        except OSError:
            continue
    grew = True
    while grew:
        children = {pid for pid, parent in parents.items() if parent in found} - found
        found |= children
        grew = bool(children)
    return found


def _kill_tree(pgid: int) -> None:
    for pid in _group_tree(pgid):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    (NODES_DIR / str(pgid)).unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_ray(pgid: int) -> bool:
    """The group still runs Ray (its id was not reused by something else)."""
    for pid in _group_tree(pgid):
        try:
            if b"ray" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return True
        except OSError:
            continue
    return False


def _stop_leftover_nodes() -> None:
    """Stop the nodes of earlier test runs that were killed before they could."""
    for entry in NODES_DIR.glob("*"):
        owner = entry.read_text().strip()
        if owner.isdigit() and _alive(int(owner)):
            continue
        if entry.name.isdigit() and _is_ray(int(entry.name)):
            _kill_tree(int(entry.name))
        entry.unlink(missing_ok=True)


def _own(pgid: int) -> None:
    """Record a node's process group, and stop it at exit whatever happens to the fixture."""
    NODES_DIR.mkdir(exist_ok=True)
    (NODES_DIR / str(pgid)).write_text(str(os.getpid()))
    atexit.register(_stop_if_recorded, pgid)


def _stop_if_recorded(pgid: int) -> None:
    if (NODES_DIR / str(pgid)).exists():  # not stopped by the fixture
        _kill_tree(pgid)


@dataclass
class Cluster:
    """A head and a second node, each with 1 CPU, joined with a token."""

    address: str
    env: dict[str, str]
    groups: dict[str, int] = field(default_factory=dict)

    def node_id(self, name: str) -> str:
        """The Ray node id of node `name`, read from its raylet's command line."""
        for pid in _group_tree(self.groups[name]):
            try:
                args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if args and args[0].endswith(b"/raylet"):
                for arg in args:
                    if arg.startswith(b"--node_id="):
                        return arg.split(b"=", 1)[1].decode()
        raise AssertionError(f"no raylet for node {name}")

    def kill(self, name: str) -> None:
        _kill_tree(self.groups.pop(name))


def _ray_start(env: dict[str, str], *args: str) -> int:
    """Run `ray start` in a new process group; returns the group, which the node's
    processes keep."""
    process = subprocess.Popen([RAY, "start", "--disable-usage-stats", *args], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    _own(process.pid)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 0, output
    return process.pid


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    _stop_leftover_nodes()
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16)}
    env.pop("RAY_ADDRESS", None)
    port = _free_port()
    temp = Path(tempfile.mkdtemp(prefix="csray", dir="/tmp"))
    made = Cluster(address=f"127.0.0.1:{port}", env=env)
    try:
        made.groups["head"] = _ray_start(
            env, "--head", f"--port={port}", "--num-cpus=1", "--include-dashboard=false",
            f"--temp-dir={temp / 'head'}")
        made.groups["worker"] = _ray_start(
            env, f"--address={made.address}", "--num-cpus=1", f"--temp-dir={temp / 'worker'}")
        yield made
    finally:
        for pgid in made.groups.values():
            _kill_tree(pgid)
        shutil.rmtree(temp, ignore_errors=True)


def _search_args(space: Path, out: Path, trials: int, address: str) -> list[str]:
    return [sys.executable, "-m", "codesign", "search", "--space", str(space), "--trials",
            str(trials), "--epochs", "1", "--backend", "ray", "--address", address,
            "--workers", "2", "--cpus-per-trial", "1", "--out", str(out)]


def _study(out: Path) -> optuna.Study | None:
    try:
        return optuna.load_study(study_name="digits_small",
                                 storage=f"sqlite:///{out / 'study.db'}")
    except KeyError:
        return None


def _wait_for(out: Path, process: subprocess.Popen, ready, limit_s: float):
    """Poll the study until `ready(trials)` gives something; fail if the driver ends first."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        assert process.poll() is None, "the search ended before the fault could be injected"
        if (out / "search.json").exists():  # written once the driver has made the study
            study = _study(out)
            found = ready(study.get_trials(deepcopy=False)) if study else None
            if found:
                return found
        time.sleep(0.5)
    raise AssertionError(f"nothing to wait for within {limit_s} s")


def _launch(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)


def _accounted(study: optuna.Study) -> dict[str, list[optuna.trial.FrozenTrial]]:
    """Trials by state; none may be left RUNNING, and each FAIL says why."""
    states: dict[str, list[optuna.trial.FrozenTrial]] = {}
    for trial in study.get_trials():
        states.setdefault(trial.state.name, []).append(trial)
    assert "RUNNING" not in states
    for trial in states.get("FAIL", []):
        assert trial.user_attrs.get(Key.REASON) or trial.number in {
            t.user_attrs.get(Key.RETRY_OF) for t in study.trials}
    return states


def test_a_search_on_the_cluster_runs_trials_on_both_nodes(cluster, tmp_path):
    out = tmp_path / "run"
    args = _search_args(write_space(tmp_path), out, trials=2, address=cluster.address)
    finish_cli(_launch(args, cluster.env), limit_s=400)
    done = _study(out).get_trials(states=(TrialState.COMPLETE,))
    assert len(done) == 2
    assert {t.user_attrs[Key.NODE] for t in done} == {cluster.node_id("head"),
                                                    cluster.node_id("worker")}


def test_a_killed_driver_resumes_to_the_full_count_without_duplicates(cluster, tmp_path):
    out = tmp_path / "run"
    args = _search_args(write_space(tmp_path), out, trials=3, address=cluster.address)
    driver = _launch(args, cluster.env)
    try:
        _wait_for(out, driver, lambda ts: [t for t in ts if t.state == TrialState.COMPLETE],
                  limit_s=300)
    finally:
        os.killpg(driver.pid, signal.SIGKILL)
        driver.wait()
    first = {t.number: (t.values, t.datetime_complete)
             for t in _study(out).get_trials(states=(TrialState.COMPLETE,))}
    finish_cli(_launch(args, cluster.env), limit_s=400)
    study = _study(out)
    states = _accounted(study)
    done = states["COMPLETE"]
    assert len(done) == 3
    assert {t.number: (t.values, t.datetime_complete) for t in done if t.number in first} == first
    retries = [t.user_attrs[Key.RETRY_OF] for t in study.trials if "retry_of" in t.user_attrs]
    assert len(retries) == len(set(retries))
    assert {t.number for t in states.get("FAIL", [])} <= set(retries)


def test_a_dead_worker_node_is_survived_with_every_trial_accounted_for(cluster, tmp_path):
    out = tmp_path / "run"
    worker_id = cluster.node_id("worker")
    args = _search_args(write_space(tmp_path), out, trials=3, address=cluster.address)
    driver = _launch(args, cluster.env)
    try:
        victim = _wait_for(out, driver, lambda ts: next(
            (t for t in ts if t.state == TrialState.RUNNING
             and t.user_attrs.get(Key.NODE) == worker_id), None), limit_s=300)
        time.sleep(3)
        cluster.kill("worker")
        finish_cli(driver, limit_s=500)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
    study = _study(out)
    states = _accounted(study)
    assert set(states) == {"COMPLETE"} and len(states["COMPLETE"]) == 3
    # The trial cut off on the dead node was run again by Ray on the head.
    retried = study.trials[victim.number]
    assert retried.user_attrs[Key.NODE] == cluster.node_id("head")


def test_two_workers_share_a_postgres_study_and_finish_exactly_the_budget(postgres_url,
                                                                          tmp_path):
    study_name = f"workers_{uuid.uuid4().hex[:8]}"
    args = [sys.executable, "-m", "codesign", "worker", "--storage", postgres_url, "--study",
            study_name, "--space", str(write_space(tmp_path)), "--trials", "3", "--epochs",
            "1", "--threads", "1", "--out", str(tmp_path / "run")]
    workers = [_launch(args, dict(os.environ)) for _ in range(2)]
    try:
        outputs = [finish_cli(worker, limit_s=400) for worker in workers]
        study = optuna.load_study(study_name=study_name, storage=postgres_url)
        states = _accounted(study)
        assert len(states["COMPLETE"]) == 3
        assert len({t.user_attrs[Key.NODE] for t in states["COMPLETE"]}) == 2
        assert any("the study holds 3 of 3 finished trials" in o for o in outputs)
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
        try:
            optuna.delete_study(study_name=study_name, storage=postgres_url)
        except KeyError:
            pass


def _fails_fast_with_one_line(args: list[str], culprit: str) -> None:
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "codesign", *args], capture_output=True,
                            text=True, timeout=60)
    seconds = time.monotonic() - started
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and culprit in lines[0], result.stderr
    assert seconds < 30


def test_an_address_nobody_listens_on_fails_fast_with_one_line(tmp_path):
    address = f"127.0.0.1:{_free_port()}"
    _fails_fast_with_one_line(
        ["search", "--space", str(write_space(tmp_path)), "--trials", "1", "--backend", "ray",
         "--address", address, "--out", str(tmp_path / "run")], f"no Ray head at {address}")


def test_a_wrong_database_password_fails_fast_with_one_line(postgres_url, tmp_path):
    from sqlalchemy.engine import make_url

    wrong = make_url(postgres_url).set(password="wrong").render_as_string(hide_password=False)
    _fails_fast_with_one_line(
        ["search", "--space", str(write_space(tmp_path)), "--storage", wrong, "--out",
         str(tmp_path / "run")], "password authentication failed")
    _fails_fast_with_one_line(["worker", "--storage", wrong, "--study", "any"],
                              "password authentication failed")


def test_the_cluster_launcher_example_is_a_valid_ray_up_file():
    import yaml
    from ray.autoscaler._private.util import prepare_config, validate_config

    path = Path(__file__).resolve().parents[3] / "scripts" / "ray_cluster.yaml"
    config = prepare_config(yaml.safe_load(path.read_text()))
    validate_config(config)
    starts = " ".join(config["head_start_ray_commands"] + config["worker_start_ray_commands"])
    assert starts.count("RAY_AUTH_MODE=token") == 2
