"""Helpers shared by the test modules: databases, live servers, snapshots and small API calls."""
