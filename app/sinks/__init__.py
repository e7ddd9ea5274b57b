"""Where notifications go: the store's Medusa Admin API and a generic signed webhook."""
