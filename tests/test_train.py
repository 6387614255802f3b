"""``fit``, ``evaluate`` and ``predict``: the loop, its schedule, AMP choice and checkpoints.

Everything runs on the CPU with a tiny conv net on synthetic 12x12 images, so the whole file
takes a few seconds. The GPU-only settings (autocast, GradScaler, channels_last) are exercised
on the CPU by patching the device decision.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from course_utils import runtime
from course_utils.metrics import ConfusionMatrix
from course_utils.training import loop as train

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


def saved(path):
    """The checkpoint at ``path`` as a user would read it."""
    return torch.load(path, map_location="cpu", weights_only=True)


# --------------------------------------------------------------------------- the loop
def test_history_entries_and_loss_decreases():
    _, history = run(epochs=6, lr=0.05)
    assert [e["epoch"] for e in history] == list(range(1, 7))
    assert all(set(e) == {"epoch", "loss", "pixel_acc", "miou", "seconds"} for e in history)
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
    model_a, hist_a = run(epochs=3)
    model_b, hist_b = run(epochs=3)
    assert without_time(hist_a) == without_time(hist_b)
    assert same_weights(model_a, model_b)
    model_c, _ = run(seed=1, epochs=3)
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
        run(optimizer="sgd")
    with pytest.raises(ValueError, match="schedule"):
        run(schedule="cosine")
    with pytest.raises(ValueError, match="train_loader is empty"):
        train.fit(tiny_net(), DataLoader(Flip(2), 4, drop_last=True), device="cpu")
    with pytest.raises(TypeError, match="config"):
        run(config={"transform": object()})
    with pytest.raises(TypeError, match=r"config\['lr'\]"):  # would not load weights_only
        run(config={"lr": np.float64(0.1)})
    with pytest.raises(ValueError, match="checkpoint"):
        run(checkpoint="notebook.ipynb")  # never overwrites anything but a checkpoint
    with pytest.raises(RuntimeError, match="scalar"):  # PyTorch's own message
        run(loss=nn.CrossEntropyLoss(ignore_index=VOID, reduction="none"))


class LrRecorder(nn.Module):
    """A cross-entropy that records the optimizer's learning rate at every call."""

    def __init__(self, optimizer_box):
        super().__init__()
        self.box, self.lrs = optimizer_box, []
        self.ce = nn.CrossEntropyLoss(ignore_index=VOID)

    def forward(self, logits, target):
        self.lrs.append(self.box[0].param_groups[0]["lr"])
        return self.ce(logits, target)


def test_poly_schedule_is_stepped_every_iteration():
    runtime.set_seed(0)
    model = tiny_net()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    rec = LrRecorder([opt])
    dl = loader()
    train.fit(model, dl, loss=rec, epochs=2, optimizer=opt, num_classes=C, device="cpu",
              progress=False)
    total = 2 * len(dl)
    assert rec.lrs == pytest.approx([0.1 * (1 - i / total) ** 0.9 for i in range(total)])


# --------------------------------------------------------------------------- AMP choice
def test_cpu_runs_plain_float32_unless_asked_for_bfloat16():
    assert train.accel_for("cpu").amp_dtype is None
    assert train.accel_for("cpu", "bf16").amp_dtype == torch.bfloat16


def test_cpu_bfloat16_training_autocasts_and_evaluates_in_float32(tmp_path):
    """``amp="bf16"``: the convolutions run in bfloat16 while training, the weights stay
    float32, and a resumed run needs the same choice (it is part of the checkpoint's meta)."""
    model, history = run(DtypeProbe, epochs=2, checkpoint=tmp_path / "bf16.pt", amp="bf16")
    assert model.seen == {(torch.bfloat16, True)}
    assert model.net[0].weight.dtype == torch.float32
    model.seen.clear()
    train.predict(model, torch.rand(1, 3, 8, 8))
    assert model.seen == {(torch.float32, False)}
    with pytest.raises(ValueError, match="amp='fp16'"):
        run(DtypeProbe, epochs=2, amp="fp16")


@pytest.mark.parametrize("bf16,dtype", [(True, torch.bfloat16), (False, torch.float16)])
def test_cuda_picks_the_amp_dtype_the_gpu_supports(monkeypatch, bf16, dtype):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)
    acc = train.accel_for("cuda")
    assert acc.device == torch.device("cuda") and acc.amp_dtype == dtype


