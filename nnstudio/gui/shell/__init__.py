"""The window itself: start-up (`app`), the main window and its parts (files, recovery), look, Problems panel."""
