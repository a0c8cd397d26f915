"""Quotes, invoices and payments: the shop's money side (docs/quotes_and_invoices.md)."""
