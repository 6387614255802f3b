"""Tests for course_utils.train: the loop, schedules, AMP choice, evaluation, checkpoints.

Everything runs on the CPU with a tiny conv net on synthetic 12x12 images, so the whole file
takes a few seconds. The GPU-only settings (autocast, GradScaler, channels_last) are exercised
on the CPU by patching the device decision.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from course_utils import runtime, train
from course_utils.metrics import ConfusionMatrix

C = 3  # classes in the synthetic task
VOID = 255


class Flip(Dataset):
    """Synthetic segmentation: the label is the channel with the largest value; a void band
    at the left edge; a random horizontal flip (drawn from torch's RNG, like the VOC
    transforms) so that resuming must restore the random state to reproduce a run."""

    def __init__(self, n=16, size=12, seed=0, flip=True):
        g = torch.Generator().manual_seed(seed)
        self.flip = flip
        self.images = torch.randn(n, 3, size, size, generator=g)
        self.labels = self.images.argmax(1)
        self.labels[:, :, :2] = VOID

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        image, label = self.images[i], self.labels[i]
        if self.flip and float(torch.rand(())) < 0.5:
            image, label = image.flip(-1), label.flip(-1)
        return image, label


def tiny_net():
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, C, 1))


def pixel_net():
    """1x1 convolutions only: a pixel's logits depend on that pixel alone."""
    return nn.Sequential(nn.Conv2d(3, 8, 1), nn.ReLU(), nn.Conv2d(8, C, 1))


def loader(dataset=None, batch_size=4, seed=0, shuffle=True):
    gen = torch.Generator().manual_seed(seed)
    return DataLoader(dataset or Flip(), batch_size, shuffle=shuffle, generator=gen)


def run(net_fn=tiny_net, seed=0, dataset=None, **kwargs):
    """Seed, build a model and loader, fit on the CPU; return (model, history)."""
    runtime.set_seed(seed)
    model = net_fn()
    kwargs = {"epochs": 2, "lr": 1e-2, "num_classes": C, "device": "cpu",
              "progress": False} | kwargs
    history = train.fit(model, loader(dataset, seed=seed), **kwargs)
    return model, history


def without_time(history):
    return [{k: v for k, v in e.items() if k != "seconds"} for e in history]


def same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.fixture(autouse=True)
def _one_thread():
    """CPU results are bit-identical only at a fixed thread count (as in the fast profile)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class Stop(Exception):
    """Raised by :class:`InterruptingLoss` to simulate a run killed part-way."""


class InterruptingLoss(nn.Module):
    """Cross-entropy that raises :class:`Stop` on call number ``stop_at`` (1-based)."""

    def __init__(self, stop_at=None):
        super().__init__()
        self.ce, self.calls, self.stop_at = nn.CrossEntropyLoss(ignore_index=VOID), 0, stop_at

    def forward(self, logits, target):
        self.calls += 1
        if self.calls == self.stop_at:
            raise Stop
        return self.ce(logits, target)


# --------------------------------------------------------------------------- the loop
def test_history_keys_and_loss_decreases():
    _, history = run(epochs=6, lr=0.05)
    assert [e["epoch"] for e in history] == list(range(1, 7))
    assert all(set(e) == set(train.HISTORY_KEYS) for e in history)
    assert history[-1]["loss"] < 0.7 * history[0]["loss"]
    assert history[-1]["miou"] > history[0]["miou"]
    assert all(0 <= e["pixel_acc"] <= 1 and e["seconds"] > 0 for e in history)


def test_val_loader_metrics_come_from_evaluate():
    val = loader(Flip(8, seed=1, flip=False), shuffle=False)
    model, history = run(val_loader=val)
    scores = train.evaluate(model, val, C).compute()
    assert history[-1]["miou"] == pytest.approx(scores["miou"])
    assert history[-1]["pixel_acc"] == pytest.approx(scores["pixel_acc"])


def test_void_pixels_do_not_affect_training():
    """Changing the images only where the label is void (255) changes nothing: not the loss,
    not the gradients (weights), not the metrics. A pixel-wise model makes the void pixels'
    logits the only thing that changes."""
    data = Flip()
    other = Flip()
    void = (other.labels == VOID).unsqueeze(1).expand_as(other.images)
    other.images = torch.where(void, 100.0 * torch.randn_like(other.images), other.images)
    model_a, hist_a = run(pixel_net, dataset=data)
    model_b, hist_b = run(pixel_net, dataset=other)
    assert without_time(hist_a) == without_time(hist_b)
    assert same_weights(model_a, model_b)


def test_deterministic_same_seed():
    model_a, hist_a = run(epochs=3, schedule="cosine", optimizer="sgd")
    model_b, hist_b = run(epochs=3, schedule="cosine", optimizer="sgd")
    assert without_time(hist_a) == without_time(hist_b)
    assert same_weights(model_a, model_b)
    model_c, _ = run(seed=1, epochs=3, schedule="cosine", optimizer="sgd")
    assert not same_weights(model_a, model_c)


def test_device_defaults_to_runtime_device(monkeypatch):
    calls = []
    monkeypatch.setattr(runtime, "device", lambda: calls.append(1) or torch.device("cpu"))
    run(device=None, epochs=1)
    assert calls == [1]


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="epochs"):
        run(epochs=0)
    with pytest.raises(ValueError, match="optimizer"):
        run(optimizer="adam-ish")
    with pytest.raises(ValueError, match="schedule"):
        run(schedule="step")
    with pytest.raises(ValueError, match="empty"):
        train.fit(tiny_net(), DataLoader(Flip(2), 4, drop_last=True), device="cpu")
    with pytest.raises(ValueError, match="scalar"):
        run(loss=nn.CrossEntropyLoss(ignore_index=VOID, reduction="none"))
    with pytest.raises(TypeError, match="config"):
        run(config={"transform": object()})
    with pytest.raises(TypeError, match=r"config\['lr'\]"):  # would not load weights_only
        run(config={"lr": np.float64(0.1)})


# --------------------------------------------------------------------------- schedules
@pytest.mark.parametrize("step,total", [(0, 10), (3, 10), (9, 10), (10, 10), (250, 1000)])
def test_lr_factor_formulas(step, total):
    t = step / total
    assert train.lr_factor("poly", step, total) == pytest.approx((1 - t) ** 0.9)
    assert train.lr_factor("cosine", step, total) == pytest.approx((1 + math.cos(math.pi * t)) / 2)
    assert train.lr_factor(None, step, total) == 1.0


class LrRecorder(nn.Module):
    """A cross-entropy that records the optimizer's learning rate at every call."""

    def __init__(self, optimizer_box):
        super().__init__()
        self.box, self.lrs = optimizer_box, []
        self.ce = nn.CrossEntropyLoss(ignore_index=VOID)

    def forward(self, logits, target):
        self.lrs.append(self.box[0].param_groups[0]["lr"])
        return self.ce(logits, target)


