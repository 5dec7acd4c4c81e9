"""The release format: weights and card bind each other, the card follows a schema, and every
damaged or edited release is refused with CheckpointError (never another exception, never a
silently changed estimate)."""

import json

import numpy as np
import pytest
import torch

from mist import CheckpointError, MIEstimator
from mist.model import MISTNetwork, NetworkConfig
from mist.release import load_release, save_release
from mist.tensorfiles import json_sha256

RANGES = {"n": [16, 256], "dx": [1, 4], "dy": [1, 4], "mi": [0.0, 10.0], "max_mi_per_dim": 8.0}
CAL = {"method": "split-conformal", "levels": [0.05, 0.25, 0.5, 0.75, 0.95], "edges": [16, 64, 256],
       "count": [0, 0], "offsets": [[0.0] * 5, [0.0] * 5]}


@pytest.fixture()
def release(tmp_path):
    torch.manual_seed(0)
    net = MISTNetwork(NetworkConfig(hidden=8, sample_hidden=8, heads=2, blocks=1, sample_blocks=1, inducing_points=2))
    save_release(net, {"trained_ranges": RANGES, "calibration": CAL}, tmp_path / "m")
    return tmp_path / "m"


def _edit(card, key, value):
    out = json.loads(json.dumps(card))
    out[key] = value
    return out


def test_a_saved_release_loads_and_binds_its_card(release):
    net, card = load_release(release)
    assert card["format_version"] == 2 and len(card["weights_sha256"]) == 64
    assert isinstance(net, MISTNetwork) and not net.training


def test_resaving_a_loaded_release_is_how_a_card_is_changed(release):
    net, card = load_release(release)
    save_release(net, {**card, "calibration": dict(CAL, offsets=[[0.1] * 5, [0.0] * 5])}, release)
    assert load_release(release)[1]["calibration"]["offsets"][0] == [0.1] * 5


@pytest.mark.parametrize("key, value", [
    ("calibration", dict(CAL, offsets=[[3.0] * 5, [3.0] * 5])),  # silently shifts every interval
    ("calibration", None),                                          # silently uncalibrated
    ("trained_ranges", dict(RANGES, n=[16, 10**6])),                # silently no warnings
    ("mist_version", "9.9.9"),
    ("exported", "yesterday"),                                       # a key the schema does not know
])
def test_an_edited_card_is_refused(release, key, value):
    card_path = release.with_suffix(".json")
    card = json.loads(card_path.read_text())
    card_path.write_text(json.dumps(_edit(card, key, value)))
    with pytest.raises(CheckpointError, match="edited after export"):
        MIEstimator.from_pretrained(release, device="cpu")


def test_every_card_field_edit_is_refused(release):
    card_path = release.with_suffix(".json")
    card = json.loads(card_path.read_text())
    for key in card:
        value = card[key]
        changed = (value + 1 if isinstance(value, (int, float)) and not isinstance(value, bool)
                   else value + "x" if isinstance(value, str)
                   else [*value, 0] if isinstance(value, list)
                   else {**value, "z": 1} if isinstance(value, dict) else "x")
        card_path.write_text(json.dumps(_edit(card, key, changed)))
        with pytest.raises(CheckpointError):
            load_release(release)
        card_path.write_text(json.dumps({k: v for k, v in card.items() if k != key}))  # deleted
        with pytest.raises(CheckpointError):
            load_release(release)
    card_path.write_text(json.dumps(card))
    load_release(release)  # the original still loads


def test_flipped_bytes_in_the_card_are_refused(release):
    card_path = release.with_suffix(".json")
    original = card_path.read_bytes()
    for pos in np.linspace(0, len(original) - 2, 25).astype(int):  # the last byte is a newline
        data = bytearray(original)
        data[pos] ^= 0x01
        card_path.write_bytes(bytes(data))
        with pytest.raises(CheckpointError):
            load_release(release)


def test_flipped_bytes_in_the_weights_are_refused(release):
    weights = release.with_suffix(".safetensors")
    original = weights.read_bytes()
    for pos in np.linspace(0, len(original) - 1, 12).astype(int):
        data = bytearray(original)
        data[pos] ^= 0x01
        weights.write_bytes(bytes(data))
        with pytest.raises(CheckpointError):
            load_release(release)
    weights.write_bytes(original[: len(original) // 2])  # truncated
    with pytest.raises(CheckpointError):
        load_release(release)


@pytest.mark.parametrize("content, match", [
    ("[1, 2]", "not an object"),
    ("{\"format_version\": 2}", "architecture"),
    ("not json", "not valid JSON"),
])
def test_malformed_cards_name_the_problem(release, content, match):
    release.with_suffix(".json").write_text(content)
    with pytest.raises(CheckpointError, match=match):
        load_release(release)


def test_an_unknown_architecture_key_is_refused(release):
    card_path = release.with_suffix(".json")
    card = json.loads(card_path.read_text())
    card["architecture"]["depth"] = 3
    card_path.write_text(json.dumps(card))
    with pytest.raises(CheckpointError, match="unknown keys"):
        load_release(release)


def test_the_digest_ignores_only_the_weights_sha256():
    card = {"a": 1, "weights_sha256": "x"}
    assert json_sha256(card) == json_sha256({"a": 1, "weights_sha256": "y"}) != json_sha256({"a": 2})


def test_a_saved_release_is_readable_by_others(tmp_path):
    """safetensors writes through a private temporary file; a shared checkpoint must not stay 0600."""
    import os
    import stat

    from mist.model import MISTNetwork, NetworkConfig
    from mist.release import save_release

    net = MISTNetwork(NetworkConfig(hidden=8, sample_hidden=8, heads=2, blocks=1))
    save_release(net, {"trained_ranges": {"n": [16, 64], "dx": [1, 4], "dy": [1, 4], "mi": [0, 3], "max_mi_per_dim": 8.0}},
                 tmp_path / "t")
    umask = os.umask(0)
    os.umask(umask)
    for suffix in (".safetensors", ".json"):
        mode = stat.S_IMODE(os.stat(tmp_path / f"t{suffix}").st_mode)
        assert mode == 0o666 & ~umask, (suffix, oct(mode))


def test_an_empty_checkpoint_path_names_the_fix():
    import mist
    from mist.release import CheckpointError

    with pytest.raises(CheckpointError, match="checkpoint path is empty"):
        mist.MIEstimator.from_pretrained("")


def test_saving_the_same_release_again_gives_the_same_bytes(release, tmp_path):
    net, card = load_release(release)
    digests = set()
    for i in range(5):
        weights, card_path = save_release(net, card, tmp_path / f"copy{i}" / "mist")
        digests.add((weights.read_bytes(), card_path.read_text()))
    assert len(digests) == 1
