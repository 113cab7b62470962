"""Adapters to real Docker engines (the only package that imports the ``docker`` SDK)."""
