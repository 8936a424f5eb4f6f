"""Rendered Ashiatsu scenes with known truth: anny bodies posed in a studio, drawn by pyrender.

Nobody can film Ashiatsu for us and the pose models never saw a person lying face-down under an
overhead camera, so we render our own: a table, two overhead bars, a client lying prone and a
therapist standing on the client's back, seen by the studio's camera, with both people's 33
BlazePose keypoints projected into the image and marked hidden where the depth buffer says so.

Needs the ``render`` extra and OSMesa (``bash scripts/setup`` installs both; ``apt-get install
libosmesa6``); see docs/rendered-scenes.md. Importing this package needs neither: the heavy
imports live in the modules that use them.
"""

import os as _os

# PyOpenGL picks its platform once, at its first import (by pyrender, or by anything else that
# imports OpenGL first): headless rendering needs OSMesa chosen before that.
_os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")
