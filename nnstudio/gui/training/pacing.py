"""How much time drawing the training views really takes, so the controller can pace its drawing."""

from __future__ import annotations


class PaintClock:
    """Seconds spent painting training views (plots, canvas maps) since last asked: the controller paces
    its drawing by what drawing really costs, paints included."""

    seconds = 0.0

    @classmethod
    def take(cls) -> float:
        spent, cls.seconds = cls.seconds, 0.0
        return spent
