"""Settings: what the dashboard reads (the store, its sources, the analyses run) and the
organisation's configuration (facilitators, privacy policy). Read-only: settings change in
``villagegreen.toml`` and through the command line, where they are reviewed and logged."""

from __future__ import annotations

from typing import Any

from villagegreen.config import Config
from villagegreen.interfaces.web.figures import iso
from villagegreen.store.database import Store
from villagegreen.store.overview import list_sources


def settings_data(store: Store, config: Config, *, token_required: bool) -> dict[str, Any]:
    runs = store.con.execute(
        "SELECT analysis, version, grain, window_key, finished_at, result_rows FROM analysis_runs ORDER BY analysis, grain, window_key"
    ).fetchall()
    return {
        "store": {"path": str(store.path), "schema_version": store.schema_version()},
        "sources": [s.to_dict() for s in list_sources(store)],
        "config_path": str(config.path) if config.path else None,
        "facilitators": [rule.describe() for rule in config.facilitators],
        "privacy": {"k_anonymity": config.privacy.k_anonymity, "unrecorded": config.privacy.unrecorded},
        "analysis_runs": [{"analysis": a, "version": v, "grain": g, "window": w, "finished_at": iso(f), "result_rows": n} for a, v, g, w, f, n in runs],
        "access": "sign-in required (dashboard users or the access token)" if token_required else "loopback only, no sign-in",
        "see_also": [{"href": "/settings/consent", "label": "the consent registry"}],
    }
