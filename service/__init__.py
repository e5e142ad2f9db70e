"""service: the composition root: typed settings, wiring of engines and sessions, and the `listener` CLI.

`service.settings` imports nothing of ours so every package may depend on it; the rest sits at the top.
"""
