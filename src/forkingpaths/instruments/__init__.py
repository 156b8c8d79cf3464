"""Instruments: each one is a folder here (or in another package) registered in
:data:`forkingpaths.registry.instruments`; the protocol is in :mod:`forkingpaths.instruments.base`."""
