"""placeholder"""
from forkingpaths.report.parts import NoPresentation


class BiasPresentation(NoPresentation):
    pass
