"""The ``scanroute`` command line: one command group per noun, thin over the services."""
