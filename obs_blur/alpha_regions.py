"""Where the person alpha is surely 1 or surely 0 whatever the pixel's colour: rectangles of the frame.

The composite evaluates ``alpha = smoothstep(saturate(a . rgb + b))`` at every pixel, with ``a`` and
``b`` read bilinearly from the refinement's coefficient grid (``refine.apply_coefficients`` on the
CPU, the effect's ``person_alpha`` on the GPU). A pixel's coefficients are a weighted mean of its
(up to) four neighbouring grid points, and ``a . rgb + b`` is linear in them, so over every colour
in the unit cube it lies between the smallest ``b + sum(min(a, 0))`` and the largest
``b + sum(max(a, 0))`` of those points. Where even the smallest is 1 or more the alpha is 1 for any
colour; where even the largest is 0 or less it is 0. There the filter draws the person or the
background without reading the coefficients at all (on a software renderer every texture read is
CPU work), and only the rest, the band along the outline, takes the full per-pixel composite. The
picture is the same: these bounds are exact, not estimates.

numpy only: the filter runs this inside OBS, where OpenCV is never loaded.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

#: How far past 0 and 1 a bound must be before a region counts as sure: a GPU's bilinear weights
#: are rounded (often to 1/256), which moves ``a . rgb + b`` by far less than this.
SURE_MARGIN = 1e-3
#: Pixels whose position on the grid lies this close (in grid steps) to a grid point also take the
#: neighbour beyond it into their bound, should the GPU round the position to the other side.
POSITION_SLACK = 0.01
INSIDE, OUTSIDE, EDGE = 0, 1, 2


@dataclass(frozen=True)
class AlphaRegions:
    """Rectangles (x0, y0, x1, y1) in frame pixels, end exclusive, one array per kind, together the frame.

    ``inside``: alpha 1 for any colour; ``outside``: alpha 0 for any colour; ``edge``: the rest.
    """

    inside: np.ndarray
    outside: np.ndarray
    edge: np.ndarray

    @property
    def count(self) -> int:
        return len(self.inside) + len(self.outside) + len(self.edge)

    def share(self, kind: int, frame_size: tuple[int, int]) -> float:
        """The share of the frame's pixels in the rectangles of ``kind`` (INSIDE, OUTSIDE or EDGE)."""
        rects = (self.inside, self.outside, self.edge)[kind]
        area = ((rects[:, 2] - rects[:, 0]) * (rects[:, 3] - rects[:, 1])).sum()
        return float(area) / (frame_size[0] * frame_size[1])


def alpha_regions(coefficients: np.ndarray, frame_size: tuple[int, int]) -> AlphaRegions:
    """The frame split into sure-inside, sure-outside and edge rectangles for ``coefficients`` (h, w, 4).

    ``frame_size`` is the frame's (width, height); the grid is stretched over it the way a bilinear
    texture read or ``cv2.resize`` does (grid point centres at (i + 0.5) * frame / grid).
    """
    lowest, highest = _bounds(coefficients)
    grid_height, grid_width = lowest.shape
    column_starts, column_points = _spans(frame_size[0], grid_width)
    row_starts, row_points = _spans(frame_size[1], grid_height)
    lowest = _reduce(_reduce(lowest, column_points, np.minimum, axis=1), row_points, np.minimum, axis=0)
    highest = _reduce(_reduce(highest, column_points, np.maximum, axis=1), row_points, np.maximum, axis=0)
    kinds = np.full(lowest.shape, EDGE, dtype=np.int8)
    kinds[lowest >= 1.0 + SURE_MARGIN] = INSIDE
    kinds[highest <= -SURE_MARGIN] = OUTSIDE
    rects, rect_kinds = _runs(kinds, np.append(column_starts, frame_size[0]), np.append(row_starts, frame_size[1]))
    return AlphaRegions(*(rects[rect_kinds == kind] for kind in (INSIDE, OUTSIDE, EDGE)))


def triangle_vertices(rects: np.ndarray, frame_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Rectangles (x0, y0, x1, y1) as two triangles each, for a vertex buffer: (6 n, 4) float32
    positions (x, y, 0, 0: libobs's ``struct vec3`` is four floats) and (6 n, 2) float32 uvs, the
    position over the frame's size, as a quad over the whole frame has them there."""
    x0, y0, x1, y1 = (rects[:, k].astype(np.float32) for k in range(4))
    corners = ((x0, y0), (x1, y0), (x0, y1), (x1, y0), (x1, y1), (x0, y1))
    positions = np.zeros((len(rects), 6, 4), dtype=np.float32)
    for index, (x, y) in enumerate(corners):
        positions[:, index, 0], positions[:, index, 1] = x, y
    positions = positions.reshape(-1, 4)
    uvs = positions[:, :2] / np.array(frame_size, dtype=np.float32)
    return positions, np.ascontiguousarray(uvs)


def _bounds(coefficients: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The smallest and largest ``a . rgb + b`` over the unit colour cube at each grid point."""
    b = coefficients[..., 3]
    lowest, highest = b.copy(), b.copy()
    for channel in range(3):  # channel by channel: numpy is slow to sum a short last axis
        a = coefficients[..., channel]
        lowest += np.minimum(a, 0.0)
        highest += np.maximum(a, 0.0)
    return lowest, highest


@functools.lru_cache(maxsize=16)
def _spans(pixels: int, points: int) -> tuple[np.ndarray, np.ndarray]:
    """Runs of pixels that read the same grid points: (first pixel of each run, its (first, last) point).

    Pixel ``x``'s centre lies at ``(x + 0.5) * points / pixels - 0.5`` on the grid; a bilinear read
    blends the points on either side (clamped at the borders), widened by ``POSITION_SLACK``.
    """
    position = (np.arange(pixels) + 0.5) * (points / pixels) - 0.5
    first = np.clip(np.floor(position - POSITION_SLACK), 0, points - 1).astype(np.int64)
    last = np.clip(np.floor(position + POSITION_SLACK) + 1, 0, points - 1).astype(np.int64)
    changes = np.flatnonzero((np.diff(first) != 0) | (np.diff(last) != 0)) + 1
    starts = np.concatenate(([0], changes))
    points_read = np.stack((first[starts], last[starts]), axis=1)
    starts.flags.writeable = points_read.flags.writeable = False  # cached: shared by every caller
    return starts, points_read


def _reduce(values: np.ndarray, spans: np.ndarray, combine: np.ufunc, axis: int) -> np.ndarray:
    """``combine`` of ``values`` over each span's grid points along ``axis`` (a span covers at most three)."""
    first, last = spans[:, 0], spans[:, 1]
    result = np.take(values, first, axis=axis)
    for step in (1, 2):
        result = combine(result, np.take(values, np.minimum(first + step, last), axis=axis))
    return result


def _runs(kinds: np.ndarray, column_edges: np.ndarray, row_edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's runs of one kind as rectangles (x0, y0, x1, y1) with their kinds."""
    columns = kinds.shape[1]
    starts = np.ones(kinds.shape, dtype=bool)
    starts[:, 1:] = kinds[:, 1:] != kinds[:, :-1]
    row_index, column_index = np.nonzero(starts)
    ends = np.empty_like(column_index)
    ends[:-1] = column_index[1:]
    last_in_row = np.append(row_index[1:] != row_index[:-1], True)
    ends[last_in_row] = columns
    rects = np.stack(
        (column_edges[column_index], row_edges[row_index], column_edges[ends], row_edges[row_index + 1]), axis=1
    ).astype(np.int32)
    return rects, kinds[row_index, column_index]
