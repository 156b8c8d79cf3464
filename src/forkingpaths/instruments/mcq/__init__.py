"""The MCQ instrument: multiple-choice benchmark scores as measurements (see docs/mcq.md)."""
