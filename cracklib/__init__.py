"""cracklib: crack segmentation from classifier explanations.

Modules, one concept each:

- :mod:`~cracklib.models`: VGG-11 crack classifiers, weights files and model cards
- :mod:`~cracklib.composites`: named LRP rule sets (zennit composites)
- :mod:`~cracklib.baselines`: reference inputs for IG, DeepLift and SHAP
- :mod:`~cracklib.attribution`: registry of explanation methods
- :mod:`~cracklib.threshold`: relevance map → score map and mask
- :mod:`~cracklib.postprocess`: morphological clean-up
- :mod:`~cracklib.metrics`: IoU/F1, PR curves, localisation scores
- :mod:`~cracklib.severity`: area, count, length, width, orientation
- :mod:`~cracklib.tiling`, :mod:`~cracklib.decision`: whole photos in tiles, and the photo's probability from its tiles
- :mod:`~cracklib.settings`: what changes the explanation, what changes only the mask
- :mod:`~cracklib.pipeline`: photo → probability → explanation → mask → severity
- :mod:`~cracklib.evaluation`, :mod:`~cracklib.datasets`: data folders and scores
- :mod:`~cracklib.training`, :mod:`~cracklib.training_data`: training from image labels
- :mod:`~cracklib.synthetic`: synthetic cracks with exact masks
- :mod:`~cracklib.errors`: the one error type for a user's mistake
"""
__version__ = "0.1.0"
