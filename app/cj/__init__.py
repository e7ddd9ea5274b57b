"""The CJ Dropshipping API 2.0 client: typed calls under CJ's real limits."""
