"""Ordinary Python modules whose functions the code generator copies into the exported model.py and train.py."""
