"""Counterfactual bias: demographic swaps measured against meaningless control changes (docs/counterfactual.md)."""
