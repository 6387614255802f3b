"""The table of reference runs in ``data/README.md``, written from ``reference/manifest.json``.

``python -m course_utils.reference --readme`` rewrites it, so the numbers shown there are the
manifest's and cannot drift; a test checks that the table is current.
"""

from __future__ import annotations

from .nav import rewrite_block
from .runtime import REPO_ROOT

README = REPO_ROOT / "data" / "README.md"
TABLE_BEGIN, TABLE_END = "<!-- REFERENCE -->", "<!-- /REFERENCE -->"


def table(manifest: dict) -> str:
    """A markdown table of every run in ``manifest``: model, budget, scores, time."""
    lines = ["| run | model | loss | epochs | seed | val mIoU | pixel acc | band acc | "
             "interior acc | object classes at IoU >= 0.30 | minutes | shipped |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for name, e in manifest["runs"].items():
        c, v = e["config"], e["val"]
        model = {"fcn": lambda m: f"FCN-{m['variant']}",
                 "unet": lambda m: f"U-Net d{m['depth']} w{m['width']}",
                 "deeplab": lambda m: f"DeepLab s{m['output_stride']} w{m['width']}",
                 }[c["model"]["name"]]
        well = sum(1 for x in v["iou"][1:] if x is not None and x >= 0.3)
        lines.append(f"| {name} | {model(c['model'])} | {c['loss']['name']} | {c['epochs']} | "
                     f"{c['seed']} | {v['miou']:.3f} | {v['pixel_acc']:.3f} | "
                     f"{v['band_acc']:.3f} | {v['interior_acc']:.3f} | {well} of 20 | "
                     f"{e['seconds'] / 60:.0f} | {'yes' if 'file' in e else '-'} |")
    minutes = manifest.get("wall_seconds", 0) / 60
    lines.append("")
    machine = manifest.get("machine", "this machine")
    total = sum(e["seconds"] for e in manifest["runs"].values()) / 60
    lines.append(f"All runs: {total:.0f} single-thread minutes on {machine} (torch "
                 f"{manifest['torch']}), two side by side; the last command took {minutes:.0f} "
                 "minutes of wall time.")
    return "\n".join(lines)


def update_readme(manifest: dict, readme=README) -> None:
    """Rewrite the block between the REFERENCE markers of ``readme`` from ``manifest``."""
    rewrite_block(readme, (TABLE_BEGIN, TABLE_END), table(manifest))
