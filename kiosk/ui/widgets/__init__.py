"""Reusable touch widgets: buttons, panels, the PIN pad, the demo panel, the idle prompt."""
