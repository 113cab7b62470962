"""Turning ``/docker`` command text into typed operations (see ``parser.parse_command``)."""
