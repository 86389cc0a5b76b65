"""The WhatsApp channel (Meta's WhatsApp Business Cloud API): a signed webhook in, the outbox out."""
