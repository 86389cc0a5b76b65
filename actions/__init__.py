"""Rasa custom actions: thin hand-overs to the triage service's HTTP API (see actions.py)."""
