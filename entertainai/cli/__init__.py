"""The ``entertainai`` command line."""
