"""The outside world behind small interfaces: payment gateways, mail, webhooks."""
