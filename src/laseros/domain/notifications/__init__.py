"""Notifications: what needs attention, raised and cleared by rules over projects and stock."""
