"""Keyvend: sell API keys and let any application verify them."""
