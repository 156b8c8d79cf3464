"""The survey's items and the loaders that read them from files, Hugging Face datasets and built-in examples.

Use :func:`load_survey_items` with a spec's ``data`` section; :func:`available_loaders`
lists the loader names it accepts. The file formats are described in docs/data-formats.md.
"""

from forkingpaths.instruments.survey.data.builtin import group_names
from forkingpaths.instruments.survey.data.items import SurveyItem, Translation
from forkingpaths.instruments.survey.data.loaders import available_loaders, load_survey_items

__all__ = ["SurveyItem", "Translation", "available_loaders", "group_names", "load_survey_items"]
