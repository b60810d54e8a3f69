"""Helpers the experiments' data providers (``rubrics/<id>/provider.py``) build their data from.

The store (:mod:`graders.data.store`) runs an experiment's provider; the
provider decides what is served and what is held back, using these generic
pieces: ``keras_images`` (Keras image-class datasets from an instructor's
cache, else a synthetic stand-in), ``images`` (writing and measuring image
files), ``arrays`` (the scale statistics the evaluator matches) and
``synthetic`` (deterministic stand-ins for data that is not available
offline: garments, digits, reviews, faces, portraits, outdoor scenes).
"""
