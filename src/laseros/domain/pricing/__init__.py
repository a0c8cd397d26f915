"""Pricing from the drawing: a project's DXF files, its preset and its sheet → a priced breakdown (docs/pricing.md)."""
