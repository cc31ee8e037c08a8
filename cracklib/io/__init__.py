"""Reading and writing: images and masks, data folders, zip archives, synthetic cracks, pictures of results.
"""
from cracklib.io.archive import extract_zip, data_root, zip_bytes, MAX_UNPACKED_BYTES
from cracklib.io.datasets import (MANIFEST_COLUMNS, write_manifest, DEMO_SAMPLE, Sample, read_dataset, read_sample,
                                  crack_pixels, IMAGE_SUFFIXES, LABEL_FOLDERS, assign_splits, match_masks)
from cracklib.io.imageio import read_image, read_mask, to_rgb_uint8, write_png, MAX_PIXELS
from cracklib.io.render import (RELEVANCE_PERCENTILE, relevance_scale, relevance_preview, heatmap_rgb, heatmap_overlay,
                                mask_overlay, outline_boxes, growth_overlay, preview, NEW_CRACK_COLOR, OLD_CRACK_COLOR)
from cracklib.io.synthetic import (TEXTURES, surface, crack_mask, crack_image, GrowthSeries, HARD_SERIES, growth_series,
                                   bundled_samples, write_bundled_samples, write_sample_dataset,
                                   write_synthetic_dataset)

__all__ = ["extract_zip", "data_root", "zip_bytes", "MAX_UNPACKED_BYTES", "MANIFEST_COLUMNS", "write_manifest",
           "DEMO_SAMPLE", "Sample", "read_dataset", "read_sample", "crack_pixels", "IMAGE_SUFFIXES", "LABEL_FOLDERS",
           "assign_splits", "match_masks", "read_image", "read_mask", "to_rgb_uint8", "write_png", "MAX_PIXELS",
           "RELEVANCE_PERCENTILE", "relevance_scale", "relevance_preview", "heatmap_rgb", "heatmap_overlay",
           "mask_overlay", "outline_boxes", "growth_overlay", "preview", "NEW_CRACK_COLOR", "OLD_CRACK_COLOR",
           "TEXTURES", "surface", "crack_mask", "crack_image", "GrowthSeries", "HARD_SERIES", "growth_series",
           "bundled_samples", "write_bundled_samples", "write_sample_dataset", "write_synthetic_dataset"]
