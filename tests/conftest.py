"""Test set-up: no display, no audio device, no user config."""

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _private_config_dir(tmp_path_factory, monkeypatch):
    """Each test gets its own calibration folder so the user's file is never read or written."""
    monkeypatch.setenv("HANDPLAY_CONFIG_DIR", str(tmp_path_factory.mktemp("config")))
