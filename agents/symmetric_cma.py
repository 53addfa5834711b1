"""`cmaes.CMA` drawing each point through the symmetric square root of its covariance.

CMA-ES draws a point as `m + sigma * y` with `y ~ N(0, C)`. `cmaes.CMA` takes `y = B D z`
from the eigendecomposition `C = B D² Bᵀ` and a standard normal `z`. That `B` is not a
function of `C`: each eigenvector's sign is arbitrary, and where eigenvalues are equal any
rotation within their eigenspace is as good. After the first generation they are: the
covariance then is a multiple of the identity plus a rank-`population` update, so with 6
points in 8 dimensions two eigenvalues are equal, and which basis LAPACK returns for them is
decided by rounding in the BLAS kernels of the machine's CPU. The next generation's points
then differ by as much as the spread itself, and the runs go their own ways
(benchmarks/results/history.md, "Are the step counts reproducible?").

`y = B D Bᵀ z = C^½ z` has the same distribution, since `Bᵀ z` is standard normal too, and
`C^½` is unique: signs and rotations within an eigenspace cancel in it. A rounding
difference in `C` is then a rounding difference in the points, and stays one. The random
stream is drawn exactly as `cmaes.CMA` draws it; only `_sample_solution`, the one place `B`
reaches a point, differs.
"""

from __future__ import annotations

import cmaes
import numpy as np


class SymmetricRootCMA(cmaes.CMA):  # type: ignore[misc]  # cmaes ships no type information
    """`cmaes.CMA` whose points are `mean + sigma * C^½ z` (see the module docstring)."""

    def _sample_solution(self) -> np.ndarray:
        B, D = self._eigen_decomposition()
        z = self._rng.randn(self._n_dim)  # ~ N(0, I), as cmaes.CMA draws it
        y = B @ (D * (B.T @ z))  # ~ N(0, C), whichever eigenbasis B is
        return self._mean + self._sigma * y
