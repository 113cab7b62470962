"""Durable state in a SQL database (SQLAlchemy 2): approvals and the audit log.

SQLite by default; any SQLAlchemy URL (PostgreSQL for several replicas) works through the same
code. Nothing here is kept in process memory between requests.
"""
