"""Executing a run's unique requests: the executor protocol, the asyncio executor, progress."""
