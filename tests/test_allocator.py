"""chainrule.allocator: freed arrays stay in the process instead of being faulted in again."""

import os
import pathlib
import resource
import subprocess
import sys

import numpy as np
import pytest

from chainrule import allocator

linux_glibc = pytest.mark.skipif(allocator._glibc() is None, reason="needs Linux with glibc")


@linux_glibc
def test_keep_freed_memory_is_accepted_by_glibc():
    assert allocator.keep_freed_memory() is True


def _faults_of_repeated_steps(steps):
    """Page faults of ``steps`` rounds of four 8 MB arrays made and freed together, like a step's
    activations: with glibc's defaults part of the freed memory goes back to the kernel every round."""

    def step():
        return [np.ones(2 << 20, dtype=np.float32) for _ in range(4)]

    for _ in range(3):
        step()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(steps):
        step()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


@linux_glibc
def test_arrays_freed_after_a_step_are_reused_by_the_next():
    allocator.keep_freed_memory()  # what chainrule's import did
    assert _faults_of_repeated_steps(20) < 2048  # less than one 8 MB array's pages over 20 rounds


@linux_glibc
def test_without_it_glibc_faults_the_pages_in_every_step():
    """The control: a process with glibc's defaults faults ~2,000 pages (8 MB) in again every round."""
    script = (
        "import sys; sys.path.insert(0, {tests!r}); import test_allocator as t; print(t._faults_of_repeated_steps(5))"
    ).format(tests=str(pathlib.Path(__file__).parent))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                            env={**os.environ, "CHAINRULE_KEEP_FREED_MEMORY": "0"})  # fmt: skip
    assert int(result.stdout) > 5 * 1024


def test_the_environment_variable_turns_it_off(monkeypatch):
    calls = []
    monkeypatch.setattr(allocator, "keep_freed_memory", lambda: calls.append(1) or True)
    for off in ("0", "false", "off", " no "):
        monkeypatch.setenv("CHAINRULE_KEEP_FREED_MEMORY", off)
        assert allocator.keep_freed_memory_on_import() is False
    monkeypatch.setenv("CHAINRULE_KEEP_FREED_MEMORY", "1")
    assert allocator.keep_freed_memory_on_import() is True
    assert calls == [1]


def test_other_platforms_change_nothing(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    assert allocator.keep_freed_memory() is False
