"""Files on projects and products: checked uploads, stored under generated names, DXF analysis."""
