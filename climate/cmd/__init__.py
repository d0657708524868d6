"""Console entry points (see ``console_scripts`` in setup.cfg)."""
