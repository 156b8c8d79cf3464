"""The judge-audit instrument: is an LLM judge measuring quality, or position, length, apologies and style?

The judge under audit is the evaluated model (``models:``): items carry an
instruction, two responses and a gold or human label, and each trial asks the
judge which response is better under one condition (position, artifact, judging
template, verdict format). See docs/judge.md.
"""
