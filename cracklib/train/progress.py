"""Progress of long work in the terminal: a bar, and one line per training epoch with the time left."""
from __future__ import annotations

from tqdm import tqdm

__all__ = ["progress_bar", "TrainingProgress"]


def progress_bar(total: int, description: str, log):
    """A tqdm bar writing to ``log`` (shown only where ``log`` is a terminal; cleared when done)."""
    return tqdm(total=total, desc=description, file=log, disable=None, leave=False)


class TrainingProgress:
    """A training run's progress bar over all its batches, and one log line per epoch with the time left.

    ``epoch`` sets the bar to the epoch's end (also right after a resume) and
    estimates the time left from this run's own epochs (a resumed run counts only those).
    """

    def __init__(self, epochs: int, steps_per_epoch: int, log):
        self.epochs, self.steps, self.log = epochs, steps_per_epoch, log
        self.bar = progress_bar(epochs * steps_per_epoch, "training", log)
        self.seconds: list[float] = []

    def batch(self, *_) -> None:
        self.bar.update(1)

    def epoch(self, number: int, seconds: float, figures: str) -> None:
        self.seconds.append(seconds)
        self.bar.n = number * self.steps
        self.bar.refresh()
        if self.log:
            eta = sum(self.seconds) / len(self.seconds) * (self.epochs - number)
            print(f"epoch {number}/{self.epochs}: {figures} ({seconds:.0f} s, ETA {eta / 60:.0f} min)",
                  file=self.log, flush=True)

    def close(self) -> None:
        self.bar.close()
