"""The knowledge base: versioned articles, search, one answer rendered per channel."""
