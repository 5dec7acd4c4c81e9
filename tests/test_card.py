"""The card of a release, typed and checked in one place (`mist.card.Card`)."""

import json

import pytest

from mist.card import Card, CheckpointError, TrainedRanges
from mist.release import load_release

RANGES = {"n": [16, 8192], "dx": [1, 32], "dy": [1, 32], "mi": [0.0, 16.0]}
LEVELS = [0.05, 0.25, 0.5, 0.75, 0.95]
CAL = {"edges": [16, 1024, 8193], "offsets": [[0.0] * 5, [0.1] * 5], "levels": LEVELS}


def test_the_shipped_card_loads_typed():
    _, card = load_release(_shipped())
    assert isinstance(card, Card)
    assert card.levels == tuple(LEVELS)
    assert isinstance(card.trained_ranges, TrainedRanges) and card.trained_ranges.n[0] <= card.trained_ranges.n[1]
    assert card.calibration is not None and card.calibration["edges"] == card["calibration"]["edges"]
    assert card.training.get("generator") and card.weights_sha256 == card["weights_sha256"]
    assert json.loads(json.dumps(dict(card))) == dict(card)  # still the JSON, as a mapping


def test_a_card_is_read_only():
    card = Card({"trained_ranges": RANGES}, levels=LEVELS)
    with pytest.raises(TypeError):
        card["calibration"] = CAL  # type: ignore[index]


def test_ranges_and_calibration_are_checked_where_the_card_is_read():
    assert Card({"trained_ranges": RANGES, "calibration": CAL}, levels=LEVELS).calibration["offsets"][1] == [0.1] * 5
    with pytest.raises(CheckpointError, match="trained_ranges"):
        Card({"trained_ranges": dict(RANGES, n=[8192, 16])}, levels=LEVELS)
    with pytest.raises(CheckpointError, match="calibration.*recalibrate with `mist calibrate`"):
        Card({"trained_ranges": RANGES, "calibration": dict(CAL, offsets=[[0.0] * 4] * 2)}, levels=LEVELS)
    with pytest.raises(CheckpointError, match="calibration.*recalibrate"):
        Card({"trained_ranges": RANGES, "calibration": dict(CAL, levels=[0.1, 0.5, 0.9])}, levels=LEVELS)


def test_estimation_needs_the_ranges_and_says_how_to_get_them():
    card = Card({}, levels=LEVELS)
    assert card.trained_ranges is None
    with pytest.raises(CheckpointError, match="re-export the checkpoint with `mist-export`"):
        card.ranges()


def test_a_release_card_must_follow_the_whole_schema(tmp_path):
    with pytest.raises(CheckpointError, match="format_version"):
        Card({"trained_ranges": RANGES}, tmp_path / "x.json", release=True)
    with pytest.raises(CheckpointError, match="not an object"):
        Card([1, 2], tmp_path / "x.json")  # type: ignore[arg-type]


def _shipped():
    from mist.inference.estimator import default_checkpoint

    return default_checkpoint()
