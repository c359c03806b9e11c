"""Shared tiny trained runs (built once per session) for the lpm.ldm tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ldm.helpers import set_threads, tiny_autoencoder, tiny_ldm

set_threads()


@pytest.fixture(scope="session")
def ae2d(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_autoencoder(tmp_path_factory.mktemp("ae2d"), dims=2)


@pytest.fixture(scope="session")
def ldm2d(tmp_path_factory: pytest.TempPathFactory, ae2d: Path) -> Path:
    return tiny_ldm(tmp_path_factory.mktemp("ldm2d"), ae2d, dims=2)