@pytest.mark.parametrize("schedule", ["poly", "cosine", None])
def test_schedule_is_stepped_every_iteration(schedule):
    runtime.set_seed(0)
    model = tiny_net()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    rec = LrRecorder([opt])
    dl = loader()
    train.fit(model, dl, loss=rec, epochs=2, optimizer=opt, schedule=schedule,
              num_classes=C, device="cpu", progress=False)
    total = 2 * len(dl)
    expected = [0.1 * train.lr_factor(schedule, i, total) for i in range(total)]
    assert rec.lrs == pytest.approx(expected)


# --------------------------------------------------------------------------- AMP choice
def test_accel_on_cpu_is_plain_float32():
    acc = train.accel_for("cpu")
    assert (acc.amp_dtype, acc.grad_scaler, acc.channels_last) == (None, False, False)


@pytest.mark.parametrize("bf16,dtype,scaler", [(True, torch.bfloat16, False),
                                               (False, torch.float16, True)])
def test_accel_on_cuda_picks_amp_dtype(monkeypatch, bf16, dtype, scaler):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)
    acc = train.accel_for("cuda")
    assert acc.device == torch.device("cuda")
    assert (acc.amp_dtype, acc.grad_scaler, acc.channels_last) == (dtype, scaler, True)


class DtypeProbe(nn.Module):
    """Records the dtype of its first layer's output and whether its input is channels_last."""

    def __init__(self):
        super().__init__()
        self.net, self.seen = tiny_net(), set()

    def forward(self, x):
        h = self.net[0](x)
        self.seen.add((h.dtype, x.is_contiguous(memory_format=torch.channels_last)))
        return self.net[2](self.net[1](h))


