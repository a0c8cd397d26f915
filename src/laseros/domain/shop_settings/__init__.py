"""The shop settings page's service: saving what an admin changed, and what a change sets off."""
