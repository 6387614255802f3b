"""Reference models: training runs, the manifest, hashed half-precision files, load and verify.

Tiny runs (a few images of a fixture folder, one epoch) exercise the whole path the shipped
models take; the real shipped files are checked by ``python -m course_utils.reference --verify``
in ``make test``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from voc_fixtures import make_voc

from course_utils.reference import encoder as reference_encoder
from course_utils.reference import manifest as reference
from course_utils.reference import runs as reference_runs
from course_utils.reference.manifest import ReferenceModelError
from course_utils.training import pretrain, recipes

pytestmark = pytest.mark.filterwarnings("ignore:class_weights:UserWarning")

TINY_SEGMENT = {**recipes.SEGMENT, "crop": 24, "batch_size": 2, "epochs": 1,
                "lr": 1e-3, "seed": 0}
TINY_ENCODER = {**pretrain.PRETRAIN, "size": 32, "train_scenes": 4, "heldout_scenes": 2,
                "batch_size": 4, "epochs": 1, "seed": 0, "ship": True,
                "model": pretrain.ENCODER_MODEL}
TINY = {  # the encoder is not first: train_all trains it before the runs that start from it
    "fcn": {**TINY_SEGMENT, "model": {"name": "fcn", "variant": "8s", "init": "encoder"},
            "ship": True},
    "encoder": TINY_ENCODER,
    "unet-resnet18-still": {**TINY_SEGMENT, "lr": 0.0, "ship": True,
                            "model": {"name": "unet-resnet18", "init": "encoder"}},
    "unet": {**TINY_SEGMENT, "model": {"name": "unet", "depth": 2, "width": 4}, "ship": True,
             "loss": {"name": "wce", "weights": "median"}},
    "unet-focal": {**TINY_SEGMENT, "model": {"name": "unet", "depth": 2, "width": 4},
                   "ship": False, "loss": {"name": "focal", "gamma": 2.0}},
    "deeplab": {**TINY_SEGMENT, "ship": True, "eval_strides": [8],
                "model": {"name": "deeplab", "output_stride": 16, "rates": [1, 2, 3],
                          "width": 8, "init": "encoder"}},
}


@pytest.fixture(scope="module")
def voc_root(tmp_path_factory):
    root = make_voc(tmp_path_factory.mktemp("voc"), sizes=((40, 60), (50, 30), (24, 24),
                                                             (33, 41)))
    (root / "ImageSets/Segmentation/val.txt").write_text("2099_000001\n2099_000003\n")
    return root


@pytest.fixture(scope="module")
def trained(voc_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref")
    manifest = reference_runs.train_all(None, workers=1, device="cpu", root=voc_root,
                                   manifest_path=out / "manifest.json", runs=TINY,
                                   work_dir=out / "work")
    return out / "manifest.json", manifest


def test_manifest_records_every_run_with_config_history_and_scores(trained):
    path, manifest = trained
    assert json.loads(path.read_text()) == manifest
    assert set(manifest["runs"]) == set(TINY)
    for name, entry in manifest["runs"].items():
        assert entry["config"] == json.loads(json.dumps(TINY[name]))
        assert len(entry["history"]) == TINY[name]["epochs"]
    fcn = manifest["runs"]["fcn"]["val"]
    assert len(fcn["iou"]) == 21 and 0 <= fcn["miou"] <= 1 and fcn["pixels"] > 0
    assert {"band_acc", "interior_acc", "class_acc"} <= set(fcn)
    assert "file" in manifest["runs"]["fcn"] and "file" not in manifest["runs"]["unet-focal"]
    assert len(manifest["data"]["fingerprint"]) == 64


def test_shipped_file_is_half_precision_and_matches_its_hash(trained):
    path, manifest = trained
    entry = manifest["runs"]["fcn"]
    file = path.parent / entry["file"]
    assert reference.sha256(file) == entry["sha256"] and file.stat().st_size == entry["bytes"]
    saved = torch.load(file, weights_only=True)
    floats = [v for v in saved["state_dict"].values() if v.is_floating_point()]
    assert floats and all(v.dtype == torch.float16 for v in floats)


def test_load_gives_an_eval_model_that_reproduces_the_manifest(trained, voc_root):
    path, manifest = trained
    model, entry = reference.load("unet", manifest_path=path)
    assert not model.training and entry == manifest["runs"]["unet"]
    measured = reference_runs.evaluate_run(model, voc_root)
    assert reference.compare_scores(entry["val"], measured, tol=0.0) == []
    assert reference.verify(manifest_path=path, root=voc_root) == []


def test_by_default_only_runs_not_yet_recorded_with_their_config_are_trained(
        trained, voc_root, tmp_path, monkeypatch):
    path, manifest = _copy(trained, tmp_path)
    manifest["runs"]["unet"]["config"]["lr"] = 0.5  # recorded with another recipe
    del manifest["runs"]["unet-focal"]  # not recorded
    path.write_text(json.dumps(manifest))
    trained_now = []
    monkeypatch.setattr(reference_runs, "run_all",
                        lambda names, *a, **k: trained_now.extend(names))
    reference_runs.train_all(None, workers=1, device="cpu", root=voc_root, manifest_path=path,
                             runs=TINY, work_dir=tmp_path / "work")
    assert trained_now == ["unet", "unet-focal"]
    trained_now.clear()
    reference_runs.train_all(["fcn"], workers=1, device="cpu", root=voc_root,
                             manifest_path=path, runs=TINY, work_dir=tmp_path / "work")
    assert trained_now == ["fcn"]  # named runs train again


def test_two_worker_processes_give_the_same_runs_as_one(trained, voc_root, tmp_path):
    path, one = _copy(trained, tmp_path)  # with the encoder that fcn starts from
    two = reference_runs.train_all(["fcn", "unet-focal"], workers=2, device="cpu", root=voc_root,
                                   manifest_path=path, runs=TINY, work_dir=tmp_path / "work")
    for name in ("fcn", "unet-focal"):
        assert two["runs"][name]["val"] == one["runs"][name]["val"], name
    # same weights (the files' bytes differ: torch.save writes a per-process serialization id)
    ours = torch.load(tmp_path / "fcn.pt", weights_only=True)["state_dict"]
    theirs = torch.load(trained[0].parent / "fcn.pt", weights_only=True)["state_dict"]
    assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours)


def test_a_resumed_command_counts_the_epochs_already_in_its_checkpoints(trained, tmp_path):
    work = trained[0].parent / "work"
    assert [reference_runs._epochs_done(n, work) for n in TINY] == [1] * len(TINY)
    (tmp_path / "cut.pt").write_bytes((work / "fcn.pt").read_bytes()[:100])
    assert reference_runs._epochs_done("cut", tmp_path) == 0  # unreadable: fit says why
    assert reference_runs._epochs_done("absent", tmp_path) == 0


def _copy(trained, tmp_path):
    path, manifest = trained
    for f in path.parent.glob("*.pt"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    return tmp_path / "manifest.json", json.loads(json.dumps(manifest))  # a copy to change


def test_corrupt_or_missing_file_says_how_to_regenerate(trained, tmp_path, voc_root):
    path, manifest = _copy(trained, tmp_path)
    file = tmp_path / manifest["runs"]["fcn"]["file"]
    file.write_bytes(file.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ReferenceModelError, match="SHA-256 differs.*--only fcn"):
        reference.load("fcn", manifest_path=path)
    file.unlink()
    with pytest.raises(ReferenceModelError, match="is missing.*--only fcn"):
        reference.load("fcn", manifest_path=path)
    problems = reference.verify(manifest_path=path, root=voc_root)
    assert len(problems) == 1 and "fcn.pt is missing" in problems[0]


def test_a_foreign_file_with_a_matching_hash_is_refused_cleanly(trained, tmp_path):
    path, manifest = _copy(trained, tmp_path)
    file = tmp_path / manifest["runs"]["fcn"]["file"]
    torch.save({"state_dict": {"not": torch.zeros(1)}}, file)
    manifest["runs"]["fcn"]["sha256"] = reference.sha256(file)
    path.write_text(json.dumps(manifest))
    with pytest.raises(ReferenceModelError, match="cannot be loaded as run 'fcn'"):
        reference.load("fcn", manifest_path=path)


def test_verify_catches_scores_that_the_file_does_not_reproduce(trained, tmp_path, voc_root):
    path, manifest = _copy(trained, tmp_path)
    manifest["runs"]["unet"]["val"]["miou"] += 0.01
    manifest["runs"]["unet"]["val"]["iou"][0] -= 0.01
    path.write_text(json.dumps(manifest))
    problems = reference.verify(manifest_path=path, root=voc_root)
    assert any("unet: miou" in p for p in problems) and any("class 0" in p for p in problems)


def test_verify_recomputes_the_encoders_held_out_accuracy(trained, tmp_path, voc_root):
    path, manifest = _copy(trained, tmp_path)
    assert reference.verify(["encoder"], manifest_path=path, root=voc_root) == []
    manifest["runs"]["encoder"]["val"]["top1"] += 0.01
    recalls = manifest["runs"]["encoder"]["val"]["class_acc"]
    c = next(c for c, r in enumerate(recalls) if r is not None)  # a class with held-out crops
    recalls[c] -= 0.01
    path.write_text(json.dumps(manifest))
    problems = reference.verify(["encoder"], manifest_path=path, root=voc_root)
    assert any("encoder: top-1" in p for p in problems)
    assert any(f"recall of class {c}" in p for p in problems)


def test_verify_notices_other_data(trained, tmp_path, voc_root):
    path, _ = _copy(trained, tmp_path)
    other = make_voc(tmp_path / "other", sizes=((40, 60), (50, 30)), seed=1)
    (other / "ImageSets/Segmentation/val.txt").write_text("2099_000001\n")
    problems = reference.verify(["unet"], manifest_path=path, root=other)
    assert any("differ from the data" in p for p in problems)


def test_unknown_runs_and_missing_manifest_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown run"):
        recipes.select(["nope"], TINY)
    assert recipes.select(["unet", "fcn", "unet"], TINY) == ["unet", "fcn"]
    with pytest.raises(ReferenceModelError, match="make reference"):
        reference.load("fcn", manifest_path=tmp_path / "manifest.json")
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ReferenceModelError, match="unreadable"):
        reference.read_manifest(tmp_path / "manifest.json")


def test_every_recorded_run_builds_its_model_and_loss(voc_root):
    torch.manual_seed(0)
    logits, target = torch.randn(2, 21, 8, 8), torch.randint(0, 21, (2, 8, 8))
    target[0, 0] = 255
    segment = [c for c in recipes.RUNS.values() if c.get("task") != "classify"]
    for spec in {json.dumps(c["model"], sort_keys=True) for c in segment}:
        net = recipes.build_model(json.loads(spec))
        assert net(torch.zeros(2, 3, 40, 56)).shape == (2, 21, 40, 56)  # batch 2: BatchNorm
    for spec in {json.dumps(c["loss"], sort_keys=True) for c in segment}:
        value = recipes.build_loss(json.loads(spec), voc_root)(logits, target)
        assert value.ndim == 0 and torch.isfinite(value)
    encoder = recipes.build_model(recipes.RUNS[recipes.ENCODER]["model"])
    assert encoder(torch.zeros(2, 3, 32, 32)).shape == (2, 20)
    with pytest.raises(ValueError, match="unknown name"):
        recipes.build_model({"name": "segformer"})
    with pytest.raises(ValueError, match="unknown name"):
        recipes.build_loss({"name": "lovasz"}, voc_root)


def test_ce_dice_run_is_cross_entropy_plus_soft_dice(voc_root):
    from course_utils.losses.dice import soft_dice_loss

    torch.manual_seed(1)
    logits, target = torch.randn(2, 21, 8, 8), torch.randint(0, 21, (2, 8, 8))
    target[1, :3] = 255
    loss = recipes.build_loss({"name": "ce+dice", "dice_weight": 0.5}, voc_root)
    expected = (torch.nn.functional.cross_entropy(logits, target, ignore_index=255)
                + 0.5 * soft_dice_loss(logits, target))
    torch.testing.assert_close(loss(logits, target), expected)


@pytest.mark.skipif(not reference.MANIFEST.is_file(), reason="no shipped manifest yet")
def test_shipped_models_stay_within_the_size_budget():
    manifest = reference.read_manifest()
    shipped = [e for e in manifest["runs"].values() if "file" in e]
    assert shipped and sum(e["bytes"] for e in shipped) <= 80e6  # issue 21: reference/ <= 80 MB
    files = sum(f.stat().st_size for f in reference.MANIFEST.parent.rglob("*") if f.is_file())
    assert files <= 80e6


def test_reference_dir_variable_keeps_a_learners_runs_apart(trained, tmp_path, monkeypatch,
                                                            voc_root):
    monkeypatch.setenv(reference.DIR_ENV, str(tmp_path / "mine"))
    assert reference.manifest_file() == tmp_path / "mine" / "manifest.json"
    reference_runs.train_all(["unet"], workers=1, device="cpu", root=voc_root, runs=TINY,
                        work_dir=tmp_path / "work")
    model, entry = reference.load("unet")
    assert (tmp_path / "mine" / entry["file"]).is_file()
    assert entry["val"] == trained[1]["runs"]["unet"]["val"]  # same recipe, same result


def test_load_gives_float64_on_the_cpu_so_every_cpu_predicts_alike(trained):
    model, _ = reference.load("fcn", manifest_path=trained[0])
    assert all(p.dtype == torch.float64 for p in model.parameters())
    x = torch.rand(1, 3, 24, 24)  # float32 images are converted to the model's dtype
    from course_utils.training import loop as train
    assert train.predict(model, x).shape == (1, 24, 24)


def test_encoder_run_records_held_out_top1_and_ships_a_resnet18(trained):
    path, manifest = trained
    entry = manifest["runs"]["encoder"]
    assert 0 <= entry["val"]["top1"] <= 1 and len(entry["val"]["class_acc"]) == 20
    assert entry["val"]["crops"] == len(pretrain.crop_set(TINY_ENCODER, "heldout"))
    model, _ = reference.load("encoder", manifest_path=path)
    assert model.fc.out_features == 20 and not model.training


def test_segmentation_runs_start_from_the_shipped_encoder(trained):
    path, _ = trained
    encoder, _ = reference.load("encoder", manifest_path=path)
    still, _ = reference.load("unet-resnet18-still", manifest_path=path)  # lr 0: weights kept
    assert torch.equal(still.stem[0].weight, encoder.conv1.weight)
    assert torch.equal(still.layer4[1].conv2.weight, encoder.layer4[1].conv2.weight)


def test_init_encoder_copies_the_encoder_only(trained):
    path, _ = trained
    source, _ = reference.load("encoder", manifest_path=path)
    torch.manual_seed(5)
    net = recipes.build_model({"name": "fcn", "variant": "8s"})
    head = net.score4.weight.clone()
    reference_encoder.init_encoder(net, manifest_path=path)
    assert torch.equal(net.layer3[0].conv1.weight, source.layer3[0].conv1.weight.float())
    assert torch.equal(net.stem[1].running_var, source.bn1.running_var.float())
    assert torch.equal(net.score4.weight, head)
    wrong = recipes.build_model({"name": "unet", "depth": 2, "width": 8})
    with pytest.raises(ReferenceModelError, match="does not fit"):
        reference_encoder.init_encoder(wrong, manifest_path=path)


def test_a_run_from_the_encoder_without_it_says_how_to_make_it(trained, voc_root, tmp_path):
    path, manifest = _copy(trained, tmp_path)
    del manifest["runs"]["encoder"]
    path.write_text(json.dumps(manifest))
    with pytest.raises(ReferenceModelError, match="no run 'encoder'.*--only encoder"):
        reference_runs.train_all(["fcn"], workers=1, device="cpu", root=voc_root,
                                 manifest_path=path, runs=TINY, work_dir=tmp_path / "work")


def test_verify_computes_afresh_and_leaves_its_predictions_to_the_notebooks(
        trained, voc_root, monkeypatch):
    from course_utils.training import cache as predictions
    from course_utils.training import evaluation
    from course_utils.training import loop as train

    path, _ = trained
    model = reference.load("unet", manifest_path=path)[0]
    loader = evaluation.full_image_loader(voc_root, "val")
    planted = predictions.cache_path(model, loader)
    zeros = [torch.zeros_like(label[0]) for _, label in loader]
    predictions._write(planted, zeros)  # wrong predictions a cache-reading verify would score
    assert reference.verify(["unet"], manifest_path=path, root=voc_root) == []
    expected = [train.predict(model, x)[0] for x, _ in loader]
    monkeypatch.setattr(train, "predict", lambda *a: pytest.fail("computed again"))
    stored = predictions.predictions(model, loader)  # what a notebook gets after verify
    assert all(torch.equal(a, b) for a, b in zip(stored, expected, strict=True))


def test_start_from_pretrained_says_which_encoder_it_loaded(trained, tmp_path, monkeypatch):
    import torchvision
    from torchvision.models import ResNet18_Weights

    from course_utils.models import pretrained

    path, _ = trained
    course = reference_encoder.encoder_weights(path)
    net = recipes.build_model({"name": "fcn", "variant": "8s"})
    line = reference_encoder.start_from_pretrained(net, imagenet=False, manifest_path=path)
    assert line.startswith("encoder: the course's") and "fast profile" in line
    assert torch.equal(net.stem[0].weight, course["conv1.weight"])
    # ImageNet's, from the torch hub cache (here a stand-in file where the real one would be)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "hub"))
    torch.manual_seed(3)
    fake = torchvision.models.resnet18().state_dict()
    cached = pretrained.cache_path(ResNet18_Weights.IMAGENET1K_V1.url)
    Path(cached).parent.mkdir(parents=True)
    torch.save(fake, cached)
    line = reference_encoder.start_from_pretrained(net, imagenet=True, manifest_path=path)
    assert "ImageNet" in line and torch.equal(net.layer2[0].conv1.weight,
                                              fake["layer2.0.conv1.weight"])
    # offline and not cached: the course's, with the reason
    def offline(url, timeout=None):
        raise pretrained.WeightsUnavailable("no", "no network")
    monkeypatch.setattr(reference_encoder, "fetch_state_dict", offline)
    line = reference_encoder.start_from_pretrained(net, imagenet=True, manifest_path=path)
    assert "the course's" in line and "no network" in line
    assert torch.equal(net.stem[0].weight, course["conv1.weight"])


def test_each_run_keeps_per_image_counts_that_add_up_to_its_scores(trained, voc_root):
    from course_utils import metrics
    from course_utils.training import evaluation, loop
    path, manifest = trained
    counts = reference.load_counts("fcn", manifest_path=path)
    val = manifest["runs"]["fcn"]["val"]
    n = len(evaluation.full_image_loader(voc_root, "val"))
    assert counts["confusion"].shape == (n, 21, 21) and counts["rings"].shape == (n, 6, 2)
    scores = metrics.scores_from_matrix(counts["confusion"].sum(0))
    assert abs(float(scores["miou"]) - val["miou"]) < 1e-6
    assert counts["rings"][..., 1].sum() == val["pixels"]  # every labelled pixel in one ring
    model, _ = reference.load("fcn", manifest_path=path)
    loader = evaluation.full_image_loader(voc_root, "val")
    preds = [loop.predict(model, x)[0] for x, _ in loader]
    biou = metrics.boundary_iou(preds, [y[0] for _, y in loader])
    assert abs(float(biou.nanmean()) - val["boundary_iou"]) < 1e-6  # an independent recount
    with pytest.raises(ReferenceModelError, match="--only nope"):
        reference.load_counts("nope", manifest_path=path)


def test_a_deeplab_run_is_also_scored_at_output_stride_8(trained, voc_root):
    """``eval_strides``: the trained stride-16 model is scored again at stride 8 (the same
    weights, rates doubled), with its own per-image counts; the shipped file reproduces it."""
    from course_utils import metrics
    from course_utils.models import at_output_stride
    path, manifest = trained
    entry = manifest["runs"]["deeplab"]
    model, _ = reference.load("deeplab", manifest_path=path)
    assert model.output_stride == 16
    fine = reference_runs.evaluate_run(at_output_stride(model, 8), voc_root)
    assert reference.compare_scores(entry["val@os8"], fine, tol=0.0) == []
    counts = reference.load_counts("deeplab@os8", manifest_path=path)
    scores = metrics.scores_from_matrix(counts["confusion"].sum(0))
    assert abs(float(scores["miou"]) - entry["val@os8"]["miou"]) < 1e-6


def test_rescore_scores_a_run_again_at_its_other_strides_from_its_checkpoint(trained, voc_root,
                                                                            tmp_path):
    """After a change to at_output_stride, ``--rescore`` replaces a run's ``val@os8`` (and its
    per-image counts) from the final checkpoint, leaves the rest of its entry and the other runs
    as they are, and names a run it cannot score."""
    path, manifest = _copy(trained, tmp_path)
    work = trained[0].parent / "work"
    stale = {**manifest["runs"]["deeplab"]["val@os8"], "miou": -1.0}
    manifest["runs"]["deeplab"]["val@os8"] = stale
    path.write_text(json.dumps(manifest))
    new = reference_runs.rescore(["deeplab"], root=voc_root, manifest_path=path, work_dir=work)
    on_disk = json.loads(path.read_text())["runs"]
    assert on_disk["deeplab"] == new["deeplab"]
    assert on_disk["deeplab"]["val@os8"] == trained[1]["runs"]["deeplab"]["val@os8"]
    assert on_disk["deeplab"]["val"] == manifest["runs"]["deeplab"]["val"]
    assert on_disk["fcn"] == manifest["runs"]["fcn"]
    assert (tmp_path / "per_image" / "deeplab@os8.npz").exists()
    with pytest.raises(ReferenceModelError, match="not in"):
        reference_runs.rescore(["nope"], root=voc_root, manifest_path=path, work_dir=work)
    with pytest.raises(ReferenceModelError, match="no checkpoint of deeplab"):
        reference_runs.rescore(["deeplab"], root=voc_root, manifest_path=path,
                               work_dir=tmp_path / "empty")


def test_each_record_merges_into_the_manifest_on_disk(trained, voc_root, tmp_path, monkeypatch):
    """A long command must not undo what changed meanwhile: a run removed by hand stays
    removed, another command's new run stays, and each finished run is added."""
    path, manifest = _copy(trained, tmp_path)

    def fake_run_all(names, record, *args, **kwargs):
        record("fcn", {"config": "first"})
        on_disk = json.loads(path.read_text())
        del on_disk["runs"]["unet"]  # removed by hand while the command runs
        on_disk["runs"]["other"] = {"config": "another command's"}
        path.write_text(json.dumps(on_disk))
        record("unet-focal", {"config": "second"})

    monkeypatch.setattr(reference_runs, "run_all", fake_run_all)
    reference_runs.train_all(["fcn", "unet-focal"], workers=1, device="cpu", root=voc_root,
                             manifest_path=path, runs=TINY, work_dir=tmp_path / "work")
    runs = json.loads(path.read_text())["runs"]
    assert "unet" not in runs and runs["other"] == {"config": "another command's"}
    assert runs["fcn"] == {"config": "first"} and runs["unet-focal"] == {"config": "second"}
    assert list(runs) == sorted(runs)


