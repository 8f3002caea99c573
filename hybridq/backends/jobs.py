"""Submitting work to a backend: batching into jobs, retries with back-off, a timeout, and a
resumable record on disk.

A batch of tasks (one circuit each) is cut into jobs of at most ``max_circuits`` tasks. Each job
has a key: a hash of the backend's identity, the seed and the tasks (circuit, shots, read-out).
A :class:`JobStore` appends one JSON line when a job is submitted (with the provider's job id)
and one when its results arrive, so a run that is interrupted (an exception, a killed process)
and started again with the same store reuses every finished job, re-attaches to submitted ones
the provider can look up by id, and submits only the rest. All jobs of a batch are submitted
before any result is awaited, so a provider can queue them together.

>>> import tempfile, os
>>> store = JobStore(os.path.join(tempfile.mkdtemp(), "jobs.jsonl"))
>>> store.record_done("k1", [np.array([0, 3, 3])])
>>> JobStore(store.path).done("k1")[0].tolist()
[0, 3, 3]
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol, Sequence

import numpy as np

from ..errors import BackendError, CredentialsError, TransientBackendError  # noqa: F401  (re-exported)


class Job(Protocol):
    """A submitted job: ``job_id()`` (None if the provider has none) and ``result(timeout)``,
    which returns one array per task or raises ``TimeoutError``."""

    def job_id(self) -> str | None: ...

    def result(self, timeout: float | None) -> list[np.ndarray]: ...


@dataclass(frozen=True)
class Done:
    """A job that finished when it was submitted (local simulators)."""

    results: list[np.ndarray]

    def job_id(self) -> None:
        return None

    def result(self, timeout: float | None) -> list[np.ndarray]:
        return self.results


@dataclass(frozen=True)
class SubmitPolicy:
    """How jobs are cut and submitted.

    Attributes:
        max_circuits: tasks per job.
        retries: attempts after a transient failure: to submit a job, or to poll an accepted
            job's result (re-attached by id; an accepted job is never submitted again).
        backoff: seconds before the first retry; doubled each time, at most ``max_backoff``.
        max_backoff: longest wait between retries, in seconds.
        timeout: seconds to wait for one job's result (None: no limit). A job that times out
            raises :class:`BackendError`; its id stays in the store, so a rerun re-attaches.
    """

    max_circuits: int = 300
    retries: int = 3
    backoff: float = 1.0
    max_backoff: float = 60.0
    timeout: float | None = None

    def __post_init__(self):
        if self.max_circuits < 1 or self.retries < 0 or self.backoff < 0:
            raise ValueError(f"max_circuits must be >= 1 and retries, backoff >= 0; got {self}")


class JobStore:
    """A JSON-lines record of submitted and finished jobs, keyed by job key.

    Each record is one line, appended and flushed to disk (``fsync``) whole; a record never
    continues a line cut short by a crash (a newline is written first). Lines that cannot be
    read back (cut short, not JSON, not a record) are named in a warning and skipped; the
    others are kept. When the disk refuses a write (full, read-only) the results stay in
    memory for this process and a warning says so: finished work is never discarded.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._done: dict[str, list[np.ndarray]] = {}
        self._submitted: dict[str, str] = {}
        if self.path.exists():
            for number, line in enumerate(self.path.read_text(errors="replace").splitlines(), 1):
                if line.strip():
                    self._read(line, number)

    def _read(self, line: str, number: int) -> None:
        try:
            entry = json.loads(line)
            key = entry["key"]
            if not isinstance(key, str):
                raise TypeError("the key is not a string")
            if "results" in entry:
                results = [np.asarray(r) for r in entry["results"]]
                if any(r.dtype.kind not in "iubf" for r in results):
                    raise TypeError("results are not arrays of numbers")
                self._done[key] = results
            elif isinstance(entry.get("job_id"), str):
                self._submitted[key] = entry["job_id"]
            else:
                raise KeyError("neither 'results' nor 'job_id'")
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            warnings.warn(f"{self.path}:{number}: skipped a record that cannot be read ({type(error).__name__}: "
                          f"{str(error)[:100]}); the job it belongs to, if any, runs again", stacklevel=3)

    def done(self, key: str) -> list[np.ndarray] | None:
        """The results of a finished job, or None."""
        return self._done.get(key)

    def submitted(self, key: str) -> str | None:
        """The provider's id of a submitted, unfinished job, or None."""
        return None if key in self._done else self._submitted.get(key)

    def record_submitted(self, key: str, job_id: str | None) -> None:
        """Note that the job ``key`` was submitted as ``job_id`` (nothing if it has no id)."""
        if job_id:
            self._submitted[key] = job_id
            self._append({"key": key, "job_id": job_id})

    def record_done(self, key: str, results: Sequence[np.ndarray]) -> None:
        """Keep the results of job ``key``."""
        self._done[key] = [np.asarray(r) for r in results]
        self._append({"key": key, "results": [np.asarray(r).tolist() for r in results]})

    def forget(self, key: str) -> None:
        """Drop the results of job ``key`` from memory (e.g. a record that does not fit its job)."""
        self._done.pop(key, None)

    def __len__(self) -> int:
        return len(self._done)

    def _append(self, entry: dict) -> None:
        line = (json.dumps(entry) + "\n").encode()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "ab+") as f:
                if f.seek(0, os.SEEK_END) > 0:
                    f.seek(-1, os.SEEK_END)
                    if f.read(1) != b"\n":  # the last record was cut short: start a fresh line
                        line = b"\n" + line
                f.write(line)
                f.flush()
                os.fsync(f.fileno())
        except OSError as error:
            warnings.warn(f"could not write to the job store {self.path} ({error}); the results are kept in memory "
                          "for this process only", stacklevel=3)


