"""Sounds synthesised with numpy at start-up: no audio files to ship or license.

Every sound is a few sine partials under an envelope, tuned to a pentatonic scale so that many
hits at once still sound pleasant on a loud public speaker. When there is no audio device the
mixer fails to start and :class:`Sounds` stays silent.
"""

from __future__ import annotations

import logging

import numpy as np
import pygame

log = logging.getLogger(__name__)

SAMPLE_RATE = 44100
VOLUME = 0.5
PENTATONIC = [0, 2, 4, 7, 9, 12, 14, 16]  # semitones above the root


def _tone(
    freq: float,
    seconds: float,
    partials: tuple[float, ...] = (1.0, 0.5, 0.25),
    attack: float = 0.005,
    decay: float = 8.0,
    slide: float = 0.0,
) -> np.ndarray:
    """A decaying tone: partials at freq·1, ·2, ·3…, exponential decay (1/s), optional slide."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    f = freq * (1.0 + slide * t)  # frequency glides by `slide` per second
    phase = 2 * np.pi * np.cumsum(f) / SAMPLE_RATE
    wave = sum(a * np.sin(phase * (i + 1)) for i, a in enumerate(partials))
    env = np.minimum(1.0, t / attack) * np.exp(-decay * t)
    return wave * env / sum(partials)


def _noise(seconds: float, decay: float, seed: int = 0, lowpass: int = 6) -> np.ndarray:
    """A burst of smoothed noise (a pop or a whoosh)."""
    n = int(seconds * SAMPLE_RATE)
    rng = np.random.default_rng(seed)
    noise = np.convolve(rng.uniform(-1, 1, n), np.ones(lowpass) / lowpass, mode="same")
    t = np.arange(n) / SAMPLE_RATE
    return noise * np.exp(-decay * t)


def _mix(*waves: np.ndarray) -> np.ndarray:
    """Sum waves of different lengths (the shorter ones are padded with silence)."""
    out = np.zeros(max(len(w) for w in waves))
    for w in waves:
        out[: len(w)] += w
    return out


def _note(semitones: float, root: float = 392.0) -> float:
    return root * 2 ** (semitones / 12)


def synthesise() -> dict[str, list[np.ndarray]]:
    """Every sound as float arrays in -1..1 (a list of variants per name)."""
    hits = [
        _mix(
            _tone(_note(s, 262.0), 0.25, (1.0, 0.3, 0.15), decay=14.0),
            0.4 * _noise(0.05, 60.0, seed=s),
        )
        for s in PENTATONIC[:6]
    ]
    bounce = [_tone(_note(s, 130.0), 0.18, (1.0, 0.2), decay=20.0) for s in (0, 4, 7)]
    pop = [
        _mix(
            _noise(0.22, 18.0, seed=7, lowpass=3) * 0.9,
            _tone(180.0, 0.15, (1.0,), decay=25, slide=-2.0) * 0.6,
        )
    ]
    arpeggio = np.concatenate(
        [_tone(_note(s), 0.09, (1.0, 0.4, 0.2), decay=10.0) for s in (0, 4, 7)]
        + [_tone(_note(12), 0.5, (1.0, 0.5, 0.3), decay=5.0)]
    )
    start = np.concatenate(
        [_tone(_note(s, 330.0), 0.12, (1.0, 0.5), decay=9.0) for s in (0, 2, 4, 7, 12)]
    )
    end = np.concatenate(
        [_tone(_note(s, 262.0), 0.22, (1.0, 0.6, 0.3), decay=5.0) for s in (12, 7, 4, 0)]
    )
    sounds = {
        "hit": hits,
        "bounce": bounce,
        "pop": pop,
        "score": [arpeggio],
        "start": [start],
        "end": [end],
        "tick": [_tone(_note(19, 523.0), 0.08, (1.0, 0.3), decay=40.0)],
    }
    return {name: [_finish(w) for w in variants] for name, variants in sounds.items()}


def _finish(wave: np.ndarray, fade: float = 0.015) -> np.ndarray:
    """Fade the last ``fade`` seconds out (a cut-off tone clicks) and keep the peak <= 0.95."""
    n = min(len(wave), int(fade * SAMPLE_RATE))
    wave = wave.copy()
    wave[len(wave) - n :] *= np.linspace(1.0, 0.0, n)
    return wave * min(1.0, 0.95 / max(1e-9, float(np.abs(wave).max())))


class Sounds:
    """Plays the generated sounds; silent when the mixer cannot start.

    Args:
        enabled: False to stay silent on purpose (tests, ``--mute``).
    """

    def __init__(self, enabled: bool = True) -> None:
        self._sounds: dict[str, list[pygame.mixer.Sound]] = {}
        if not enabled:
            return
        try:
            if not pygame.mixer.get_init():
                pygame.mixer.init(SAMPLE_RATE, -16, 2, 512)
            freq, _fmt, channels = pygame.mixer.get_init()
            pygame.mixer.set_num_channels(24)
        except pygame.error as e:
            log.info("no sound: %s", e)
            return
        for name, variants in synthesise().items():
            self._sounds[name] = [self._make(v, freq, channels) for v in variants]

    @staticmethod
    def _make(wave: np.ndarray, freq: int, channels: int) -> pygame.mixer.Sound:
        if freq != SAMPLE_RATE:  # resample by linear interpolation to the mixer's rate
            n = int(len(wave) * freq / SAMPLE_RATE)
            wave = np.interp(np.linspace(0, len(wave) - 1, n), np.arange(len(wave)), wave)
        pcm = (np.clip(wave, -1, 1) * 32767 * VOLUME).astype(np.int16)
        if channels > 1:
            pcm = np.repeat(pcm[:, None], channels, axis=1)
        return pygame.sndarray.make_sound(np.ascontiguousarray(pcm))

    def play(self, name: str, strength: float = 1.0, variant: int | None = None) -> None:
        """Play ``name`` at volume ``strength`` (0..1); ``variant`` picks a pitch."""
        variants = self._sounds.get(name)
        if not variants:
            return
        sound = variants[(variant if variant is not None else 0) % len(variants)]
        channel = sound.play()
        if channel is not None:
            channel.set_volume(max(0.05, min(1.0, strength)))
