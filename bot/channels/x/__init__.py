"""The X (Twitter) direct-message channel: polls DM events, sends replies through the outbox."""
