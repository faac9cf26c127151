"""The property tests reach the new surfaces (issue 26): any lab string payload, any
history arrays, beside the checkpoint fields, decode to a checked value or one line."""

from __future__ import annotations

import json
import zlib

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from aetui.config import field_names
from aetui.training import history, labstring

SCALARS = (st.none() | st.booleans() | st.integers(-2**60, 2**60)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=4), inner, max_size=3),
                      max_leaves=8)
NAMES = st.sampled_from([*field_names(), "nope", ""])


def forged(payload) -> str:
    text = json.dumps(payload) if not isinstance(payload, str) else payload
    head = f"ae1.{labstring._b64(zlib.compress(text.encode(), 9))}"
    return f"{head}.{labstring._check(head)}"


PAYLOADS = st.fixed_dictionaries(
    {"v": st.text(max_size=4) | VALUES, "d": st.lists(st.text(max_size=6), max_size=3) | VALUES,
     "s": st.dictionaries(NAMES, SCALARS, max_size=5) | VALUES,
     "k": st.lists(st.tuples(st.integers(-2, 2**54) | VALUES, NAMES, SCALARS).map(list),
                   max_size=5) | VALUES,
     "n": st.integers(-2, 2**54) | VALUES},
    optional={"t": st.integers(-2, 10**7) | VALUES, "cpu": VALUES})


@given(PAYLOADS)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_lab_string_payload_is_a_checked_record_or_one_line(payload):
    try:
        record = labstring.decode(forged(payload))
    except labstring.LabStringError as exc:
        assert "\n" not in str(exc)
        return
    # What is accepted is usable: settings valid at every step, no path, replayable knobs.
    assert record.settings.data_dir is None and ":" not in record.settings.dataset
    for change in record.changes:
        assert change.name not in labstring.NOT_REPLAYABLE
        record.settings_at(change.step).validate()
    assert 1 <= record.split <= labstring.MAX_SPLIT
    # And encodes back to a string that decodes to the same record.
    again = labstring.decode(labstring.encode(record))
    assert (again.settings, again.changes, again.step) == (record.settings, record.changes,
                                                           record.step)


@given(st.text(alphabet="[]{}\"\\,:0a ", max_size=200))
@settings(max_examples=200, deadline=None)
def test_any_payload_text_is_one_line(text):
    try:
        labstring.decode(forged(text))
    except labstring.LabStringError as exc:
        assert "\n" not in str(exc)


INDEX_RECORD = st.fixed_dictionaries({
    "step": st.integers(-1, 2**54) | VALUES, "epoch": st.floats() | VALUES,
    "state": st.sampled_from(["training", "paused"]) | VALUES,
    "settings": st.dictionaries(st.text(max_size=3), SCALARS, max_size=2) | VALUES,
    "train": st.none() | st.lists(st.floats(allow_nan=False), min_size=3, max_size=3) | VALUES,
    "val": st.none() | VALUES,
    "units": st.lists(st.integers(-1, 3), max_size=3) | VALUES,
    "k": st.integers(-1, 4) | VALUES, "digits": st.integers(-1, 3) | VALUES,
    "n_in": st.integers(-1, 9) | VALUES,
    "image_shape": st.lists(st.integers(-1, 3), min_size=2, max_size=2) | VALUES,
    "message": st.text(max_size=4) | VALUES})
ARRAY = hnp.arrays(st.sampled_from([np.float16, np.float32, np.int8, np.float64]),
                   hnp.array_shapes(min_dims=0, max_dims=2, max_side=40))


@given(st.lists(INDEX_RECORD, max_size=3) | VALUES,
       st.dictionaries(st.sampled_from(["rho_hat", "filters", "clean", "corrupted", "recon"]),
                       ARRAY))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_history_arrays_give_snapshots_or_a_value_error(index, arrays):
    stored = {f"history_{k}": v for k, v in arrays.items()}
    stored["history_index"] = np.array(json.dumps(index))
    try:
        snaps = history.from_arrays(stored)
    except ValueError as exc:
        assert "\n" not in str(exc)
        return
    for snap in snaps:
        assert snap.filters.shape == (len(snap.filter_units), snap.n_in)
        assert snap.image_shape[0] * snap.image_shape[1] == snap.n_in


def test_a_real_history_round_trips():
    from aetui.training.snapshots import LossTerms, Snapshot

    rng = np.random.default_rng(0)
    snaps = [Snapshot(step=i, epoch=i / 10, state="training", samples_per_s=1.0,
                      settings={"q": 0.3}, train=LossTerms(1.0, 0.1, 0.0), val=None,
                      rho_hat=rng.random(5).astype(np.float32), filter_units=(0, 1),
                      filters=rng.random((2, 16)).astype(np.float32),
                      clean=rng.random((3, 16)).astype(np.float32),
                      corrupted=rng.random((3, 16)).astype(np.float32),
                      recon=rng.random((3, 16)).astype(np.float32), n_in=16,
                      image_shape=(4, 4)) for i in range(3)]
    back = history.from_arrays(history.to_arrays(snaps))
    assert [s.step for s in back] == [0, 1, 2]
    assert np.allclose(back[1].filters, snaps[1].filters, atol=1e-3)
