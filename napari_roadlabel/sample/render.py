"""Drawing the road scene with OpenCV.

Per frame: every pixel's ray meets the ground at road coordinates (S, d); the
verge colour and the asphalt grain are sampled there from a world-anchored
noise texture (mip-mapped, so far texture does not shimmer), road paint is
filled as projected anti-aliased polygons, then the sky, the treeline and the
upright things (lights, signs, poles: sprites warped onto their projected
rectangles) go on top, far to near.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from .layout import Layout, Panel
from .scene import FAR_M, NEAR_M, Camera, View

PALETTE = {  # RGB
    "asphalt": (98, 98, 102),
    "white": (234, 234, 228),
    "yellow": (238, 182, 38),
    "school": (150, 78, 68),
    "grass": (76, 112, 50),
    "soil": (122, 102, 68),
    "haze": (170, 180, 186),
    "horizon": (198, 210, 224),
    "sky": (92, 138, 204),
    "trees": (46, 66, 44),
}
LAMP_COLORS = {  # lit, dark
    "red": ((255, 48, 36), (72, 18, 16)),
    "yellow": ((255, 192, 24), (70, 56, 12)),
    "green": ((36, 232, 120), (14, 56, 30)),
}
HAZE_M = 1000.0  # distance at which the haze covers 63 % of the ground
GRAIN = 0.12  # strength of the asphalt and grass texture (relative brightness)
SUBPIXEL_BITS = 4  # fillPoly works on 1/16 pixel


class GroundTexture:
    """Periodic noise on the road plane (TEXEL_M per texel) with box-filtered mip levels."""

    TEXEL_M = 0.02
    SIZE = 1024  # texels: the pattern repeats every 20.48 m
    OCTAVES = ((0.6, 1.0), (2.0, 0.7), (8.0, 0.35), (40.0, 0.25))  # (blur in texels, relative strength)

    def __init__(self, rng: np.random.Generator):
        noise = np.fft.rfft2(rng.standard_normal((self.SIZE, self.SIZE)))
        fy = np.fft.fftfreq(self.SIZE)[:, None]
        fx = np.fft.rfftfreq(self.SIZE)[None, :]
        radius2 = fx * fx + fy * fy
        # A Gaussian blur of width s keeps about 1/s of the noise's amplitude: weight octaves by s to even them out.
        spectrum = sum(strength * blur * np.exp(-2 * np.pi ** 2 * blur ** 2 * radius2)
                       for blur, strength in self.OCTAVES)
        tile = np.fft.irfft2(noise * spectrum, s=(self.SIZE, self.SIZE))
        tile = ((tile - tile.mean()) / tile.std()).astype(np.float32)
        self.levels = [tile]
        while self.levels[-1].shape[0] > 8:
            half = self.levels[-1].shape[0] // 2
            self.levels.append(cv2.resize(self.levels[-1], (half, half), interpolation=cv2.INTER_AREA))

    def sample(self, S: np.ndarray, d: np.ndarray, footprint: np.ndarray) -> np.ndarray:
        """Texture at road points, blurred to ``footprint`` (m per pixel) by blending the two nearest levels."""
        top = len(self.levels) - 1
        level = np.clip(np.log2(np.maximum(footprint, 1e-6) / self.TEXEL_M), 0, top).astype(np.float32)
        lower = np.minimum(level.astype(np.int32), top - 1)
        blend = level - lower
        # Wrap once at full resolution (remap's own wrapping loses precision far from the origin).
        x = np.mod(d / self.TEXEL_M, self.SIZE).astype(np.float32)
        y = np.mod(S / self.TEXEL_M, self.SIZE).astype(np.float32)
        out = np.zeros(S.shape, np.float32)
        for k in range(int(lower.min()), int(lower.max()) + 1):
            rows = np.flatnonzero((lower == k).any(axis=1))
            if rows.size == 0:
                continue
            band = slice(rows[0], rows[-1] + 1)
            fine, coarse = self._at(k, x[band], y[band]), self._at(k + 1, x[band], y[band])
            chosen = lower[band] == k
            out[band][chosen] = (fine + (coarse - fine) * blend[band])[chosen]
        return out

    def _at(self, k: int, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Level ``k`` at full-resolution texel coordinates (its texel i covers texels i*2^k .. (i+1)*2^k)."""
        scale = np.float32(0.5 ** k)
        return cv2.remap(self.levels[k], (x + 0.5) * scale - 0.5, (y + 0.5) * scale - 0.5, cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_WRAP)


