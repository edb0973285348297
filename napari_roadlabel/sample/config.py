"""Options of the synthetic road sequence."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RoadSceneConfig:
    """What to generate.  Every random choice (texture, motion, layout, noise) comes from ``seed``."""

    frames: int = 90
    width: int = 640
    height: int = 360
    fps: float = 30.0
    seed: int = 0
    curvature: float = 0.002  # mean road curvature (1/m, positive bends right): a 500 m radius
    curvature_variation: float = 0.5  # the curvature drifts slowly within curvature * (1 +/- this)
    camera_shake_px: float = 1.5  # amplitude of the pitch and yaw vibration, in pixels (0 = steady)
    sway_m: float = 0.25  # amplitude of the ego car's slow lateral drift within its lane
    speed_mps: tuple[float, float] = (12.0, 18.0)  # speed varies smoothly between these over the clip
    lane_width_m: float = 3.6
    camera_height_m: float = 1.4
    horizontal_fov_deg: float = 60.0
    horizon: float = 0.4  # height of the horizon as a fraction of the image, from the top
    sensor_noise: float = 1.5  # standard deviation of per-frame pixel noise (grey levels)

    def __post_init__(self) -> None:
        if self.frames < 1:
            raise ValueError(f"frames must be at least 1, got {self.frames}")
        if self.width < 32 or self.height < 32:
            raise ValueError(f"the image must be at least 32x32 pixels, got {self.width}x{self.height}")
        if self.fps <= 0:
            raise ValueError(f"fps must be positive, got {self.fps}")
        low, high = self.speed_mps
        if not 0 < low <= high:
            raise ValueError(f"speed_mps must be (low, high) with 0 < low <= high, got {self.speed_mps}")
        if not 0.1 <= self.horizon <= 0.8:
            raise ValueError(f"horizon must be between 0.1 and 0.8 of the image height, got {self.horizon}")
        if not 10 <= self.horizontal_fov_deg <= 120:
            raise ValueError(f"horizontal_fov_deg must be between 10 and 120, got {self.horizontal_fov_deg}")
