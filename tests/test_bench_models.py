"""benchmarks/bench_models.py: one tiny run of the whole table (its FLOP counter,
models.count_flops, is checked by hand in test_models)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_models  # noqa: E402


def test_one_round_gives_every_architecture_its_row(tmp_path, monkeypatch):
    monkeypatch.setattr(bench_models, "SIZE", (64, 96))
    monkeypatch.setattr(bench_models, "architectures",
                        lambda: {k: v for k, v in bench_models.MODELS.items()
                                 if k in ("fcn8s", "unet-resnet18")})
    out = tmp_path / "models.md"
    threads = torch.get_num_threads()
    try:
        assert bench_models.main(["--rounds", "1", "--out", str(out)]) == 0
    finally:
        torch.set_num_threads(threads)  # main sets one thread
    table = json.loads(out.with_suffix(".json").read_text())
    assert set(table["models"]) == {"fcn8s", "unet-resnet18"}
    for row in table["models"].values():
        assert row["params"] > 1e6 and row["gflops"] > 0
        assert row["infer_img_s"] > 0 and row["train_img_s"] > 0
    assert "| unet-resnet18 | 14.33 |" in out.read_text()  # smp's Unet("resnet18"): 14.33 M