class Sprites:
    """Pictures of upright things as premultiplied RGBA float32 pyramids, made on first use."""

    def __init__(self):
        self._pyramids: dict[str, list[np.ndarray]] = {}

    def pyramid(self, look: str) -> list[np.ndarray]:
        if look not in self._pyramids:
            levels = [_premultiplied(_draw_sprite(look))]
            while min(levels[-1].shape[:2]) >= 8:
                h, w = levels[-1].shape[:2]
                levels.append(cv2.resize(levels[-1], (w // 2, h // 2), interpolation=cv2.INTER_AREA))
            self._pyramids[look] = levels
        return self._pyramids[look]


def _draw_sprite(look: str) -> np.ndarray:
    """RGBA uint8 picture of a look: metal, light-<state>, speed-limit-<value>, stop."""
    if look == "metal":
        return np.full((8, 8, 4), (126, 128, 126, 255), np.uint8)
    if look.startswith("light-"):
        return _traffic_light(look.removeprefix("light-"))
    if look.startswith("speed-limit-"):
        return _speed_limit(look.removeprefix("speed-limit-"))
    if look == "stop":
        return _stop_sign()
    raise ValueError(f"no sprite for {look!r}")


def _traffic_light(lit: str) -> np.ndarray:
    """96 x 256 housing (0.45 x 1.2 m) with red, yellow, green lamps top to bottom, one of them lit."""
    width, height = 96, 256
    image = np.full((height, width, 4), (30, 32, 30, 255), np.uint8)
    cv2.rectangle(image, (0, 0), (width - 1, height - 1), (58, 60, 56, 255), 4)
    for index, name in enumerate(("red", "yellow", "green")):
        bright, dark = LAMP_COLORS[name]
        centre = (width / 2 - 0.5, height * (2 * index + 1) / 6 - 0.5)
        _disc(image, centre, 32, (*(bright if name == lit else dark), 255))
        if name == lit:  # a hot core, as a lit lamp saturates the camera
            _disc(image, centre, 16, (*(min(255, c + 110) for c in bright), 255))
    return image


def _speed_limit(value: str) -> np.ndarray:
    """128 x 160 white sign (0.6 x 0.75 m) with a black border, SPEED LIMIT and the number."""
    width, height = 128, 160
    image = np.full((height, width, 4), (242, 242, 238, 255), np.uint8)
    cv2.rectangle(image, (0, 0), (width - 1, height - 1), (20, 20, 20, 255), 5)
    cv2.rectangle(image, (9, 9), (width - 10, height - 10), (20, 20, 20, 255), 2, cv2.LINE_AA)
    _centred_text(image, "SPEED", 40, 16, 2)
    _centred_text(image, "LIMIT", 66, 16, 2)
    _centred_text(image, value, 124, 46, 6)
    return image


def _stop_sign() -> np.ndarray:
    """160 x 160 red octagon (0.75 m) with a white rim and STOP; transparent outside the octagon."""
    size = 160
    image = np.zeros((size, size, 4), np.uint8)
    _fill(image, _octagon(size, 0), (244, 244, 240, 255))
    _fill(image, _octagon(size, 7), (196, 22, 28, 255))
    alpha = np.zeros((size, size), np.uint8)
    _fill(alpha, _octagon(size, 0), 255)
    _centred_text(image, "STOP", 80 + 20, 40, 5, color=(244, 244, 240, 255))
    image[..., 3] = alpha
    return image


def _octagon(size: int, inset: float) -> np.ndarray:
    """Regular octagon touching all four sides of a size x size picture (pixel edges at -0.5, size - 0.5)."""
    low, high = -0.5 + inset, size - 0.5 - inset
    cut = (high - low) / (2 + math.sqrt(2))
    return np.array([[low + cut, low], [high - cut, low], [high, low + cut], [high, high - cut],
                     [high - cut, high], [low + cut, high], [low, high - cut], [low, low + cut]])


def _disc(image: np.ndarray, centre: tuple[float, float], radius: float, color) -> None:
    scale = 1 << SUBPIXEL_BITS
    cv2.circle(image, (round(centre[0] * scale), round(centre[1] * scale)), round(radius * scale), color, -1,
               cv2.LINE_AA, SUBPIXEL_BITS)


def _fill(image: np.ndarray, polygon: np.ndarray, color) -> None:
    """Anti-aliased polygon fill at sub-pixel precision."""
    points = np.round(np.asarray(polygon) * (1 << SUBPIXEL_BITS)).astype(np.int32)
    cv2.fillPoly(image, [points], color, cv2.LINE_AA, SUBPIXEL_BITS)


def _centred_text(image: np.ndarray, text: str, baseline: int, cap_height: int, thickness: int,
                  color=(20, 20, 20, 255)) -> None:
    font = cv2.FONT_HERSHEY_DUPLEX
    (width, height), _ = cv2.getTextSize(text, font, 1.0, thickness)
    scale = cap_height / height
    (width, _), _ = cv2.getTextSize(text, font, scale, thickness)
    cv2.putText(image, text, ((image.shape[1] - width) // 2, baseline), font, scale, color, thickness, cv2.LINE_AA)


def _premultiplied(rgba: np.ndarray) -> np.ndarray:
    image = rgba.astype(np.float32)
    alpha = image[..., 3:] / 255
    return np.concatenate([image[..., :3] * alpha, alpha], axis=2)


class Renderer:
    """Draws the frames of one scene; holds the textures, sprites and treeline made from the seed."""

    def __init__(self, camera: Camera, layout: Layout, rng: np.random.Generator):
        self.camera = camera
        self.layout = layout
        self.texture = GroundTexture(rng)
        self.sprites = Sprites()
        harmonics = np.arange(2, 64)
        self._treeline = (rng.standard_normal(harmonics.size) / harmonics, rng.uniform(0, 2 * np.pi, harmonics.size),
                          harmonics)

    def render(self, view: View, frame: int, rng: np.random.Generator, sensor_noise: float) -> np.ndarray:
        """One RGB uint8 frame."""
        ray_x, ray_y, ray_z = view.pixel_rays()
        # The camera never rolls, so the horizon is a row: sky above it, road and verge below.
        horizon = int(np.searchsorted(-ray_y[:, 0], 1e-6))
        image = np.empty((*ray_y.shape, 3), np.float32)
        if horizon > 0:
            image[:horizon] = self._sky(view, ray_x[:horizon], ray_y[:horizon], ray_z[:horizon])
        if horizon < image.shape[0]:
            image[horizon:] = self._ground(view, horizon, ray_x[horizon:], ray_y[horizon:], ray_z[horizon:])
        for panel in sorted(self.layout.panels(frame), key=lambda panel: -view.ahead(panel.S)):
            self._draw_panel(image, view, panel)
        if sensor_noise > 0:
            image += sensor_noise * rng.standard_normal(image.shape[:2], dtype=np.float32)[..., None]
        return np.clip(image, 0, 255).round().astype(np.uint8)

    def _ground(self, view: View, horizon: int, ray_x: np.ndarray, ray_y: np.ndarray,
                ray_z: np.ndarray) -> np.ndarray:
        """Rows ``horizon`` and below: verge, asphalt and paint with world-anchored grain, hazed with distance."""
        camera = self.camera
        reach = camera.height_m / -ray_y  # ray length to the ground
        depth = reach * ray_z
        S, d = view.road_coordinates(reach * ray_x, depth)
        # Metres of road per pixel, along the road (the larger) and across it.
        footprint = np.maximum(depth * depth / (camera.focal_px * camera.height_m), depth / camera.focal_px)
        verge = self._verge(S, d, footprint)
        canvas = np.zeros((camera.height, camera.width, 3), np.uint8)  # paint polygons are in full-image pixels
        canvas[horizon:] = verge
        self._paint_road(canvas, view)
        grain = 1 + GRAIN * self.texture.sample(S, d, footprint)
        haze = (1 - np.exp(-depth / HAZE_M))[..., None]
        colour = canvas[horizon:] * grain[..., None]
        return colour + (np.float32(PALETTE["haze"]) - colour) * haze

    def _verge(self, S: np.ndarray, d: np.ndarray, footprint: np.ndarray) -> np.ndarray:
        """Grass with metre-sized patches of soil; smooth, so sampled on a 4x coarser grid."""
        coarse = (slice(None, None, 4), slice(None, None, 4))
        patches = self.texture.sample(S[coarse], d[coarse] + 5.0, np.maximum(footprint[coarse], 0.64))
        soil = cv2.resize(np.clip(0.5 + 0.5 * patches, 0, 1), S.shape[::-1], interpolation=cv2.INTER_LINEAR)[..., None]
        return (np.float32(PALETTE["grass"]) * (1 - soil) + np.float32(PALETTE["soil"]) * soil).astype(np.uint8)

    def _paint_road(self, image: np.ndarray, view: View) -> None:
        car = view.pose.distance_m
        for paint in self.layout.paints(car + NEAR_M, car + FAR_M):
            polygon = view.project_area(paint.outline)
            if polygon is not None:
                _fill(image, polygon, PALETTE[paint.color])

    def _sky(self, view: View, ray_x: np.ndarray, ray_y: np.ndarray, ray_z: np.ndarray) -> np.ndarray:
        """Blue gradient above a hazy horizon, and a ragged treeline at infinity that turns with the car."""
        elevation = np.arctan2(ray_y, np.hypot(ray_x, ray_z))
        height = np.clip(elevation / 0.45, 0, 1)[..., None] ** 0.7
        sky = np.float32(PALETTE["horizon"]) + (np.float32(PALETTE["sky"]) - np.float32(PALETTE["horizon"])) * height
        azimuth = np.arctan2(ray_x[-1], ray_z[-1]) + view.pose.world_heading_rad  # the row above the horizon
        weights, phases, harmonics = self._treeline
        ridge = 0.018 + 0.004 * np.sin(np.outer(azimuth, harmonics) + phases) @ weights
        cover = np.clip((ridge - elevation) * self.camera.focal_px + 0.5, 0, 1)[..., None]
        return sky + (np.float32(PALETTE["trees"]) - sky) * cover

    def _draw_panel(self, image: np.ndarray, view: View, panel: Panel) -> None:
        corners = view.project_upright(panel.S, panel.d0, panel.d1, panel.bottom, panel.top)
        if corners is None:
            return
        height, width = image.shape[:2]
        x0, y0 = np.maximum(np.floor(corners.min(axis=0)).astype(int), 0)
        x1, y1 = np.minimum(np.ceil(corners.max(axis=0)).astype(int) + 2, (width, height))
        if x1 <= x0 or y1 <= y0:
            return
        pyramid = self.sprites.pyramid(panel.look)
        shrink = pyramid[0].shape[0] / max(np.ptp(corners[:, 1]), 1e-6)
        sprite = pyramid[int(np.clip(np.floor(np.log2(max(shrink, 1.0))), 0, len(pyramid) - 1))]
        h, w = sprite.shape[:2]
        source = np.float32([[-0.5, -0.5], [w - 0.5, -0.5], [w - 0.5, h - 0.5], [-0.5, h - 0.5]])
        transform = cv2.getPerspectiveTransform(source, np.float32(corners - (x0, y0)))
        warped = cv2.warpPerspective(sprite, transform, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                                     borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        region = image[y0:y1, x0:x1]
        region *= 1 - warped[..., 3:]
        region += warped[..., :3]
