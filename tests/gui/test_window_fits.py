"""Every panel the full window attaches scrolls rather than widening it: the whole window fits a 1280×720 screen."""

from __future__ import annotations


def test_the_full_window_fits_a_small_screen(qtbot, monkeypatch):
    from nnstudio.gui.shell.app import open_main_window

    window = open_main_window(None, defer=False)  # with every view attached: network, explain, runs, …
    monkeypatch.setattr(window, "ask_save_changes", lambda doing: "discard")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    hint = window.minimumSizeHint()
    assert hint.width() <= 1280 and hint.height() <= 720, hint
    central = window.centralWidget()
    for i in range(central.count()):  # the Network tab's Playground bar scrolls sideways
        assert central.widget(i).minimumSizeHint().width() <= 640, (i, central.widget(i).minimumSizeHint())
