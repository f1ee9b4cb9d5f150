"""Warehouse tables and analyst views, one module per domain.

Each module defines ``DDL`` (idempotent statements: ``CREATE TABLE IF NOT EXISTS``, ``ALTER TABLE ... ADD
COLUMN IF NOT EXISTS``) and ``VIEWS`` (name -> SELECT for the ``analytics`` schema). The views are the
analysts' public API: changing a column of one is a breaking change and must be called out in the README.
"""
