"""The business reports (SPEC §8.5): production, efficiency, inventory and clients over a period.

Each report is a read model built from grouped SQL over the runs, jobs and the stock ledger, and
handed to the page as ``Table``s, so the page and its CSV show the same figures. Every figure's
definition: docs/reports.md.
"""
