"""cracklib: crack segmentation from classifier explanations.

A crack classifier trained on image labels ("crack / no crack") is explained
(LRP, captum's gradient methods, B-cos, NN-Explainer); the explanation is cut
into a mask, refined on the photo and measured (area, count, length, width).
Seibold et al. (VISAPP 2022) and Forest et al. (Automation in Construction 2024).

The names most users need are here::

    from cracklib import load_classifier, read_image, segment, write_png

    classifier = load_classifier()              # the bundled default model
    result = segment(classifier, read_image("photo.jpg"))
    print(result.probability, result.severity.summary())
    write_png("photo_mask.png", result.mask)

The subpackages, layered (each imports only those below it; ``.importlinter``):

- :mod:`cracklib.studio`, :mod:`cracklib.cli`: the Streamlit pages' helpers, the command line
- :mod:`cracklib.run`, :mod:`cracklib.train`: many photos (evaluation, growth, campaigns, exports); training
- :mod:`cracklib.pipeline`: photo → probability → explanation → mask → severity (inference only)
- :mod:`cracklib.explain`, :mod:`cracklib.measure`: explanation methods; severity and scores
- :mod:`cracklib.nets`, :mod:`cracklib.mask`, :mod:`cracklib.io`: networks and weights; thresholds, refinement
  and post-processing; images, data folders and pictures
- :mod:`cracklib.tiling`, :mod:`cracklib.errors`: whole photos in tiles; the one error type for a user's mistake
"""
from cracklib.errors import CrackInputError
from cracklib.io import read_dataset, read_image, read_mask, write_png
from cracklib.measure import Severity
from cracklib.pipeline import (
                               DEFAULT_WEIGHTS,
                               Explanation,
                               ExplanationSettings,
                               MaskSettings,
                               PipelineConfig,
                               SegmentationResult,
                               explain,
                               load_classifier,
                               method_choices,
                               segment,
                               segment_explanation,
)
from cracklib.run import evaluate_samples, monitor_growth

__version__ = "0.1.0"

__all__ = ["load_classifier", "DEFAULT_WEIGHTS", "segment", "explain", "segment_explanation", "PipelineConfig",
           "ExplanationSettings", "MaskSettings", "method_choices", "Explanation", "SegmentationResult", "Severity",
           "read_image", "read_mask", "write_png", "read_dataset", "evaluate_samples", "monitor_growth",
           "CrackInputError"]