def digest(*parts: str) -> str:
    """A short stable hash of strings (job and task keys)."""
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode())
        h.update(b"\0")
    return h.hexdigest()[:32]


def job_seed(seed: int | None, key: str) -> int:
    """The seed of one job: derived from the run's seed and the job's content (random if None)."""
    if seed is None:
        return int.from_bytes(os.urandom(4), "little") >> 1
    return int(digest(str(seed), key)[:8], 16) >> 1


def run_jobs(
    task_keys: Sequence[str],
    submit: Callable[[list[int], int], Job],
    *,
    identity: str,
    seed: int | None,
    policy: SubmitPolicy,
    store: JobStore | None,
    retrieve: Callable[[str], Job | None] = lambda job_id: None,
    is_transient: Callable[[BaseException], bool] = lambda exc: False,
    sleep: Callable[[float], None] | None = None,
    sizes: Sequence[int] | None = None,
) -> list[np.ndarray]:
    """Run tasks in jobs and return one result array per task, in order.

    Args:
        task_keys: a key per task (what it runs: circuit, shots, read-out).
        submit: ``submit(task_indices, job_seed) -> Job``.
        identity: the backend's identity (part of every job key).
        seed: the run's seed (None: fresh randomness, and job keys without a seed).
        policy: batching, retries, back-off, time-out.
        store: where finished jobs are kept (None: nowhere).
        retrieve: re-attach to a job by provider id (None when impossible).
        is_transient: whether a failure is worth a retry.
        sleep: the wait between retries. Defaults to ``time.sleep``.
        sizes: the number of values in each task's result (e.g. its shots), to check stored
            results against; a stored job that does not match is run again. Defaults to None.
    """
    sleep = sleep or time.sleep
    chunks = [list(range(i, min(i + policy.max_circuits, len(task_keys))))
              for i in range(0, len(task_keys), policy.max_circuits)]
    keys = [digest(identity, "random" if seed is None else str(seed), *(task_keys[i] for i in c)) for c in chunks]
    results = [_stored(store, key, [sizes[i] for i in chunk] if sizes is not None else None, len(chunk))
               for chunk, key in zip(chunks, keys)]
    jobs: dict[int, Job] = {}
    for j, (chunk, key) in enumerate(zip(chunks, keys)):  # submit everything first
        if results[j] is not None:
            continue
        job_id = store.submitted(key) if store is not None else None
        job = retrieve(job_id) if job_id else None
        job = job if job is not None else _with_retries(lambda: _submit(submit, chunk, key, seed, store),
                                                        policy, is_transient, sleep)
        if isinstance(job, Done):  # finished already: keep it now, before later jobs run
            results[j] = _finish(job.results, chunk, key, store)
        else:
            jobs[j] = job
    for j, job in jobs.items():
        chunk, key = chunks[j], keys[j]
        attempt = 0
        while True:
            try:
                out = job.result(policy.timeout)
                break
            except TimeoutError:
                where = f"; its id {job.job_id()!r} is kept in {store.path}, run again to resume" if store is not None else ""
                raise BackendError(f"a job of {len(chunk)} circuit(s) did not finish within {policy.timeout} s{where}") from None
            except Exception as exc:  # noqa: BLE001 - classified by is_transient
                if attempt >= policy.retries or not is_transient(exc):
                    raise
                sleep(min(policy.max_backoff, policy.backoff * 2**attempt))
                attempt += 1
                job = _reattached(job, retrieve)
        results[j] = _finish(out, chunk, key, store)
    return [r for chunk_results in results for r in chunk_results]


def _stored(store: JobStore | None, key: str, sizes: list[int] | None, count: int) -> list[np.ndarray] | None:
    """The stored results of job ``key`` if they fit it (one array per task, of the expected sizes)."""
    found = store.done(key) if store is not None else None
    if found is None:
        return None
    if len(found) == count and (sizes is None or [r.size for r in found] == sizes):
        return found
    warnings.warn(f"the job store {store.path} holds results for job {key} that do not fit it ({len(found)} array(s) of "
                  f"sizes {[r.size for r in found][:5]}, expected {count}{'' if sizes is None else f' of sizes {sizes[:5]}'}); "
                  "the job runs again", stacklevel=3)
    store.forget(key)
    return None
def _reattached(job: Job, retrieve: Callable[[str], Job | None]) -> Job:
    """A fresh handle on an accepted job after a failed poll: looked up by its id where the
    provider can, else the same handle polled again. The job is never submitted a second time."""
    job_id = job.job_id()
    fresh = retrieve(job_id) if job_id else None
    return fresh if fresh is not None else job


def _finish(out: list[np.ndarray], chunk: list[int], key: str, store: JobStore | None) -> list[np.ndarray]:
    if len(out) != len(chunk):
        raise BackendError(f"a job of {len(chunk)} circuit(s) returned {len(out)} result(s)")
    if store is not None:
        store.record_done(key, out)
    return out


def _submit(submit, chunk: list[int], key: str, seed: int | None, store: JobStore | None) -> Job:
    job = submit(chunk, job_seed(seed, key))
    if store is not None:
        store.record_submitted(key, job.job_id())
    return job


def _with_retries(action: Callable[[], Job], policy: SubmitPolicy, is_transient, sleep) -> Job:
    for attempt in range(policy.retries + 1):
        try:
            return action()
        except Exception as exc:  # noqa: BLE001 - classified by is_transient
            if attempt >= policy.retries or not is_transient(exc):
                raise
            sleep(min(policy.max_backoff, policy.backoff * 2**attempt))
    raise AssertionError("unreachable")
