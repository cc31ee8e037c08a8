"""Speed and cost: where the time of a result goes, and what a change of model or engine would save."""
