"""What the Streamlit pages (``app.py``, ``pages/``) use: cached models and explanations, the work done in the
background, the sidebar built from the option schema, uploads, figures and small widgets.

Pages stay thin: they read widgets, call cracklib through these helpers where a
cache or a progress bar is involved, and draw. No numerics here either: the
figures only draw arrays that cracklib computed.
"""
from cracklib.studio.background import BACKGROUND, page_run, prefetch_measured
from cracklib.studio.cache import (
                                   Explained,
                                   ExplanationCache,
                                   classifier,
                                   cut,
                                   demo_growth_frames,
                                   example_campaign,
                                   explanation,
                                   explanation_cache,
                                   free_cyclic_garbage,
                                   growth_report,
                                   measured,
)
from cracklib.studio.figures import HEATMAP_VIEWS, heatmap_figure, pr_figure, probability_figure
from cracklib.studio.sidebar import TRAINED_PREFIX, remember_trained, sidebar_config, weights_options
from cracklib.studio.uploads import (
                                   CAMPAIGN_ROOTS_VARIABLE,
                                   DATA_ROOTS_VARIABLE,
                                   read_mask_upload,
                                   server_campaigns,
                                   server_data_folders,
                                   sweep_uploads,
                                   unpacked_zip,
)
from cracklib.studio.widgets import DISPLAY_SIDE, IMAGE_TYPES, mark_page_event, progress_bar, selected_rows, show_image

__all__ = ["BACKGROUND", "page_run", "prefetch_measured", "Explained", "ExplanationCache", "classifier", "cut",
           "demo_growth_frames", "example_campaign", "explanation", "explanation_cache", "free_cyclic_garbage",
           "growth_report", "measured", "HEATMAP_VIEWS", "heatmap_figure", "pr_figure", "probability_figure",
           "TRAINED_PREFIX", "remember_trained", "sidebar_config", "weights_options", "CAMPAIGN_ROOTS_VARIABLE",
           "DATA_ROOTS_VARIABLE", "read_mask_upload", "server_campaigns", "server_data_folders", "sweep_uploads",
           "unpacked_zip", "DISPLAY_SIDE", "IMAGE_TYPES", "mark_page_event", "progress_bar", "selected_rows",
           "show_image"]
