"""A sticky hidden Markov model for smoothing per-frame class probabilities along time.

A class holds from one frame to the next with probability ``stay`` (over a gap of n frames, ``stay`` to the
n), and changes to any other one alike; each frame's probabilities are its emissions, floored so that no single
frame outweighs its neighbours by more than 1 / ``floor``.  A light's state along its track and a frame tag
along the sequence are both smoothed by it.
"""

from __future__ import annotations

import numpy as np


def sticky_hmm(emissions: np.ndarray, gaps: np.ndarray, stay: float, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """The Viterbi path (a class index per row) and the forward-backward posteriors of ``emissions`` (rows in
    time order, one column a class; at least one row and two classes); ``gaps`` are the frames between rows."""
    count, states = emissions.shape
    emissions = np.clip(emissions, floor, None)
    transitions = [_transition(int(gap), stay, states) for gap in gaps]
    forward = np.empty((count, states))
    forward[0] = emissions[0] / emissions[0].sum()
    best = np.log(forward[0])
    back = np.zeros((count, states), int)
    for t in range(1, count):
        predicted = forward[t - 1] @ transitions[t - 1] * emissions[t]
        forward[t] = predicted / predicted.sum()
        candidates = best[:, None] + np.log(transitions[t - 1])
        back[t] = candidates.argmax(axis=0)
        best = candidates.max(axis=0) + np.log(emissions[t])
    backward = np.ones((count, states))
    for t in range(count - 2, -1, -1):
        carried = transitions[t] @ (emissions[t + 1] * backward[t + 1])
        backward[t] = carried / carried.sum()
    posterior = forward * backward
    posterior /= posterior.sum(axis=1, keepdims=True)
    path = np.empty(count, int)
    path[-1] = best.argmax()
    for t in range(count - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path, posterior


def _transition(gap: int, stay: float, states: int) -> np.ndarray:
    kept = stay ** max(gap, 1)
    matrix = np.full((states, states), (1 - kept) / (states - 1))
    np.fill_diagonal(matrix, kept)
    return matrix