class DtypeProbe(nn.Module):
    """Records the dtype of its first layer's output and whether its input is channels_last."""

    def __init__(self):
        super().__init__()
        self.net, self.seen = tiny_net(), set()

    def forward(self, x):
        h = self.net[0](x)
        self.seen.add((h.dtype, x.is_contiguous(memory_format=torch.channels_last)))
        return self.net[2](self.net[1](h))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_amp_branch_runs_and_learns_on_cpu(monkeypatch, tmp_path, dtype):
    """The CUDA code path (autocast, GradScaler for float16, channels_last) driven on the CPU,
    checkpointed and resumed."""
    monkeypatch.setattr(train, "accel_for",
                        lambda device, amp=None: train.Accel(torch.device("cpu"), dtype))
    model, history = run(DtypeProbe, epochs=4, checkpoint=tmp_path / "amp.pt")
    assert model.seen == {(dtype, True)}
    assert model.net[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert history[-1]["loss"] < history[0]["loss"]
    assert ("scaler" in saved(tmp_path / "amp.pt")) == (dtype == torch.float16)
    _, again = run(DtypeProbe, epochs=4, checkpoint=tmp_path / "amp.pt")
    assert again == history


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


def test_predict_and_evaluate_follow_a_float64_model():
    runtime.set_seed(0)
    model = tiny_net().double()
    images = torch.randn(2, 3, 12, 12)
    expected = model(images.double()).argmax(1)
    assert torch.equal(train.predict(model, images), expected)
    cm = train.evaluate(model, loader(shuffle=False), num_classes=C)
    assert int(cm.matrix.sum()) > 0


# --------------------------------------------------------------------------- checkpoints
def test_checkpoint_holds_what_a_user_reloads(tmp_path):
    path, config = tmp_path / "sub" / "m.pt", {"crop": (8, 8), "tags": ["a", None, True]}
    model, history = run(checkpoint=path, config=config)
    assert [p.name for p in path.parent.iterdir()] == ["m.pt"]  # no temporary left over
    state = saved(path)
    assert state["history"] == history and state["config"] == config
    other = tiny_net()
    other.load_state_dict(state["model"])
    assert same_weights(model, other)


def test_resume_matches_uninterrupted_training(tmp_path):
    cfg = {"run": "resume"}
    kw = {"epochs": 3, "val_loader": loader(Flip(8, seed=1), shuffle=False), "config": cfg}
    full_model, full_hist = run(loss=InterruptingLoss(), checkpoint=tmp_path / "full.pt", **kw)
    path = tmp_path / "cut.pt"
    with pytest.raises(Stop):  # killed in the middle of epoch 2 (4 batches per epoch)
        run(loss=InterruptingLoss(stop_at=6), checkpoint=path, **kw)
    assert len(saved(path)["history"]) == 1
    # a fresh process: new seed-0 model and loader, then resume from the checkpoint
    counting = InterruptingLoss()
    resumed_model, resumed_hist = run(loss=counting, checkpoint=path, **kw)
    assert counting.calls == 2 * 4  # epochs 2 and 3 only
    assert without_time(resumed_hist) == without_time(full_hist)
    assert same_weights(resumed_model, full_model)


def test_resumed_progress_bar_starts_at_the_epochs_done(tmp_path, capsys):
    path = tmp_path / "m.pt"
    with pytest.raises(Stop):  # 1 of 3 epochs done (4 batches each)
        run(loss=InterruptingLoss(stop_at=6), checkpoint=path, epochs=3)
    capsys.readouterr()
    run(checkpoint=path, epochs=3, progress=True)
    out, err = capsys.readouterr()
    assert "1/3 epochs done; resuming" in out
    assert " 4/12 " in err and " 0/12 " not in err and "epoch 2/3" in err


def test_complete_checkpoint_skips_training(tmp_path, capsys):
    path, cfg = tmp_path / "m.pt", {"run": "skip"}
    model, history = run(checkpoint=path, config=cfg)
    never = InterruptingLoss(stop_at=1)
    again, stored = run(seed=5, loss=never, checkpoint=path, config=cfg, progress=True)
    assert never.calls == 0
    assert stored == history  # seconds included: the stored history itself
    assert same_weights(again, model)
    out, err = capsys.readouterr()
    assert out.strip() == f"checkpoint {path}: 2/2 epochs done; complete, training skipped"
    assert err == ""  # no progress bar for nothing to do


def test_on_epoch_sees_every_trained_epoch_and_none_that_was_skipped(tmp_path):
    seen = []
    _, history = run(epochs=3, checkpoint=tmp_path / "m.pt", on_epoch=seen.append)
    assert seen == history
    again = []
    run(epochs=3, checkpoint=tmp_path / "m.pt", on_epoch=again.append)
    assert again == []  # complete checkpoint: nothing trained, nothing reported


@pytest.mark.parametrize("damage,why", [("garbage", "unreadable"), ("truncated", "unreadable"),
                                        ("foreign", "not a course_utils"),
                                        ("future", "format 'course_utils.train/9'")])
def test_unusable_checkpoint_is_kept_aside_and_retrains_with_one_line(tmp_path, capsys,
                                                                      damage, why):
    path, cfg = tmp_path / "m.pt", {"run": "corrupt"}
    _, reference = run(config=cfg)
    run(checkpoint=path, config=cfg)
    if damage == "garbage":
        path.write_bytes(b"\x00garbage")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:200])
    elif damage == "foreign":
        torch.save([1, 2, 3], path)
    else:  # a format this version does not know: never read as if it were current
        torch.save(saved(path) | {"format": "course_utils.train/9"}, path)
    before = path.read_bytes()
    capsys.readouterr()
    _, history = run(checkpoint=path, config=cfg)
    out = capsys.readouterr().out.strip()
    assert len(out.splitlines()) == 1 and why in out and "training from scratch" in out
    assert (tmp_path / "m.old1.pt").read_bytes() == before
    assert without_time(history) == without_time(reference)
    assert len(saved(path)["history"]) == 2  # replaced by a good one


