"""IBM Runtime jobs: per-PUB shots in one job, and polls that fail are resumed, never resubmitted."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from hybridq.backends import LocalBackend, SubmitPolicy, TransientBackendError
from hybridq.backends.jobs import Done
from hybridq.circuits import Circuit

pytest.importorskip("qiskit_ibm_runtime")


class _FlakyPoll:
    """An accepted job whose first ``failures`` polls raise a transient error."""

    def __init__(self, job_id, results, failures):
        self.id, self.results, self.failures = job_id, results, failures

    def job_id(self):
        return self.id

    def result(self, timeout):
        if self.failures:
            self.failures -= 1
            raise TransientBackendError("connection reset while polling")
        return self.results


class Remote(LocalBackend):
    """Submits accepted jobs whose polls fail; the provider can look a job up by id or not."""

    def __init__(self, *, failures: int, lookup: bool, **options):
        super().__init__(**options)
        self.failures, self.lookup = failures, lookup
        self.submitted, self.retrieved = 0, []

    def _submit(self, circuits, shots, seed):
        self.submitted += 1
        done = super()._submit(circuits, shots, seed)
        return _FlakyPoll(f"job-{self.submitted}", done.result(None), self.failures)

    def _retrieve(self, job_id):
        self.retrieved.append(job_id)
        return None if not self.lookup else _FlakyPoll(job_id, self.last, 0)

    def _is_transient(self, exc):
        return isinstance(exc, TransientBackendError)


@pytest.mark.parametrize("lookup", [True, False])
def test_a_failed_poll_resumes_the_accepted_job_instead_of_resubmitting_it(monkeypatch, lookup):
    monkeypatch.setattr("hybridq.backends.jobs.time.sleep", lambda s: None)
    circuits = [Circuit(2).ry(0.4 * i, 0).cx(0, 1) for i in range(3)]
    reference = LocalBackend(seed=5).sample(circuits, 20)
    backend = Remote(failures=2, lookup=lookup, seed=5, policy=SubmitPolicy(retries=3))
    backend.last = [np.asarray(r) for r in LocalBackend(seed=5)._submit(circuits, [20] * 3, 0).result(None)]
    found = backend.sample(circuits, 20)
    assert backend.submitted == 1
    assert backend.retrieved == (["job-1"] if lookup else ["job-1", "job-1"])
    if not lookup:
        assert all(np.array_equal(a, b) for a, b in zip(found, reference))


def test_exhausted_poll_retries_raise_without_a_second_job(monkeypatch):
    monkeypatch.setattr("hybridq.backends.jobs.time.sleep", lambda s: None)
    backend = Remote(failures=10, lookup=False, seed=5, policy=SubmitPolicy(retries=2))
    with pytest.raises(TransientBackendError, match="polling"):
        backend.sample([Circuit(1).h(0)], 5)
    assert backend.submitted == 1


@pytest.fixture
def fake_ibm():
    from hybridq.backends import get_backend

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return get_backend("fake:FakeManilaV2", seed=3)


def watch_jobs(monkeypatch, backend, on_job) -> None:
    """Call ``on_job(pubs, kwargs, job)`` for every job the backend's primitives submit."""
    make = type(backend)._primitive

    def watched(self, kind, seed, **options):
        primitive = make(self, kind, seed, **options)
        run = primitive.run

        def submit(pubs, **kwargs):
            job = run(pubs, **kwargs)
            on_job(pubs, kwargs, job)
            return job

        primitive.run = submit
        return primitive

    monkeypatch.setattr(type(backend), "_primitive", watched)


def test_per_circuit_shots_go_in_one_sampler_job_exactly(fake_ibm, monkeypatch):
    runs = []
    watch_jobs(monkeypatch, fake_ibm, lambda pubs, kwargs, job: runs.append(([p[2] for p in pubs], kwargs)))
    circuits = [Circuit(2).x(0), Circuit(2).h(1), Circuit(2).x(0).x(1)]
    found = fake_ibm.sample(circuits, [100, 37, 513])
    assert runs == [([100, 37, 513], {})]  # one job, exact shots (1216 were sent in 3 jobs before)
    assert [len(f) for f in found] == [100, 37, 513]
    assert (found[0][:, 0] == 1).mean() > 0.8 and (found[2].sum(axis=1) == 2).mean() > 0.8


def test_a_runtime_poll_error_re_polls_the_same_runtime_job(fake_ibm, monkeypatch):
    from qiskit_ibm_runtime.api.exceptions import RequestsApiError

    monkeypatch.setattr("hybridq.backends.jobs.time.sleep", lambda s: None)
    submitted = []

    def fail_first_poll(pubs, kwargs, job):
        submitted.append(job)
        real, calls = job.result, []

        def result(*args, **kw):
            calls.append(1)
            if len(calls) == 1:
                raise RequestsApiError("502 while polling")
            return real(*args, **kw)

        job.result = result

    watch_jobs(monkeypatch, fake_ibm, fail_first_poll)
    (found,) = fake_ibm.sample([Circuit(1).x(0)], 50)
    assert len(submitted) == 1 and found.shape == (50, 1) and found.mean() > 0.8
