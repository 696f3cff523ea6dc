"""Django Channels adapters for wsroute."""
