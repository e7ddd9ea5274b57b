"""Medusa's Admin API for the catalogue: product payloads and the calls that send them."""
