"""Pictures and plotly figures of arrays cracklib computed: the relevance over the photo, PR curves, tile
probabilities, training curves, faithfulness and randomisation curves. No numerics here."""
from __future__ import annotations

import math

import numpy as np
import plotly.colors
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cracklib.io.render import heatmap_overlay, heatmap_rgb
from cracklib.pipeline.results import Explanation
from cracklib.run.evaluation import PRCurve
from cracklib.run.faithfulness import FaithfulnessReport
from cracklib.tiling import ceil_div

#: How the Segment page draws relevance.
HEATMAP_VIEWS = ("relevance over photo", "relevance alone")


#: The words under every relevance picture (the colours of cracklib.io.render.heatmap_rgb and heatmap_overlay).
RELEVANCE_LEGEND = ("red: evidence of a crack (the stronger, the redder) · blue: evidence against · "
                    "clear: none")


def relevance_picture(picture: np.ndarray, heat: np.ndarray | None, *, view: str = HEATMAP_VIEWS[0]) -> np.ndarray:
    """The relevance at display size (``heat``, of ``picture``'s shape), over the photo or alone; the photo
    itself where nothing was explained (``heat`` None)."""
    if view == HEATMAP_VIEWS[1]:
        return heatmap_rgb(heat, picture.shape[:2])
    return heatmap_overlay(picture, heat)


def pr_figure(curves: list[PRCurve]) -> go.Figure:
    """Precision-recall curves, each with its mask's operating point as a dot of the same colour (one legend
    entry per curve, below the chart, so that a dozen methods all fit)."""
    figure = go.Figure()
    # Dark24 has 24 distinct colours: a grid of methods × thresholds never repeats one.
    palette = plotly.colors.qualitative.Dark24
    for index, curve in enumerate(curves):
        color = palette[index % len(palette)]
        figure.add_trace(go.Scatter(x=curve.recall, y=curve.precision, mode="lines", name=curve.label,
                                    line=dict(color=color), legendgroup=curve.label))
        if curve.point is not None:
            figure.add_trace(go.Scatter(x=[curve.point[0]], y=[curve.point[1]], mode="markers",
                                        marker=dict(size=11, color=color), name=f"{curve.label}: the mask shown",
                                        legendgroup=curve.label, showlegend=False))
    figure.update_layout(xaxis=dict(title="recall", range=[0, 1]), yaxis=dict(title="precision", range=[0, 1.02]),
                         height=360 + 22 * ceil_div(len(curves), 3), margin=dict(l=0, r=0, t=10, b=0),
                         legend=dict(orientation="h", yanchor="top", y=-0.15, xanchor="left", x=0))
    return figure


#: What a PR chart shows, under every one.
PR_CAPTION = ("Each line: the method's map cut at every level, before the refinement on the photo and the "
              "post-processing. Each dot: the mask shown, after them, so it can lie off its line.")


def probability_figure(explanation: Explanation, *, side: int = 400) -> go.Figure:
    """The tile-probability map (about ``side`` pixels across): where the classifier sees cracks."""
    step = max(1, ceil_div(max(explanation.image_shape), side))
    figure = go.Figure(go.Heatmap(z=explanation.tile_probability_map(step=step), colorscale="Reds", zmin=0, zmax=1,
                                  colorbar=dict(title="crack probability"),
                                  hovertemplate="probability %{z:.2f}<extra></extra>"))
    figure.update_layout(margin=dict(l=0, r=0, t=0, b=0), height=300, yaxis=dict(autorange="reversed", visible=False),
                         xaxis=dict(visible=False, scaleanchor="y"))
    return figure


def training_figure(history: list[dict]) -> go.Figure:
    """Loss and accuracy per epoch, each in its own panel with its own axis; whole epochs on the x axes."""
    figure = make_subplots(rows=1, cols=2, subplot_titles=("loss", "accuracy"), horizontal_spacing=0.1)
    epochs = [entry["epoch"] for entry in history]
    panels = (("train_loss", "val_loss"), ("train_accuracy", "val_balanced_accuracy"))
    for column, keys in enumerate(panels, 1):
        for key in keys:
            figure.add_trace(go.Scatter(x=epochs, y=[entry[key] for entry in history], mode="lines+markers",
                                        name=key.replace("_", " ")), row=1, col=column)
    # At most about 20 ticks, each a whole epoch.
    figure.update_xaxes(title="epoch", tick0=1, dtick=max(1, math.ceil(len(epochs) / 20)),
                        range=[0.5, max(epochs, default=1) + 0.5])
    figure.update_yaxes(rangemode="tozero", row=1, col=1)
    figure.update_yaxes(range=[0, 1.02], row=1, col=2)
    figure.update_layout(height=300, margin={"l": 0, "r": 0, "t": 30, "b": 0})
    return figure


