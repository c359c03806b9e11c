"""Provenance: the type every energy number carries from meter to report."""

import pytest

from lpm.provenance import Provenance, describe_parts


def test_combine_keeps_a_common_value_and_mixes_different_ones() -> None:
    m, e, s = Provenance.MEASURED, Provenance.ESTIMATED, Provenance.SIMULATED
    assert Provenance.combine([m, m]) is m
    assert Provenance.combine([s, "simulated"]) is s
    assert Provenance.combine([m, e]) is Provenance.MIXED
    assert Provenance.combine([m, s]) is Provenance.MIXED
    assert Provenance.combine([]) is e  # nothing measured is never "measured"


def test_parse_reads_old_estimated_flags_and_refuses_unknown_values() -> None:
    assert Provenance.parse(True) is Provenance.ESTIMATED
    assert Provenance.parse(False) is Provenance.MEASURED
    assert Provenance.parse(None) is Provenance.ESTIMATED
    assert Provenance.parse(" Simulated ") is Provenance.SIMULATED
    with pytest.raises(ValueError, match="unknown provenance 'guessed'"):
        Provenance.parse("guessed")


def test_flags_and_json_value() -> None:
    assert Provenance.MEASURED.is_measured and not Provenance.MEASURED.is_estimated
    assert Provenance.MIXED.is_estimated and not Provenance.MIXED.is_measured
    assert not Provenance.SIMULATED.is_measured and not Provenance.SIMULATED.is_estimated
    assert f"{Provenance.SIMULATED}" == "simulated"


def test_describe_parts_says_which_part_is_which() -> None:
    parts = {"gpu": "measured", "cpu": "estimated", "dram": Provenance.ESTIMATED}
    assert describe_parts(parts) == "gpu measured; cpu, dram estimated"
    assert describe_parts({"gpu": "simulated"}) == "all simulated"
