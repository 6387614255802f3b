"""Cached predictions: computed once per (model, split), read back after, never another's."""

from __future__ import annotations

import threading

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader
from voc_fixtures import make_voc

from course_utils import runtime
from course_utils.training import cache as predictions
from course_utils.training import evaluation
from course_utils.training import loop as train

SIZES = ((40, 60), (50, 30), (24, 24))


@pytest.fixture
def setup(tmp_path):
    root = make_voc(tmp_path / "data", sizes=SIZES)
    torch.manual_seed(0)
    return root, nn.Conv2d(3, 21, 3, padding=1), evaluation.full_image_loader(root, "train")


@pytest.fixture
def count_predict(monkeypatch):
    """Count the images ``train.predict`` is asked for."""
    calls = []
    real = train.predict

    def counting(model, images):
        calls.append(len(images))
        return real(model, images)

    monkeypatch.setattr(train, "predict", counting)
    return calls


def cached_files():
    return sorted((runtime.checkpoint_dir() / "predictions").glob("*.npz"))


def test_second_call_reads_the_file_and_gives_the_same_maps(setup, count_predict):
    root, net, loader = setup
    first = predictions.predictions(net, loader)
    assert sum(count_predict) == len(SIZES) and len(cached_files()) == 1
    again = predictions.predictions(net, loader)
    assert sum(count_predict) == len(SIZES), "read back, not computed again"
    fresh = [train.predict(net, x)[0] for x, _ in loader]  # an independent computation
    for a, b, c in zip(first, again, fresh, strict=True):
        assert a.dtype == b.dtype == torch.int64 and torch.equal(a, b) and torch.equal(a, c)
    assert [tuple(m.shape) for m in again] == list(SIZES)


def test_changed_weights_or_another_split_compute_again(setup, count_predict):
    root, net, loader = setup
    predictions.predictions(net, loader)
    with torch.no_grad():
        net.bias[3] += 1.0
    predictions.predictions(net, loader)
    assert sum(count_predict) == 2 * len(SIZES) and len(cached_files()) == 2
    other = evaluation.full_image_loader(root, "trainval")  # the same images, another split
    predictions.predictions(net, other)
    assert sum(count_predict) == 3 * len(SIZES) and len(cached_files()) == 3
    predictions.predictions(net, evaluation.full_image_loader(root, "train", max_items=2))
    assert sum(count_predict) == 3 * len(SIZES) + 2 and len(cached_files()) == 4


def test_architecture_settings_without_weights_are_part_of_the_key(setup):
    _, net, loader = setup
    other = nn.Conv2d(3, 21, 3, padding=2, dilation=2)  # same weight shapes, other output
    other.load_state_dict(net.state_dict())
    assert predictions.cache_path(net, loader) != predictions.cache_path(other, loader)


def test_a_damaged_file_is_computed_again_without_an_error(setup, count_predict):
    _, net, loader = setup
    expected = predictions.predictions(net, loader)
    (path,) = cached_files()
    path.write_bytes(path.read_bytes()[:40])  # cut short
    got = predictions.predictions(net, loader)
    assert sum(count_predict) == 2 * len(SIZES)
    assert all(torch.equal(a, b) for a, b in zip(expected, got, strict=True))
    assert predictions._read(path, len(SIZES)) is not None, "rewritten whole"


def test_nothing_is_kept_when_it_could_not_be_recognised(setup, count_predict):
    root, net, loader = setup
    shuffled = DataLoader(loader.dataset, batch_size=1, shuffle=True)
    predictions.predictions(net, shuffled)
    predictions.predictions(net, loader, cache=False)
    predictions.predictions(nn.Identity(), loader)  # no weights to recognise it by
    assert cached_files() == [] and sum(count_predict) == 3 * len(SIZES)


def test_region_matrices_use_the_cache_and_agree_with_computing(setup, count_predict):
    _, net, loader = setup
    computed = evaluation.summarize(evaluation.region_matrices(net, loader, cache=False))
    evaluation.region_matrices(net, loader)
    read = evaluation.summarize(evaluation.region_matrices(net, loader))
    assert read == computed and sum(count_predict) == 2 * len(SIZES)


def test_two_runs_at_once_leave_one_whole_file(setup, monkeypatch):
    """No lock: both may compute, each writes atomically, so the file is always whole."""
    _, net, loader = setup
    out = []
    threads = [threading.Thread(target=lambda: out.append(predictions.predictions(net, loader)))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(out) == 2 and all(torch.equal(a, b) for a, b in zip(*out, strict=True))
    (path,) = cached_files()
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left over
    assert all(torch.equal(a, b) for a, b in zip(predictions._read(path, len(SIZES)), out[0],
                                                 strict=True))


def test_refresh_computes_even_when_a_file_exists_and_replaces_it(setup, count_predict):
    _, net, loader = setup
    path = predictions.cache_path(net, loader)
    predictions._write(path, [torch.zeros(h, w, dtype=torch.long) for h, w in SIZES])
    fresh = predictions.predictions(net, loader, refresh=True)
    assert sum(count_predict) == len(SIZES)
    assert all(torch.equal(a, b) for a, b in zip(predictions._read(path, len(SIZES)), fresh,
                                                 strict=True))
