"""Pure statistical functions over numpy arrays and pandas DataFrames.

Nothing here prints or calls a model; instruments and the report build on it.
"""
