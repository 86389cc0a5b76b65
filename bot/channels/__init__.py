"""Channel adapters: each maps its platform's updates onto `InboundMessage` and sends the outbox.

A channel is a part (`bot.web.plugins`): started with the service when it is configured.
"""
