"""Rollups (rekap) of every desa for the kecamatan and kabupaten dashboards, kept by the worker."""
