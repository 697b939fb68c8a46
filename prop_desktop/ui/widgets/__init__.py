"""Reusable widgets: plots, workspace view, banners, profile cards."""