def test_format_1_checkpoints_resume(tmp_path, capsys):
    """Format 1 (before the loop was simplified) kept a layer signature and a GradScaler state
    beside the entries format 2 keeps: its finished runs are still recognised."""
    path = tmp_path / "m.pt"
    _, history = run(checkpoint=path)
    torch.save(saved(path) | {"format": "course_utils.train/1", "model_signature": [],
                              "scaler": {}}, path)
    never = InterruptingLoss(stop_at=1)
    _, again = run(loss=never, checkpoint=path)
    assert again == history and never.calls == 0


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
    assert len(out.splitlines()) == 1 and "training from scratch" in out and "saved" in out
    assert counting.calls == 4 * len(history)  # every epoch trained again
    assert saved(path)["config"] == kwargs["config"]


def test_checkpoint_of_another_model_is_kept_not_overwritten(tmp_path, capsys):
    path = tmp_path / "m.pt"
    run(checkpoint=path, config={"run": "keep"})
    before = path.read_bytes()
    capsys.readouterr()
    run(checkpoint=path, config={"run": "keep"}, net_fn=pixel_net)
    out = capsys.readouterr().out
    kept = tmp_path / "m.old1.pt"
    assert kept.read_bytes() == before, "the other model's checkpoint must survive, renamed"
    assert "different model" in out and "kept it as" in out and "m.old1.pt" in out
    pixel_net().load_state_dict(saved(path)["model"])  # the new run's checkpoint
    run(checkpoint=path, config={"run": "keep"})  # and back: a second one gets the next name
    assert (tmp_path / "m.old2.pt").is_file() and kept.read_bytes() == before


def test_save_false_reads_but_never_writes_or_renames(tmp_path, capsys):
    """torchrun's other processes: they resume from rank 0's file and leave it alone."""
    path = tmp_path / "m.pt"
    _, history = run(checkpoint=path, save=False)
    assert not path.exists()
    run(checkpoint=path, config={"run": "other"})
    before = path.read_bytes()
    run(checkpoint=path, save=False)  # another config: trains, renames nothing
    assert path.read_bytes() == before and list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize("fail_in", ["torch.save", "os.fsync"])
def test_a_failed_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch, fail_in):
    path = tmp_path / "m.pt"
    with pytest.raises(Stop):  # 1 of 2 epochs saved
        run(loss=InterruptingLoss(stop_at=6), checkpoint=path)
    before = path.read_bytes()

    def broken(obj, *args):
        if hasattr(obj, "write"):
            obj.write(b"half")
        raise OSError("disk full")

    module, name = fail_in.split(".")
    monkeypatch.setattr({"torch": torch, "os": os}[module], name, broken)
    with pytest.raises(OSError, match="disk full"):  # the save after epoch 2 fails
        run(checkpoint=path)
    monkeypatch.undo()
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["m.pt"]


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
    assert len(ax[0].lines) == 2 and ax[0].lines[1].get_label() == "run 2: loss"
    assert ax[1].get_title() == "pixel accuracy and mIoU on validation"
    crops = viz.plot_history(history, scored_on="its training crops")
    assert crops[1].get_title() == "pixel accuracy and mIoU on its training crops"
    plt.close("all")
    with pytest.raises(ValueError, match="empty"):
        viz.plot_history([])
    with pytest.raises(ValueError, match="miou"):
        viz.plot_history([{"epoch": 1, "loss": 1.0, "pixel_acc": 0.5}])


def test_a_checkpoint_missing_its_random_states_is_set_aside_before_anything_loads(tmp_path):
    """Nothing is restored from a checkpoint that cannot be restored whole: the run starts from
    the weights it had, not from half a checkpoint."""
    from course_utils.training import checkpoints

    def parts(seed):
        torch.manual_seed(seed)
        net = torch.nn.Linear(3, 2)
        opt = torch.optim.AdamW(net.parameters())
        return {"optimizer": opt, "model": net,
                "scheduler": torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)}

    meta = {"config": {"a": 1}, "fit_args": {"epochs": 2}}
    path = tmp_path / "run.pt"
    checkpoints.save(path, parts(0), [{"epoch": 1}], meta, loader=None)
    state = torch.load(path, weights_only=False)
    del state["rng"]
    torch.save(state, path)
    fresh = parts(1)
    before = fresh["model"].weight.detach().clone()
    assert checkpoints.resume(path, fresh, meta, loader=None) == []
    assert torch.equal(fresh["model"].weight, before)
    assert not path.exists() and (tmp_path / "run.old1.pt").exists()
