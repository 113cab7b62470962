"""Team notifications, engine-free: which engine events matter, grouped and paced for chat.

``events`` (what an engine reports) -> ``classify`` (what happened: a crash, an OOM kill, ...)
-> ``incidents`` (repeats grouped into one message, paced per channel, storms summarised).
"""
