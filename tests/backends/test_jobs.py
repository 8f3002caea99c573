"""Batching, retries, time-outs and the resumable job store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from hybridq.backends import BackendError, JobStore, LocalBackend, SubmitPolicy, TransientBackendError
from hybridq.backends.jobs import Done
from hybridq.circuits import Circuit

ROOT = Path(__file__).resolve().parents[2]


def circuits(count: int = 10) -> list[Circuit]:
    return [Circuit(2).ry(0.3 * i, 0).cx(0, 1) for i in range(count)]


class Counting(LocalBackend):
    """Counts submitted jobs; raises ``fail`` once ``fail_after`` jobs have run."""

    def __init__(self, *, fail_after: int | None = None, fail: Exception | None = None, **options):
        super().__init__(**options)
        self.submitted = 0
        self.fail_after, self.fail = fail_after, fail

    def _submit(self, circuits, shots, seed):
        if self.fail_after is not None and self.submitted >= self.fail_after:
            if isinstance(self.fail, TransientBackendError):
                self.fail_after = None  # fails once, then works
            raise self.fail
        self.submitted += 1
        return super()._submit(circuits, shots, seed)


def test_a_run_interrupted_midway_resumes_without_resubmitting_finished_jobs(tmp_path):
    policy = SubmitPolicy(max_circuits=2)
    reference = LocalBackend(seed=7, policy=policy).sample(circuits(), 50)
    store = tmp_path / "jobs.jsonl"
    crashing = Counting(seed=7, policy=policy, store=store, fail_after=3, fail=RuntimeError("killed"))
    with pytest.raises(RuntimeError, match="killed"):
        crashing.sample(circuits(), 50)
    assert len(JobStore(store)) == 3
    resumed = Counting(seed=7, policy=policy, store=store)
    found = resumed.sample(circuits(), 50)
    assert resumed.submitted == 2  # 5 jobs of 2 circuits, 3 were finished
    assert all(np.array_equal(a, b) for a, b in zip(found, reference))


def test_a_killed_process_resumes_from_its_store(tmp_path):
    store = tmp_path / "jobs.jsonl"
    script = textwrap.dedent(f"""
        import time, sys
        sys.path.insert(0, {str(ROOT)!r})
        from hybridq.backends import LocalBackend, SubmitPolicy
        from hybridq.circuits import Circuit

        class Slow(LocalBackend):
            def _submit(self, circuits, shots, seed):
                time.sleep(0.4)
                return super()._submit(circuits, shots, seed)

        circuits = [Circuit(2).ry(0.3 * i, 0).cx(0, 1) for i in range(10)]
        Slow(seed=7, store={str(store)!r}, policy=SubmitPolicy(max_circuits=1)).sample(circuits, 50)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        deadline = time.time() + 60
        while time.time() < deadline and (not store.exists() or len(store.read_text().splitlines()) < 3):
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finished = len(JobStore(store))
    assert 3 <= finished < 10
    resumed = Counting(seed=7, store=store, policy=SubmitPolicy(max_circuits=1))
    found = resumed.sample(circuits(), 50)
    assert resumed.submitted == 10 - finished
    reference = LocalBackend(seed=7, policy=SubmitPolicy(max_circuits=1)).sample(circuits(), 50)
    assert all(np.array_equal(a, b) for a, b in zip(found, reference))


def test_transient_failures_are_retried_with_exponential_back_off(monkeypatch):
    waits = []
    monkeypatch.setattr("hybridq.backends.jobs.time.sleep", waits.append)
    policy = SubmitPolicy(max_circuits=4, retries=3, backoff=0.5)
    flaky = Counting(seed=1, policy=policy, fail_after=1, fail=TransientBackendError("busy"))
    assert len(flaky.sample(circuits(), 10)) == 10
    assert waits == [0.5] and flaky.submitted == 3


def test_other_failures_and_exhausted_retries_are_raised(monkeypatch):
    monkeypatch.setattr("hybridq.backends.jobs.time.sleep", lambda s: None)
    with pytest.raises(ValueError, match="bad"):
        Counting(fail_after=0, fail=ValueError("bad")).sample(circuits(2), 5)

    class AlwaysBusy(LocalBackend):
        calls = 0

        def _submit(self, circuits, shots, seed):
            AlwaysBusy.calls += 1
            raise ConnectionError("down")

    with pytest.raises(ConnectionError):
        AlwaysBusy(policy=SubmitPolicy(retries=2)).sample(circuits(2), 5)
    assert AlwaysBusy.calls == 3


class _Pending:
    def __init__(self, job_id, results=None):
        self.id, self.results = job_id, results

    def job_id(self):
        return self.id

    def result(self, timeout):
        if self.results is None:
            raise TimeoutError
        return self.results


class Remote(LocalBackend):
    """Jobs that never finish when submitted; the provider can re-attach to them by id."""

    submitted = 0

    def _submit(self, circuits, shots, seed):
        Remote.submitted += 1
        return _Pending(f"job-{Remote.submitted}")

    def _retrieve(self, job_id):
        return Done([np.zeros(5, dtype=np.int64), np.ones(5, dtype=np.int64)])


def test_a_timed_out_job_keeps_its_id_and_is_reattached_on_resume(tmp_path):
    store = tmp_path / "jobs.jsonl"
    with pytest.raises(BackendError, match="did not finish within 2.0 s.*job-1"):
        Remote(store=store, seed=1, policy=SubmitPolicy(timeout=2.0)).sample(circuits(2), 5)
    found = Remote(store=store, seed=1).sample(circuits(2), 5)
    assert Remote.submitted == 1
    assert found[1].tolist() == [[0, 1]] * 5


def test_the_store_ignores_a_line_cut_short_by_a_crash(tmp_path):
    path = tmp_path / "jobs.jsonl"
    store = JobStore(path)
    store.record_submitted("a", "id-a")
    store.record_done("b", [np.arange(3)])
    with open(path, "a") as f:
        f.write('{"key": "c", "resul')
    again = JobStore(path)
    assert again.submitted("a") == "id-a" and again.done("b")[0].tolist() == [0, 1, 2] and again.done("c") is None
    assert all(json.loads(line) for line in path.read_text().splitlines()[:2])


def test_same_seed_same_outcomes_and_fresh_randomness_without_one():
    a = LocalBackend(seed=3).sample(Circuit(1).h(0), 200)[0]
    b = LocalBackend(seed=3).sample(Circuit(1).h(0), 200)[0]
    c = LocalBackend().sample(Circuit(1).h(0), 200)[0]
    d = LocalBackend().sample(Circuit(1).h(0), 200)[0]
    assert np.array_equal(a, b) and not np.array_equal(c, d)
