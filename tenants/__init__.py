"""Tenant registry, provisioning, schema routing and per-tenant migrations."""