def faithfulness_figure(reports: list[FaithfulnessReport]) -> go.Figure:
    """Each method's mean deletion and insertion curves (crack probability against the share of pixels removed
    or put back, most relevant first), one colour per method as in :func:`pr_figure`."""
    figure = make_subplots(rows=1, cols=2, subplot_titles=("deletion: most relevant pixels removed first",
                                                           "insertion: most relevant pixels put back first"),
                           horizontal_spacing=0.08)
    palette = plotly.colors.qualitative.Dark24
    for index, report in enumerate(reports):
        for column, kind in enumerate(("deletion", "insertion"), 1):
            curve = report.curve(kind)
            if curve is not None:
                figure.add_trace(go.Scatter(x=curve.fractions, y=curve.scores, mode="lines", name=report.label,
                                            line={"color": palette[index % len(palette)]},
                                            legendgroup=report.label, showlegend=column == 1), row=1, col=column)
    figure.update_xaxes(title="share of the pixels", range=[0, 1], tickformat=".0%")
    figure.update_yaxes(title="crack probability", range=[0, 1.02], row=1, col=1)
    figure.update_yaxes(range=[0, 1.02], row=1, col=2)
    figure.update_layout(height=340 + 22 * ceil_div(len(reports), 3), margin={"l": 0, "r": 0, "t": 30, "b": 0},
                         legend={"orientation": "h", "yanchor": "top", "y": -0.2, "xanchor": "left", "x": 0})
    return figure


def randomisation_figure(reports: list[FaithfulnessReport]) -> go.Figure:
    """Each method's cascading randomisation curve: how alike its maps stay (Spearman of |relevance|) as the
    classifier's layers are re-initialised from the top down, one colour per method as in :func:`pr_figure`."""
    figure = go.Figure()
    palette = plotly.colors.qualitative.Dark24
    for index, report in enumerate(reports):
        if report.randomisation is not None:
            figure.add_trace(go.Scatter(x=list(report.randomisation.layers), y=report.randomisation.mean("spearman"),
                                        mode="lines+markers", name=report.label,
                                        line={"color": palette[index % len(palette)]}))
    figure.update_layout(xaxis={"title": "layers re-initialised, from the top down (cumulative)"},
                         yaxis={"title": "Spearman with the trained model's map", "range": [-0.2, 1.02]},
                         height=340 + 22 * ceil_div(len(reports), 3), margin={"l": 0, "r": 0, "t": 10, "b": 0},
                         legend={"orientation": "h", "yanchor": "top", "y": -0.25, "xanchor": "left", "x": 0})
    return figure


#: What the growth chart draws, one small panel each: the report's key and the axis title.
CHART_MEASURES = (("area_px", "area (px)"), ("length_px", "length (px)"), ("max_width_px", "max width (px)"))


def nice_step(top: float, *, ticks: int = 4) -> float:
    """A round tick step (1, 2 or 5 × a power of ten, at least 1: pixels) for an axis from 0 to ``top``."""
    rough = max(top, 1.0) / ticks
    power = 10 ** math.floor(math.log10(rough))
    return max(1, next(step * power for step in (1, 2, 5, 10) if step * power >= rough))




def growth_figure(frames: list[dict]) -> go.Figure:
    """Area, length and max width of a growth report's frames (:meth:`cracklib.run.GrowthReport.to_dict`), one
    small panel each on its own axis: a width of a few pixels drawn on an axis of thousands of pixels of area is
    a flat line. Frames in time order from left to right; axes from zero, so that a 0.1 % change is not drawn
    as a full-height rise, with round ticks of whole pixels."""
    names = [frame["image"] for frame in frames]
    figure = make_subplots(rows=1, cols=len(CHART_MEASURES), subplot_titles=[title for _, title in CHART_MEASURES],
                           horizontal_spacing=0.08)
    for column, (key, title) in enumerate(CHART_MEASURES, start=1):
        values = [frame[key] for frame in frames]
        figure.add_trace(go.Scatter(x=names, y=values, mode="lines+markers", name=title, showlegend=False),
                         row=1, col=column)
        figure.update_yaxes(rangemode="tozero", tick0=0, dtick=nice_step(max(values, default=0)), tickformat=",d",
                            row=1, col=column)
        figure.update_xaxes(showticklabels=len(names) <= 8, row=1, col=column)
    figure.update_layout(height=280, margin={"l": 0, "r": 0, "t": 30, "b": 0})
    return figure
