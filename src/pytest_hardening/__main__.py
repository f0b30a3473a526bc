"""``python -m pytest_hardening`` is the ``hardening`` command."""

from __future__ import annotations

from pytest_hardening._cli import main

if __name__ == "__main__":
    main()
