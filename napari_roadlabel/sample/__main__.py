"""python -m napari_roadlabel.sample OUT_FOLDER: write the synthetic road clip and its ground truth."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import RoadSceneConfig, write_sample


def main(argv: list[str] | None = None) -> None:
    defaults = RoadSceneConfig()
    parser = argparse.ArgumentParser(prog="python -m napari_roadlabel.sample", description=__doc__)
    parser.add_argument("folder", type=Path, help="where to write road_clip.mp4 and road_clip.geojson")
    parser.add_argument("--frames", type=int, default=defaults.frames)
    parser.add_argument("--width", type=int, default=defaults.width)
    parser.add_argument("--height", type=int, default=defaults.height)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    args = parser.parse_args(argv)
    try:
        config = RoadSceneConfig(frames=args.frames, width=args.width, height=args.height, seed=args.seed)
    except ValueError as error:
        parser.error(str(error))
    for path in write_sample(args.folder, config):
        print(path)


if __name__ == "__main__":
    main()
