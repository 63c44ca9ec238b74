"""The version of the rule catalogue (placeholder until the fingerprint is recorded)."""

RULESET_VERSION = "2026.11.1"
