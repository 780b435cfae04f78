"""
Matrix of entropic OT distances between handwritten digits
===========================================================

Forty of scikit-learn's 8 x 8 digits (four of each class, sorted by class) become histograms on
the 8 x 8 pixel grid; the cost between pixels is their squared distance divided by its maximum.
:func:`numopt.ot.pairwise_sinkhorn2` computes the 40 x 40 matrix of entropic OT losses
(``reg = 1e-2`` of the largest cost), solving only the pairs on and above the diagonal since the
cost is symmetric. Digits of one class are close to each other: the matrix shows blocks along
its diagonal. Passing ``client=dask.distributed.Client(...)`` runs the same tiles on a cluster.
"""

import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from numopt.ot import pairwise_sinkhorn2

digits = load_digits()
chosen = np.concatenate([np.flatnonzero(digits.target == label)[:4] for label in range(10)])
images = digits.images[chosen].reshape(len(chosen), -1).T
# every pixel gets a little mass (1%), so that each histogram has full support
histograms = images / images.sum(axis=0)
histograms = 0.99 * histograms + 0.01 / histograms.shape[0]

pixels = np.array([(row, col) for row in range(8) for col in range(8)], dtype=float)
cost = ((pixels[:, None, :] - pixels[None, :, :]) ** 2).sum(-1)
cost /= cost.max()

started = time.perf_counter()
losses = pairwise_sinkhorn2(histograms, None, cost, 1e-2, block_size=20)
print(f"{losses.shape[0]} x {losses.shape[1]} losses in {time.perf_counter() - started:.2f} s")

labels = digits.target[chosen]
same = labels[:, None] == labels[None, :]
off_diagonal = ~np.eye(len(labels), dtype=bool)
print(f"mean loss within a class: {losses[same & off_diagonal].mean():.4f}, "
      f"between classes: {losses[~same].mean():.4f}")

fig, ax = plt.subplots(figsize=(6, 5))
image = ax.imshow(losses, cmap="viridis")
ticks = np.arange(2, len(labels), 4)
ax.set_xticks(ticks, labels[ticks])
ax.set_yticks(ticks, labels[ticks])
ax.set_xlabel("digit")
ax.set_ylabel("digit")
ax.set_title("Entropic OT loss between 8 x 8 digits")
fig.colorbar(image, ax=ax, label=r"$\langle M, P\rangle$")
fig.tight_layout()
plt.show()
