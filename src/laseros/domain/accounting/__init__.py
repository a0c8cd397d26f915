"""Accounting: the Sage Business Cloud Accounting connection, its audit log and the syncs (docs/accounting.md)."""
