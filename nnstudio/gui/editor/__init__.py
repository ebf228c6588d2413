"""Editing the design: inspector, parameter forms, the one family of undo commands, session, recovery store."""
