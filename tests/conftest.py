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


@pytest.fixture(scope="session")
def disc_model(tmp_path_factory):
    """Path to the red-disc ONNX test model (handplay.testing.make_disc_model)."""
    from handplay.testing import make_disc_model

    return make_disc_model(tmp_path_factory.mktemp("models") / "disc.onnx")


@pytest.fixture
def pygame_display():
    """An initialised pygame with a 1280×720 dummy display; events drained before and after."""
    import pygame

    from handplay.events import reserve_event_types

    pygame.init()
    screen = pygame.display.set_mode((1280, 720))
    reserve_event_types()  # an earlier test's pygame.quit() restarted pygame's type counter
    pygame.event.clear()
    yield screen
    pygame.event.clear()
    pygame.quit()


@pytest.fixture(scope="session")
def open_disc_model(tmp_path_factory):
    """A format-2 disc model: red discs are open hands, magenta (CLOSED_BGR) closed ones."""
    from handplay.testing import make_disc_model

    return make_disc_model(tmp_path_factory.mktemp("models") / "open.onnx", open_output=True)