@pytest.mark.parametrize("dtype,scaler", [(torch.bfloat16, False), (torch.float16, True)])
def test_amp_branch_runs_and_learns_on_cpu(monkeypatch, dtype, scaler):
    """The CUDA code path (autocast, GradScaler, channels_last) driven on the CPU."""
    accel = train.Accel(torch.device("cpu"), dtype, grad_scaler=scaler, channels_last=True)
    monkeypatch.setattr(train, "accel_for", lambda device: accel)
    model, history = run(DtypeProbe, epochs=4)
    assert model.seen == {(dtype, True)}
    assert model.net[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert history[-1]["loss"] < history[0]["loss"]


# --------------------------------------------------------------------------- evaluate, predict
def test_evaluate_matches_a_hand_made_confusion_matrix():
    """Dropout makes train-mode logits random: evaluate must switch to eval mode (and back)."""
    runtime.set_seed(0)
    model = nn.Sequential(tiny_net(), nn.Dropout(0.5)).train()
    dl = loader(Flip(flip=False), shuffle=False)
    cm = train.evaluate(model, dl, num_classes=C)
    assert model.training
    expected = torch.zeros(C, C, dtype=torch.int64)
    model.eval()
    with torch.no_grad():
        for x, y in dl:
            pred = model(x).argmax(1)
            keep = y != VOID
            expected += torch.bincount(y[keep] * C + pred[keep], minlength=C * C).view(C, C)
    assert isinstance(cm, ConfusionMatrix)
    assert torch.equal(cm.matrix, expected)


def test_predict_labels_in_eval_mode():
    runtime.set_seed(0)
    model = nn.Sequential(tiny_net(), nn.Dropout(0.9)).train()
    x = torch.randn(2, 3, 12, 12)
    labels = train.predict(model, x)
    assert model.training  # mode restored
    assert labels.shape == (2, 12, 12) and labels.dtype == torch.int64
    with torch.no_grad():
        assert torch.equal(labels, model.eval()(x).argmax(1))
    with pytest.raises(ValueError, match="images"):
        train.predict(model, x[0])


# --------------------------------------------------------------------------- checkpoints
def test_checkpoint_round_trip(tmp_path):
    runtime.set_seed(0)
    model, path = tiny_net(), tmp_path / "sub" / "m.pt"
    history = [{"epoch": 1, "loss": 1.0, "pixel_acc": 0.5, "miou": 0.25, "seconds": 0.1}]
    config = {"crop": (8, 8), "model": "tiny", "lr": 0.01, "tags": ["a", None, True]}
    train.save_checkpoint(path, model, history, config)
    assert [p.name for p in path.parent.iterdir()] == ["m.pt"]  # no temporary left over
    runtime.set_seed(1)
    other = tiny_net()
    state = train.load_checkpoint(path, other)
    assert same_weights(model, other)
    assert state["history"] == history and state["config"] == config


def test_load_checkpoint_errors(tmp_path):
    path = tmp_path / "m.pt"
    train.save_checkpoint(path, tiny_net())
    with pytest.raises(train.CheckpointError, match="different model"):
        train.load_checkpoint(path, pixel_net())
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(train.CheckpointError, match="unreadable"):
        train.load_checkpoint(tmp_path / "junk.pt")
    torch.save({"weights": torch.zeros(1)}, tmp_path / "foreign.pt")
    with pytest.raises(train.CheckpointError, match="not a course_utils"):
        train.load_checkpoint(tmp_path / "foreign.pt")
    with pytest.raises(FileNotFoundError):
        train.load_checkpoint(tmp_path / "missing.pt")
    with pytest.raises(ValueError, match="ending in"):
        train.save_checkpoint(tmp_path / "notes.txt", tiny_net())


@pytest.mark.parametrize("fail_in", ["torch.save", "os.fsync"])
def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch, fail_in):
    path = tmp_path / "m.pt"
    train.save_checkpoint(path, tiny_net(), config={"v": 1})

    def broken(obj, *args):
        if hasattr(obj, "write"):
            obj.write(b"half")
        raise OSError("disk full")

    module, name = fail_in.split(".")
    monkeypatch.setattr({"torch": torch, "os": os}[module], name, broken)
    with pytest.raises(OSError, match="disk full"):
        train.save_checkpoint(path, tiny_net(), config={"v": 2})
    monkeypatch.undo()
    assert train.load_checkpoint(path)["config"] == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]


def test_resume_matches_uninterrupted_training(tmp_path):
    cfg = {"run": "resume"}
    kw = {"epochs": 3, "val_loader": loader(Flip(8, seed=1), shuffle=False), "config": cfg}
    full_model, full_hist = run(loss=InterruptingLoss(), checkpoint=tmp_path / "full.pt", **kw)
    path = tmp_path / "cut.pt"
    with pytest.raises(Stop):  # killed in the middle of epoch 2 (4 batches per epoch)
        run(loss=InterruptingLoss(stop_at=6), checkpoint=path, **kw)
    assert len(train.load_checkpoint(path)["history"]) == 1
    # a fresh process: new seed-0 model and loader, then resume from the checkpoint
    resumed_model, resumed_hist = run(loss=InterruptingLoss(), checkpoint=path, **kw)
    assert without_time(resumed_hist) == without_time(full_hist)
    assert same_weights(resumed_model, full_model)


def test_complete_checkpoint_skips_training(tmp_path, capsys):
    path, cfg = tmp_path / "m.pt", {"run": "skip"}
    model, history = run(checkpoint=path, config=cfg)
    never = InterruptingLoss(stop_at=1)
    again, stored = run(seed=5, loss=never, checkpoint=path, config=cfg, progress=True)
    assert never.calls == 0
    assert stored == history  # seconds included: the stored history itself
    assert same_weights(again, model)
    assert "2/2 epochs done" in capsys.readouterr().out


