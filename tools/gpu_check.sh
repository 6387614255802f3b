#!/usr/bin/env bash
# The prepared GPU check (tools/gpu_check.py), step by step:
#   bash tools/gpu_check.sh wheels     # here, online: nbclient, nbformat, ipykernel, d2l as wheels
#   bash tools/gpu_check.sh stage      # here: leave the two shipped segmentation models out of
#                                      # what a 64 MiB device copy takes (untracked, and ignored)
#   device: bash tools/gpu_check.sh run --live-run-only     (carry .whl; $OUT set there)
#   bash tools/gpu_check.sh unstage    # here, at once: the models back in the index
set -euo pipefail
cd "$(dirname "$0")/.."
LEFT_OUT=(reference/fcn8s-x2.pt reference/unet-resnet18-x2.pt)  # only the encoder is needed
travelling() {  # what a copy of the working tree holds: tracked files, and .whl carried
    echo "travels: $(( ($(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1) \
        + $(du -sb .whl 2>/dev/null | cut -f1 || echo 0)) / 1048576 )) MiB (limit 64)"
}
case "${1:-}" in
wheels)
    rm -rf .whl && python3 -m pip download -q -d .whl --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 \
        --platform manylinux_2_17_x86_64 nbclient nbformat ipykernel
    python3 -m pip download -q -d .whl --no-deps d2l==1.0.3  # bench_train compares with it
    # the GPU machine's image already has these: keep its versions
    rm -f .whl/{attrs,packaging,psutil,pygments,python_dateutil,typing_extensions}-*.whl
    du -sh .whl ;;
stage)
    git diff --cached --quiet || { echo "stage: the index holds staged changes; commit first" >&2
                                   exit 1; }
    git rm -q --cached -- "${LEFT_OUT[@]}"
    mkdir -p .git/info && printf '%s\n' "${LEFT_OUT[@]}" >> .git/info/exclude
    echo "left out of the index until 'bash tools/gpu_check.sh unstage': ${LEFT_OUT[*]}"
    travelling ;;
unstage)
    git reset -q -- "${LEFT_OUT[@]}"
    for f in "${LEFT_OUT[@]}"; do sed -i "\#^$f\$#d" .git/info/exclude; done
    git diff --cached --quiet -- reference && git status --short -- reference
    echo "the shipped models are back in the index"; travelling ;;
run)
    shift
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl
    PYTHONPATH="/tmp/site:$PWD" python3 tools/gpu_check.py --out "${OUT:?set OUT}" "$@" ;;
*)
    echo "usage: bash tools/gpu_check.sh wheels | stage | run [gpu_check.py arguments] | unstage" >&2
    exit 2 ;;
esac
