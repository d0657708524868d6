"""Test doubles of the services Climate talks to (see each module's docstring)."""
