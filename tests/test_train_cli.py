"""``python -m course_utils.training``, alone and under torchrun with 2 CPU processes (gloo).

A tiny U-Net on a tiny VOC folder: under torchrun the validation confusion matrix, added up over
the two processes, must equal a single-process evaluation of the saved model exactly, and two
processes with half the per-process batch must follow the one-process loss curve closely.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from voc_fixtures import make_voc

from course_utils.training import cli as train_cli
from course_utils.training import evaluation, recipes
from course_utils.training import loop as train

LOSS_TOLERANCE = 0.10  # relative, per epoch: other batch composition and BatchNorm statistics
SIZES = tuple((40 + 4 * k, 48 + 6 * (k % 3)) for k in range(12))


@pytest.fixture(scope="module")
def voc_root(tmp_path_factory):
    root = make_voc(tmp_path_factory.mktemp("voc"), sizes=SIZES)
    ids = (root / "ImageSets/Segmentation/train.txt").read_text().split()
    (root / "ImageSets/Segmentation/val.txt").write_text("\n".join(ids[:5]) + "\n")
    return root


def args(tmp_path, voc_root, batch, name):
    return ["--model", "unet", "--depth", "2", "--width", "4", "--epochs", "4", "--crop", "32",
            "--batch-size", str(batch), "--lr", "0.01", "--seed", "0", "--device", "cpu",
            "--data", str(voc_root), "--checkpoint", str(tmp_path / f"{name}.pt"),
            "--results", str(tmp_path / f"{name}.json"), "--no-progress"]


def fcn_args(tmp_path, voc_root):
    """FCN-8s from the course's encoder, for one epoch of tiny crops."""
    return ["--model", "fcn8s", "--epochs", "1", "--crop", "32", "--batch-size", "4",
            "--device", "cpu", "--data", str(voc_root), "--checkpoint",
            str(tmp_path / "enc.pt"), "--no-progress"]


def torchrun(argv, tmp_path):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
           "2", "-m", "course_utils.training", *argv]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope="module")
def single(voc_root, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("one")
    torch.set_num_threads(1)
    assert train_cli.main(args(tmp, voc_root, 4, "one")) == 0
    return json.loads((tmp / "one.json").read_text())


@pytest.fixture(scope="module")
def double(voc_root, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("two")
    out = torchrun(args(tmp, voc_root, 2, "two"), tmp)
    assert out.count("val mIoU") == 1, "rank 0 alone reports"
    return tmp, json.loads((tmp / "two.json").read_text())


def test_single_process_run_records_config_history_and_scores(single):
    assert single["processes"] == 1 and len(single["history"]) == 4
    assert single["config"]["model"] == {"name": "unet", "depth": 2, "width": 4,
                                         "init": "random"}
    assert single["history"][-1]["loss"] < single["history"][0]["loss"]
    assert len(single["confusion"]) == 21 and sum(map(sum, single["confusion"])) > 0


def test_all_reduced_confusion_matrix_equals_a_single_process_evaluation(double, voc_root):
    tmp, results = double
    assert results["processes"] == 2
    net = recipes.build_model(results["config"]["model"])
    net.load_state_dict(torch.load(tmp / "two.pt", weights_only=True)["model"])
    cm = train.evaluate(net, evaluation.full_image_loader(voc_root, "val"))
    assert cm.matrix.tolist() == results["confusion"]


def test_two_processes_with_half_the_batch_follow_the_one_process_loss(single, double):
    one = [e["loss"] for e in single["history"]]
    two = [e["loss"] for e in double[1]["history"]]
    for a, b in zip(one, two, strict=True):
        assert abs(a - b) <= LOSS_TOLERANCE * a, (one, two)


def test_a_rerun_resumes_from_the_checkpoint_instead_of_training(double, voc_root):
    tmp, results = double
    out = torchrun(args(tmp, voc_root, 2, "two"), tmp)
    assert "val mIoU" in out
    again = json.loads((tmp / "two.json").read_text())
    assert again["history"] == results["history"] and again["confusion"] == results["confusion"]


def test_recorded_recipe_and_overrides():
    cfg = train_cli.config_from(train_cli.parse(["--run", "fcn8s-seed0", "--epochs", "2",
                                                 "--loss", "focal"]))
    assert cfg["epochs"] == 2 and cfg["loss"]["name"] == "focal" and "ship" not in cfg
    assert cfg["crop"] == recipes.RUNS["fcn8s-seed0"]["crop"]
    cfg = train_cli.config_from(train_cli.parse(["--run", "unet-paper-seed0", "--depth", "2"]))
    assert cfg["model"]["depth"] == 2
    assert recipes.RUNS["unet-paper-seed0"]["model"]["depth"] == 4  # a copy
    cfg = train_cli.config_from(train_cli.parse(["--model", "deeplab-os8", "--init", "random"]))
    assert cfg["model"]["init"] == "random" and recipes.MODELS["deeplab-os8"]["init"] == "encoder"
    with pytest.raises(SystemExit):
        train_cli.parse(["--run", "encoder"])  # a classifier: not trained by this command


def test_a_run_from_the_encoder_needs_the_encoder_file(voc_root, tmp_path):
    argv = [*fcn_args(tmp_path, voc_root), "--encoder", str(tmp_path / "missing.pt")]
    with pytest.raises(SystemExit, match="missing.pt is missing.*--only encoder"):
        train_cli.main(argv)


def test_a_run_from_the_encoder_starts_from_its_weights(voc_root, tmp_path, monkeypatch):
    import torchvision

    from course_utils.training import checkpoints
    torch.manual_seed(4)
    encoder = torchvision.models.resnet18(num_classes=20)
    checkpoints.atomic_save({"state_dict": {k: v.half() if v.is_floating_point() else v
                                            for k, v in encoder.state_dict().items()}},
                            tmp_path / "encoder.pt")
    seen = {}

    class Stop(Exception):
        pass

    def fit(net, *a, **k):
        seen["net"] = net
        raise Stop  # only the start matters here
    monkeypatch.setattr(train_cli, "fit", fit)
    with pytest.raises(Stop):
        train_cli.run(train_cli.parse([*fcn_args(tmp_path, voc_root),
                                       "--encoder", str(tmp_path / "encoder.pt")]))
    assert torch.equal(seen["net"].stem[0].weight, encoder.conv1.weight.half().float())


def test_ctrl_c_says_in_one_line_how_to_resume_and_the_rerun_does(
        single, voc_root, tmp_path, monkeypatch, capsys):
    build_loss, calls = recipes.build_loss, []

    def interrupting(spec, root):
        loss = build_loss(spec, root)

        def forward(logits, labels):
            calls.append(1)
            if len(calls) == 5:  # in epoch 2 (3 batches an epoch)
                raise KeyboardInterrupt
            return loss(logits, labels)
        return forward

    monkeypatch.setattr(recipes, "build_loss", interrupting)
    argv = args(tmp_path, voc_root, 4, "cut")
    assert train_cli.main(argv) == 130
    out, err = capsys.readouterr()
    assert out == "" and err == "interrupted; run the same command to resume\n"
    assert len(torch.load(tmp_path / "cut.pt", weights_only=True)["history"]) == 1
    monkeypatch.undo()
    torch.set_num_threads(1)
    assert train_cli.main(argv) == 0
    resumed = json.loads((tmp_path / "cut.json").read_text())
    assert [e["loss"] for e in resumed["history"]] == [e["loss"] for e in single["history"]]
    assert resumed["confusion"] == single["confusion"]