@pytest.mark.parametrize("damage", ["garbage", "truncated", "foreign"])
def test_corrupt_checkpoint_retrains_with_message(tmp_path, capsys, damage):
    path, cfg = tmp_path / "m.pt", {"run": "corrupt"}
    _, reference = run(config=cfg)
    run(checkpoint=path, config=cfg)
    if damage == "garbage":
        path.write_bytes(b"\x00garbage")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:200])
    else:
        torch.save([1, 2, 3], path)
    capsys.readouterr()
    _, history = run(checkpoint=path, config=cfg)
    out = capsys.readouterr().out.strip()
    assert len(out.splitlines()) == 1 and "training from scratch" in out
    assert without_time(history) == without_time(reference)
    assert len(train.load_checkpoint(path)["history"]) == 2  # replaced by a good one


@pytest.mark.parametrize("change", [{"config": {"run": "mismatch", "crop": 9}},
                                    {"net_fn": pixel_net},
                                    {"epochs": 3},
                                    {"lr": 0.5}])
def test_mismatched_checkpoint_retrains(tmp_path, capsys, change):
    path = tmp_path / "m.pt"
    run(checkpoint=path, config={"run": "mismatch", "crop": 8})
    capsys.readouterr()
    kwargs = {"config": {"run": "mismatch", "crop": 8}} | change
    counting = InterruptingLoss()
    _, history = run(loss=counting, checkpoint=path, **kwargs)
    out = capsys.readouterr().out
    assert "training from scratch" in out and "saved" in out
    assert counting.calls == 4 * len(history)  # every epoch trained again
    assert train.load_checkpoint(path)["config"] == kwargs["config"]


def test_checkpoint_must_be_a_checkpoint_file_name(tmp_path):
    with pytest.raises(ValueError, match="checkpoint"):
        run(checkpoint=tmp_path / "notebook.ipynb")


# --------------------------------------------------------------------------- viz.plot_history
def test_plot_history_draws_the_three_curves():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from course_utils import viz

    history = [{"epoch": i, "loss": 1 / i, "pixel_acc": 0.5 + 0.1 * i, "miou": 0.1 * i,
                "seconds": 1.0} for i in (1, 2, 3)]
    ax = viz.plot_history(history)
    assert [list(line.get_ydata()) for line in ax[1].lines] == [
        [e["pixel_acc"] for e in history], [e["miou"] for e in history]]
    assert list(ax[0].lines[0].get_ydata()) == [e["loss"] for e in history]
    viz.plot_history(history[:2], ax=ax, label="run 2")
    assert len(ax[0].lines) == 2 and ax[0].lines[1].get_label() == "run 2 loss"
    plt.close("all")
    with pytest.raises(ValueError, match="empty"):
        viz.plot_history([])
    with pytest.raises(ValueError, match="miou"):
        viz.plot_history([{"epoch": 1, "loss": 1.0, "pixel_acc": 0.5}])


def test_checkpoint_of_another_model_is_kept_not_overwritten(tmp_path, capsys):
    path = tmp_path / "m.pt"
    run(checkpoint=path, config={"run": "keep"})
    before = path.read_bytes()
    capsys.readouterr()
    run(checkpoint=path, config={"run": "keep"}, net_fn=pixel_net)
    out = capsys.readouterr().out
    kept = tmp_path / "m.old1.pt"
    assert kept.read_bytes() == before, "the other model's checkpoint must survive, renamed"
    assert "kept it as" in out and "m.old1.pt" in out
    assert train.load_checkpoint(path, pixel_net())  # the new run's checkpoint
    run(checkpoint=path, config={"run": "keep"})  # and back: a second one gets the next name
    assert (tmp_path / "m.old2.pt").is_file() and kept.read_bytes() == before


def test_on_epoch_sees_every_trained_epoch_and_none_that_was_skipped(tmp_path):
    seen = []
    _, history = run(epochs=3, checkpoint=tmp_path / "m.pt", on_epoch=seen.append)
    assert seen == history
    again = []
    run(epochs=3, checkpoint=tmp_path / "m.pt", on_epoch=again.append)
    assert again == []  # complete checkpoint: nothing trained, nothing reported


def test_predict_and_evaluate_follow_a_float64_model():
    runtime.set_seed(0)
    model = tiny_net().double()
    images = torch.randn(2, 3, 12, 12)
    expected = model(images.double()).argmax(1)
    assert torch.equal(train.predict(model, images), expected)
    cm = train.evaluate(model, loader(shuffle=False), num_classes=C)
    assert int(cm.matrix.sum()) > 0
