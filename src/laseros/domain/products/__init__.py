"""The product catalogue (SKU-0001) and the products a project lists."""
