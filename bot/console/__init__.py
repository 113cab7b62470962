"""The local console: a chat platform of its own, answering in plain text in a terminal."""
