"""Camera, ego motion and projection of the synthetic road scene.

The world is described in road coordinates: ``S`` is the distance along the
road (m) and ``d`` the lateral offset from the yellow centre line (m, positive
to the right).  At each frame the road is bent into the car's frame with the
clothoid lane model used by lane detectors: a point ``s = S - S_car`` ahead
lies at ``x = d - e - psi*s + c*s^2/2`` to the side, where ``e`` is the car's
lateral position, ``psi`` its heading relative to the road and ``c`` the
curvature.  Rendering and ground truth both go through this one mapping and
the same pinhole projection, so what is drawn and what is labelled agree to
floating-point precision.

Image coordinates follow OpenCV and napari: x right, y down, pixel centres on
integers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.geometry import clip_polygon
from .config import RoadSceneConfig

NEAR_M = 0.5  # nothing closer than this to the camera is drawn or labelled
FAR_M = 200.0  # nor road paint further than this (it would be far thinner than a pixel)
GEOMETRIC_STEP = 0.05  # road outlines are cut into pieces whose far end is at most 5 % further away


@dataclass(frozen=True)
class Camera:
    width: int
    height: int
    focal_px: float
    cx: float
    cy: float  # the horizon row of a level camera
    height_m: float

    @classmethod
    def from_config(cls, config: RoadSceneConfig) -> Camera:
        focal = (config.width / 2) / math.tan(math.radians(config.horizontal_fov_deg) / 2)
        return cls(config.width, config.height, focal, (config.width - 1) / 2, config.horizon * config.height,
                   config.camera_height_m)

    @property
    def last_pixel(self) -> tuple[float, float]:
        """(x, y) of the centre of the bottom-right pixel: labels stay within 0..this."""
        return float(self.width - 1), float(self.height - 1)


@dataclass(frozen=True)
class Pose:
    """Where the car is and how the camera points on one frame."""

    distance_m: float  # S of the car
    lateral_m: float  # e: the car's d
    heading_rad: float  # psi: the car's heading relative to the road, positive to the right
    curvature: float  # c: 1/m, positive bends right
    pitch_rad: float  # camera vibration, positive tilts up
    yaw_rad: float  # camera vibration, positive turns right
    world_heading_rad: float  # the car's heading in the world, for things at infinity (the treeline)


def make_poses(config: RoadSceneConfig, camera: Camera, rng: np.random.Generator) -> list[Pose]:
    """The ego motion of every frame: smooth speed changes, a drifting curve, lateral sway and vibration."""
    times = np.arange(config.frames) / config.fps
    duration = config.frames / config.fps
    speed_wave, _ = smooth_wave(rng, times, 0.4 / duration, 1.2 / duration)
    low, high = config.speed_mps
    speed = low + (high - low) * _spread_to_unit(speed_wave)
    distance = _integrate(speed, times)
    curve_wave, _ = smooth_wave(rng, times, 0.02, 0.08)
    curvature = config.curvature * (1 + config.curvature_variation * curve_wave)
    sway, sway_rate = smooth_wave(rng, times, 0.05, 0.2)
    lateral = config.lane_width_m / 2 + config.sway_m * sway  # the middle of the lane right of the yellow line
    heading = config.sway_m * sway_rate / speed
    pitch_px, _ = smooth_wave(rng, times, 1.0, 4.0)
    yaw_px, _ = smooth_wave(rng, times, 1.0, 4.0)
    pitch = np.arctan(config.camera_shake_px * pitch_px / camera.focal_px)
    yaw = np.arctan(config.camera_shake_px * yaw_px / camera.focal_px)
    world_heading = _integrate(curvature, distance) + heading
    return [Pose(*map(float, values)) for values in
            zip(distance, lateral, heading, curvature, pitch, yaw, world_heading, strict=True)]


def smooth_wave(rng: np.random.Generator, times: np.ndarray, low_hz: float, high_hz: float,
                components: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """A random sum of sinusoids within -1..1 at ``times``, and its time derivative."""
    frequency = rng.uniform(low_hz, high_hz, components)[:, None]
    phase = rng.uniform(0, 2 * np.pi, components)[:, None]
    weight = rng.uniform(0.5, 1.0, components)
    weight = weight / weight.sum()
    angle = 2 * np.pi * frequency * times + phase
    return weight @ np.sin(angle), weight @ (2 * np.pi * frequency * np.cos(angle))


def _spread_to_unit(values: np.ndarray) -> np.ndarray:
    """Rescale to exactly 0..1 (0.5 for a constant), so the speed covers its whole range over the clip."""
    spread = np.ptp(values)
    return (values - values.min()) / spread if spread > 0 else np.full_like(values, 0.5)


def _integrate(rate: np.ndarray, over: np.ndarray) -> np.ndarray:
    steps = np.diff(over) * (rate[1:] + rate[:-1]) / 2
    return np.concatenate([[0.0], np.cumsum(steps)])


class View:
    """The camera on one frame: road coordinates to image pixels and back."""

    def __init__(self, camera: Camera, pose: Pose):
        self.camera = camera
        self.pose = pose
        cos_y, sin_y = math.cos(pose.yaw_rad), math.sin(pose.yaw_rad)
        cos_p, sin_p = math.cos(pose.pitch_rad), math.sin(pose.pitch_rad)
        yaw = np.array([[cos_y, 0, -sin_y], [0, 1, 0], [sin_y, 0, cos_y]])
        pitch = np.array([[1, 0, 0], [0, cos_p, -sin_p], [0, sin_p, cos_p]])
        self.rotation = pitch @ yaw  # car axes (x right, y up, z ahead) to camera axes (same order)

    # ---------------------------------------------------------- road to image

    def ahead(self, S: np.ndarray | float) -> np.ndarray | float:
        """Distance ahead of the car of road positions ``S``."""
        return S - self.pose.distance_m

    def to_car(self, S, d, height=0.0) -> np.ndarray:
        """(N, 3) car-frame points (x right, y up, z ahead) of road positions at ``height`` above the road."""
        s = np.asarray(self.ahead(S), dtype=np.float64)
        x = np.asarray(d, dtype=np.float64) + self.centre_offset(s)
        return np.stack(np.broadcast_arrays(x, np.asarray(height, dtype=np.float64), s), axis=-1).reshape(-1, 3)

    def centre_offset(self, s):
        """x in the car's frame of the point d = 0 at ``s`` ahead (the bent road)."""
        pose = self.pose
        return -pose.lateral_m - pose.heading_rad * s + pose.curvature * s * s / 2

    def road_slope(self, s: float) -> float:
        """dx/ds of the road at ``s`` ahead: signs and lights face along it."""
        return -self.pose.heading_rad + self.pose.curvature * s

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Image (x, y) of (N, 3) car-frame points and their depth along the camera axis."""
        camera = self.camera
        relative = np.asarray(points, dtype=np.float64) - [0.0, camera.height_m, 0.0]
        x, y, z = self.rotation @ relative.T
        with np.errstate(divide="ignore", invalid="ignore"):
            image = np.stack([camera.cx + camera.focal_px * x / z, camera.cy - camera.focal_px * y / z], axis=1)
        return image, z

    def project_road(self, S, d, height=0.0) -> tuple[np.ndarray, np.ndarray]:
        return self.project(self.to_car(S, d, height))

    def project_area(self, outline: np.ndarray) -> np.ndarray | None:
        """Image polygon of a road-surface outline ((N, 2) of S, d) between NEAR_M and FAR_M; None if none of it is."""
        car = self.pose.distance_m
        ahead = clip_polygon(outline, 0, car + NEAR_M, keep_above=True)
        if len(ahead) >= 3:
            ahead = clip_polygon(ahead, 0, car + FAR_M, keep_above=False)
        if len(ahead) < 3:
            return None
        dense = densify(ahead, car)
        return self.project_road(dense[:, 0], dense[:, 1])[0]

    def project_upright(self, S: float, d0: float, d1: float, bottom: float, top: float) -> np.ndarray | None:
        """Image corners (top-left, top-right, bottom-right, bottom-left) of an upright rectangle at ``S``
        facing along the road, ``d0``..``d1`` across and ``bottom``..``top`` high; None unless it is all ahead."""
        s = self.ahead(S)
        angle = math.atan(self.road_slope(s))  # the rectangle turns with the road
        across = np.array([d0, d1, d1, d0])
        height = np.array([top, top, bottom, bottom])
        x = self.centre_offset(s) + across * math.cos(angle)
        z = s - across * math.sin(angle)
        image, depth = self.project(np.stack([x, height, z], axis=1))
        return image if (depth > NEAR_M).all() else None

    # ---------------------------------------------------------- image to road

    def pixel_rays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Car-frame direction (x, y, z) of every pixel's ray, float32 (H, W) arrays."""
        camera = self.camera
        u = (np.arange(camera.width, dtype=np.float32) - camera.cx) / camera.focal_px
        v = (camera.cy - np.arange(camera.height, dtype=np.float32)[:, None]) / camera.focal_px
        inverse = self.rotation.T.astype(np.float32)  # camera axes back to car axes
        return tuple(row[0] * u + row[1] * v + row[2] for row in inverse)

    def road_coordinates(self, x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(S, d) of car-frame ground points (x, z): the inverse of :meth:`to_car`."""
        return z + self.pose.distance_m, x - self.centre_offset(z)


def densify(outline: np.ndarray, car_S: float) -> np.ndarray:
    """Cut the edges of a polygon ahead of the car so each piece, once bent by the curve, stays straight.

    Pieces grow with distance (geometric steps), as the curve's bend in pixels shrinks.
    """
    points = []
    for start, end in zip(outline, np.roll(outline, -1, axis=0), strict=True):
        near, far = start[0] - car_S, end[0] - car_S
        pieces = max(1, math.ceil(abs(math.log(far / near)) / GEOMETRIC_STEP))
        ahead = near * (far / near) ** (np.arange(pieces) / pieces)
        fraction = (ahead - near) / (far - near) if far != near else np.arange(pieces) / pieces
        points.append(start + fraction[:, None] * (end - start))
    return np.concatenate(points)
