"""What every business area uses, and nothing that belongs to one area.

Actor and the activity log, code sequences, the shop-settings registry, money, the shop's facts
(thicknesses, calendar, sheet descriptions), form fields, paging, search, message templates and
the domain's errors. The kernel imports no business area (a test reads the imports to hold it so).
"""