def test_calibration_runs_train_into_their_own_manifest_from_the_encoder_beside(
        trained, voc_root, tmp_path):
    """``--calibrate`` writes calibration.json beside the manifest and leaves the manifest as
    it was; a calibration run starts from the encoder that the manifest beside it ships."""
    path, manifest = _copy(trained, tmp_path)
    calib = {"calib-fcn": {**TINY["fcn"], "ship": False}}
    out = reference_runs.train_all(None, workers=1, device="cpu", root=voc_root,
                                   manifest_path=reference.calibration_file(path), runs=calib,
                                   work_dir=tmp_path / "work")
    assert json.loads(path.read_text()) == manifest
    assert set(out["runs"]) == {"calib-fcn"} and "file" not in out["runs"]["calib-fcn"]
    assert reference.read_manifest(tmp_path / "calibration.json")["runs"] == out["runs"]
    assert (tmp_path / reference.COUNTS_DIR / "calib-fcn.npz").is_file()
    # the same recipe as the recorded fcn run: the same start, so the same scores
    assert out["runs"]["calib-fcn"]["val"] == manifest["runs"]["fcn"]["val"]


def test_calibration_runs_change_only_the_budget_learning_rate_or_batch_of_a_seed0_run():
    assert recipes.CALIBRATION and not set(recipes.CALIBRATION) & set(recipes.RUNS)
    for name, cfg in recipes.CALIBRATION.items():
        recipe = next(r for r in recipes.CALIBRATED if name.startswith(f"calib-{r}-"))
        base = recipes.RUNS[f"{recipe}-seed0"]
        changed = {k for k in base.keys() | cfg.keys() if base.get(k) != cfg.get(k)}
        assert changed and changed <= {"epochs", "lr", "batch_size"}, name


def test_the_shipped_calibration_record_matches_its_recipes_and_counts():
    """Each recorded calibration run was trained on its current recipe, on one CPU thread, and
    its saved per-image counts add up to the mIoU it records."""
    from course_utils.training import comparison

    path = reference.calibration_file()
    runs = reference.read_manifest(path)["runs"]
    assert runs and set(runs) <= set(recipes.CALIBRATION)
    assert reference.read_manifest(path)["data"] == reference.read_manifest()["data"]
    for name, entry in runs.items():
        assert entry["config"] == recipes.CALIBRATION[name], name
        assert (entry["device"], entry["threads"]) == ("cpu", 1)
        assert len(entry["history"]) == entry["config"]["epochs"]
        counts = reference.load_counts(name, path)
        assert float(comparison.score(counts)) == pytest.approx(entry["val"]["miou"], abs=1e-6)
