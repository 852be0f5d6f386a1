"""Dock panels: prompt/job panel and the tools/mask panel."""
