"""The application and its windows carry NN Studio's icon."""

from nnstudio.gui.shell.app import application_icon, create_application


def test_application_icon_has_every_bundled_size(qapp):
    sizes = {s.width() for s in application_icon().availableSizes()}
    assert {16, 32, 48, 64, 128, 256} <= sizes
    assert not create_application([]).windowIcon().isNull()
