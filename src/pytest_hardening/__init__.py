"""pytest-hardening: prove a Python backend survives provider outages, bad production
configuration and leaking error reports.

Load the pytest plugin with ``pytest -p pytest_hardening``.
"""

from __future__ import annotations

# Loading the package with ``-p pytest_hardening`` (autoload disabled) registers the plugin
# module through this hook; with autoload, the entry point registers it directly under the
# name ``pytest_hardening`` so pytest never registers it twice.
pytest_plugins = ["pytest_hardening._plugin"]

__all__: list[str] = []
