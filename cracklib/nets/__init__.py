"""The networks: VGG-11 crack classifiers and their cards, B-cos layers, the U-Net, input preprocessing, and
the one loader of weights files.
"""
from cracklib.nets.bcos import (BcosConv2d, BcosLinear, UncenteredBatchNorm, InputEncoding, BcosVGG, build_bcos_vgg,
                                fold_uncentered_batch_norm, is_bcos, explanation_mode, bcos_contributions)
from cracklib.nets.models import (ARCHITECTURES, CRACK_CLASS, Normalization, ModelCard, build_model,
                                  checked_model_name, conv_layer_names, default_device, fold_batch_norm, file_sha256,
                                  save_model, scoring_graph, screening_graph)
from cracklib.nets.preprocess import to_pixels, to_input, resize_map, VIEWS, turned_batch
from cracklib.nets.unet import UNet11
from cracklib.nets.weights import NETWORK_KINDS, load_network, load_model, load_segmenter, load_explainer

__all__ = ["BcosConv2d", "BcosLinear", "UncenteredBatchNorm", "InputEncoding", "BcosVGG", "build_bcos_vgg",
           "fold_uncentered_batch_norm", "is_bcos", "explanation_mode", "bcos_contributions", "ARCHITECTURES",
           "CRACK_CLASS", "Normalization", "ModelCard", "build_model", "checked_model_name", "conv_layer_names",
           "default_device", "fold_batch_norm", "file_sha256", "save_model", "scoring_graph", "screening_graph",
           "to_pixels", "to_input", "resize_map", "VIEWS", "turned_batch", "UNet11", "NETWORK_KINDS", "load_network",
           "load_model", "load_segmenter", "load_explainer"]
