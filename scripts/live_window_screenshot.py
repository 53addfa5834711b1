"""Draw the live window headless on a recorded video and save a screenshot (docs/live_window.png).

Runs the hill-climber against the video as `laetitia train --viewer video:PATH` would (MTCNN,
the shipped FER model), with the live window drawn off-screen (SDL_VIDEODRIVER=dummy), and
saves the window as it looks after the last step.

The camera preview is pixelated in the saved image (`--pixelate`, 0 to keep it sharp): the test
videos are third-party recordings of a real person, which the repository must not copy.

    SDL_VIDEODRIVER=dummy .venv/bin/python scripts/live_window_screenshot.py \
        [--video ../shared/fixtures/single_face.mp4] [--out docs/live_window.png] [--pixelate 16]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")


def main() -> None:
    import cv2

    from laetitia.agents import agent_class
    from laetitia.cameras import VideoFile
    from laetitia.envs.make import make_env
    from laetitia.errors import CameraError
    from laetitia.meter import HappinessMeter
    from laetitia.run_settings import RUN_DEFAULTS
    from laetitia.viewers.live import LiveViewer
    from laetitia.viewers.live_window import LiveWindow

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=Path("../shared/fixtures/single_face.mp4"))
    parser.add_argument("--out", type=Path, default=Path("docs/live_window.png"))
    parser.add_argument("--frames", type=int, default=3)
    parser.add_argument("--steps", type=int, default=23)
    parser.add_argument("--pixelate", type=int, default=16, help="block size in frame pixels")
    args = parser.parse_args()

    window = LiveWindow("laetitia: look at the face")
    viewer = LiveViewer(
        lambda: VideoFile(args.video),  # opened on the first step, as make_viewer does
        HappinessMeter.live(),
        frames=args.frames,
        settle_s=0.0,
        show=True,
        realtime=False,
        source={"kind": "video", "path": str(args.video)},
        nondeterministic=False,
        stage=window,
    )
    env = make_env("laetitia/Smile-v0", viewer, RUN_DEFAULTS)
    agent = agent_class("hill-climb")(env, seed=0)
    try:
        agent.learn(args.steps)
    except CameraError as error:
        print(f"stopped: {error}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    frame = window.state.preview
    if args.pixelate > 1 and frame is not None:
        height, width = frame.shape[:2]
        small = cv2.resize(frame, (width // args.pixelate, height // args.pixelate), cv2.INTER_AREA)
        window.state.preview = cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)
    window.screenshot(args.out)
    # Re-encode at the highest PNG compression: the same pixels, a smaller file.
    image = cv2.imread(str(args.out), cv2.IMREAD_UNCHANGED)
    cv2.imwrite(str(args.out), image, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    env.close()
    print(f"{args.out}: {args.out.stat().st_size / 1e3:.0f} KB after {window.state.step} steps")


if __name__ == "__main__":
    main()
