"""Plotly figures of arrays cracklib computed: the heatmap over the photo, PR curves, tile probabilities.
No numerics here."""
from __future__ import annotations

import numpy as np
import plotly.colors
import plotly.graph_objects as go

from cracklib.io.render import RELEVANCE_PERCENTILE, preview, relevance_scale
from cracklib.pipeline.results import Explanation
from cracklib.run.evaluation import PRCurve
from cracklib.tiling import ceil_div

#: How the Segment page draws relevance.
HEATMAP_VIEWS = ("relevance over photo", "relevance alone")


#: Blue (against a crack) - clear - red (for a crack): weak relevance leaves the photo as it is.
RELEVANCE_COLORS = [[0.0, "rgba(33,102,172,1)"], [0.3, "rgba(103,169,207,0.7)"], [0.5, "rgba(255,255,255,0)"],
                    [0.7, "rgba(239,138,98,0.7)"], [1.0, "rgba(178,24,43,1)"]]


#: Longest side of a drawn relevance map: a figure 360 px high needs no more, and the browser gets 4x less.
HEATMAP_SIDE = 800


def heatmap_figure(picture: np.ndarray, relevance: np.ndarray | None, *, view: str = HEATMAP_VIEWS[0]) -> go.Figure:
    """The relevance (red for a crack, blue against), over the photo or alone, zoomable, with a colour bar
    that saturates at the 99.5th percentile of |relevance| (cracklib.io.render.relevance_scale).

    ``picture`` is the photo at display size; it goes to the browser as a JPEG, not as numbers.
    """
    alone = view == HEATMAP_VIEWS[1]
    figure = go.Figure(go.Image(source=_jpeg_uri(np.full_like(picture, 255) if alone else picture)))
    if relevance is not None:
        values = preview(relevance, HEATMAP_SIDE)
        top = relevance_scale(values)
        figure.add_trace(go.Heatmap(z=values, colorscale=RELEVANCE_COLORS, zmin=-top, zmax=top,
                                    colorbar=dict(title=f"relevance<br>(±{RELEVANCE_PERCENTILE}th pct<br>of |R|)"),
                                    hovertemplate="relevance %{z:.3g}<extra></extra>",
                                    x0=0, dx=picture.shape[1] / values.shape[1],
                                    y0=0, dy=picture.shape[0] / values.shape[0]))
    figure.update_layout(margin=dict(l=0, r=0, t=0, b=0), height=360)
    figure.update_xaxes(visible=False, range=[0, picture.shape[1]])
    figure.update_yaxes(visible=False, range=[picture.shape[0], 0])
    return figure


def _jpeg_uri(picture: np.ndarray) -> str:
    """A display copy as a data URI (JPEG: a tenth of a PNG's time and size for a photo)."""
    import base64
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="JPEG", quality=88)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def pr_figure(curves: list[PRCurve]) -> go.Figure:
    """Precision-recall curves, each with its mask's operating point as a dot of the same colour."""
    figure = go.Figure()
    # Dark24 has 24 distinct colours: a grid of methods × thresholds never repeats one.
    palette = plotly.colors.qualitative.Dark24
    for index, curve in enumerate(curves):
        color = palette[index % len(palette)]
        figure.add_trace(go.Scatter(x=curve.recall, y=curve.precision, mode="lines", name=curve.label,
                                    line=dict(color=color), legendgroup=curve.label))
        if curve.point is not None:
            figure.add_trace(go.Scatter(x=[curve.point[0]], y=[curve.point[1]], mode="markers",
                                        marker=dict(size=11, color=color), name=f"{curve.label}: current mask",
                                        legendgroup=curve.label))
    figure.update_layout(xaxis=dict(title="recall", range=[0, 1]), yaxis=dict(title="precision", range=[0, 1.02]),
                         height=360, margin=dict(l=0, r=0, t=10, b=0))
    return figure


def probability_figure(explanation: Explanation, *, side: int = 400) -> go.Figure:
    """The tile-probability map (about ``side`` pixels across): where the classifier sees cracks."""
    step = max(1, ceil_div(max(explanation.image_shape), side))
    figure = go.Figure(go.Heatmap(z=explanation.tile_probability_map(step=step), colorscale="Reds", zmin=0, zmax=1,
                                  colorbar=dict(title="crack probability"),
                                  hovertemplate="probability %{z:.2f}<extra></extra>"))
    figure.update_layout(margin=dict(l=0, r=0, t=0, b=0), height=300, yaxis=dict(autorange="reversed", visible=False),
                         xaxis=dict(visible=False, scaleanchor="y"))
    return figure
