"""Package data: the static embedding model (see scripts/build_static_model.py)."""
