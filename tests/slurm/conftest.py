"""The session's Slurm cluster (tests/slurm/cluster.py): started once, stopped at the end.

Tests that take ``slurm_cluster`` are skipped, with the reason, where Slurm's packages are
not installed (``make slurm``) or the daemons cannot start.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.slurm.cluster import ClusterUnavailable, SlurmCluster, missing_programs

ENERGY_W = 100.0


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlurmCluster]:
    """A running single-node cluster with accounting; SLURM_CONF in ``.env``.

    Its energy plugin (acct_gather_energy/pm_counters) reads a fake counter at ENERGY_W
    watts where slurmd can have a mount namespace of its own; else ``energy_w`` is None.
    """
    missing = missing_programs()
    if missing:
        pytest.skip(f"Slurm is not installed ({', '.join(missing)} missing; run make slurm)")
    cluster = SlurmCluster(tmp_path_factory.mktemp("slurm"), energy_w=ENERGY_W)
    try:
        cluster.start()
    except ClusterUnavailable as exc:  # e.g. no unshare -m for the fake energy counter
        cluster = SlurmCluster(tmp_path_factory.mktemp("slurm"))
        cluster.energy_note = f"the fake energy counter did not start: {exc}"
        try:
            cluster.start()
        except ClusterUnavailable as exc2:
            pytest.skip(f"the Slurm test cluster did not start: {exc2}")
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def slurm_env(slurm_cluster: SlurmCluster, monkeypatch: pytest.MonkeyPatch) -> SlurmCluster:
    """The cluster, with SLURM_CONF set in os.environ for the test (code that runs sbatch)."""
    monkeypatch.setenv("SLURM_CONF", str(slurm_cluster.conf))
    return slurm_cluster


@pytest.fixture(scope="session")
def slurm_two_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlurmCluster]:
    """Two slurmd on this machine (nodes lpm1, lpm2 on ports of their own), no accounting:
    the multi-node case simulated. Started only by the tests that take it (about 1 s)."""
    missing = missing_programs(accounting=False)
    if missing:
        pytest.skip(f"Slurm is not installed ({', '.join(missing)} missing; run make slurm)")
    cluster = SlurmCluster(tmp_path_factory.mktemp("slurm2"), accounting=False, nodes=2, node="lpm")
    try:
        cluster.start()
    except ClusterUnavailable as exc:
        pytest.skip(f"two slurmd on one machine did not start: {exc}")
    try:
        yield cluster
    finally:
        cluster.stop()
