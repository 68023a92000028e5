"""Kivy screens and widgets: the only layer that imports kivy (UI issue)."""
