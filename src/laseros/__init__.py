"""Laser OS: operations for small laser-cutting job shops."""

__version__ = "0.1.0"
