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
    faithfulness,
    free_cyclic_garbage,
    growth_report,
    measured,
)
from cracklib.studio.figures import (
    HEATMAP_VIEWS,
    PR_CAPTION,
    RELEVANCE_LEGEND,
    faithfulness_figure,
    growth_figure,
    pr_figure,
    probability_figure,
    randomisation_figure,
    relevance_picture,
    training_figure,
)
from cracklib.studio.sidebar import UNRELIABLE_BALANCED_ACCURACY, sidebar_config, weights_options
from cracklib.studio.trained import (
    TRAINED_PREFIX,
    TRAINED_TTL_S,
    remember_trained,
    sweep_trained,
    trained_models,
    training_output,
)
from cracklib.studio.uploads import (
    CAMPAIGN_ROOTS_VARIABLE,
    DATA_ROOTS_VARIABLE,
    read_mask_upload,
    server_campaigns,
    server_data_folders,
    sweep_uploads,
    unpacked_zip,
)
from cracklib.studio.widgets import (
    DISPLAY_SIDE,
    mark_page_event,
    metric_rows,
    plain,
    progress_bar,
    selected_rows,
    show_image,
    table_numbers,
)

__all__ = ["BACKGROUND", "page_run", "prefetch_measured", "Explained", "ExplanationCache", "classifier", "cut",
           "demo_growth_frames", "example_campaign", "explanation", "explanation_cache", "faithfulness",
           "free_cyclic_garbage", "growth_report", "measured", "HEATMAP_VIEWS", "PR_CAPTION", "RELEVANCE_LEGEND",
           "pr_figure", "probability_figure", "relevance_picture", "training_figure", "faithfulness_figure",
           "growth_figure", "randomisation_figure", "UNRELIABLE_BALANCED_ACCURACY", "sidebar_config", "weights_options",
           "TRAINED_PREFIX", "TRAINED_TTL_S", "remember_trained", "sweep_trained", "trained_models", "training_output",
           "CAMPAIGN_ROOTS_VARIABLE", "DATA_ROOTS_VARIABLE", "read_mask_upload", "server_campaigns",
           "server_data_folders", "sweep_uploads", "unpacked_zip", "DISPLAY_SIDE", "mark_page_event", "metric_rows",
           "plain", "progress_bar", "selected_rows", "show_image", "table_numbers"]
