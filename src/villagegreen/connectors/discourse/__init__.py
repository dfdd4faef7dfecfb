"""Discourse: folders or zips of native topic JSON (``/t/<slug>/<id>.json``) responses."""
