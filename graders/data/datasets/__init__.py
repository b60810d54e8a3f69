"""Helpers the experiments' data providers (``rubrics/<id>/provider.py``) build their data from.

The store (:mod:`graders.data.store`) runs an experiment's provider; the
provider decides what is served and what is held back, using these generic
pieces: ``keras_images`` (Keras image-class datasets from an instructor's
cache, else the stand-in the provider gives), ``images`` (writing and
measuring image files) and ``arrays`` (the scale statistics the evaluator
matches). Providers reach them through :mod:`graders.kit`; the stand-in
generators themselves are the experiments' data library (``standins/``).
"""
