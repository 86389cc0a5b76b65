"""Citizen Q&A triage for public-safety teams."""
