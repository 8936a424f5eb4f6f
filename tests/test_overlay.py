"""Frame overlay, face blurring and alert snapshots on synthetic images (vision.pictures.overlay,
vision.pictures.privacy, vision.pictures.snapshots), driven by the bundled sample session through the real
Auditor."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from vision.safety.audit import Auditor, FrameStatus
from vision.safety.backframe import BackState
from vision.safety.geometry import apply_h
from vision.pictures.overlay import draw_status
from vision.io.posetrack import KP, Frame, Person, iter_pose_track
from vision.pictures.privacy import blur_faces, face_region
from vision.safety.profile import load_profile
from vision.pictures.reporting.colours import GRIP_COLOURS, ZONE_COLOURS, bgr
from vision.pictures.snapshots import AlertSnapshots, load_index
from vision.safety.steps import FootStatus
from vision.io.studio import Studio, load_studio

ROOT = Path(__file__).resolve().parents[1]
SESSION, STUDIO, CLIENT = (ROOT / "samples" / n for n in
                           ("session.jsonl", "studio.yaml", "client.yaml"))


def noise(h: int = 720, w: int = 1280, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def statuses():
    """(frame, status) of every frame of the sample session, and the header."""
    header, frames = iter_pose_track(SESSION)
    aud = Auditor(header, load_studio(STUDIO), load_profile(CLIENT))
    out = [(fr, aud.push(fr)) for fr in frames]
    return header, out, aud


def _known(statuses):
    return next((fr, st) for fr, st in statuses[1] if st.back_state.known and st.roles.client)


# -- overlay ----------------------------------------------------------------------------------
def test_overlay_draws_on_a_copy_and_only_where_there_is_something(statuses):
    fr, st = _known(statuses)
    img = np.full((720, 1280, 3), 128, np.uint8)
    before = img.copy()
    out = draw_status(img, fr, st, load_studio(STUDIO))
    assert np.array_equal(img, before)                     # pure drawing: input untouched
    assert out.shape == img.shape and out.dtype == img.dtype
    changed = np.any(out != img, axis=2)
    assert changed[:20].mean() > 0.9                       # the status line's band
    # the skeletons: every confident client keypoint is drawn on
    kp = st.roles.client.kp
    for j in (11, 12, 23, 24):
        x, y = np.round(kp[j, :2]).astype(int)
        assert changed[y, x]
    # far from everyone (the bottom-left corner of this session) nothing is drawn
    assert not changed[650:, :200].any()


def test_zones_are_drawn_only_when_the_back_is_known(statuses):
    fr, st = _known(statuses)
    hinv = np.linalg.inv(st.back_state.h)
    empty = Frame(t=fr.t, people=[])
    base = np.full((720, 1280, 3), 128, np.uint8)
    # spine at mid-back, kidney and a safe point (lateral, below the ribs) in body cm
    pts = {"spine": (0.0, 18.0), "kidney": (6.0, 31.0), "safe": (14.0, 45.0)}
    nobody = FrameStatus(st.t, st.back, st.feet, st.hands, st.feet_on_client, [],
                         st.back_state, None)
    out = draw_status(base, empty, nobody)
    for zone, p in pts.items():
        x, y = np.round(apply_h(hinv, np.array(p))).astype(int)
        got = out[y, x].astype(float)
        want = 0.35 * np.array(bgr(ZONE_COLOURS[zone])) + 0.65 * 128
        assert np.abs(got - want).max() <= 3, (zone, got, want)
    unknown = FrameStatus(st.t, "unknown", st.feet, st.hands, st.feet_on_client, [],
                          BackState("unknown", None, {"left": None, "right": None}, 0.0), None)
    out = draw_status(base, empty, unknown)
    assert np.array_equal(out[60:], base[60:])             # only the status line: no zones


def _therapist_on_bar(bar_xy: tuple[float, float]) -> Person:
    kp = np.zeros((33, 3))
    kp[:, :2] = (1000, 600)
    kp[:, 2] = 0.9
    for name in ("left_wrist", "left_index", "left_pinky"):
        kp[KP[name], :2] = bar_xy
    return Person(id=7, kp=kp)


@pytest.mark.parametrize("hands, bar0, bar1", [
    ({"left": "on", "right": "off"}, "on", "off"),
    ({"left": "off", "right": "off"}, "off", "off"),
    ({"left": "unknown", "right": "unknown"}, "unknown", "unknown"),
])
def test_bars_are_coloured_by_grip(hands, bar0, bar1):
    studio = Studio(bars=np.array([[[100.0, 200.0], [700.0, 200.0]],
                                   [[100.0, 400.0], [700.0, 400.0]]]))
    th = _therapist_on_bar((400.0, 200.0))
    from vision.safety.roles import Roles
    feet = {s: FootStatus(s, True, False, "unknown", False) for s in ("left", "right")}
    st = FrameStatus(1.0, "unknown", feet, hands, 0, [], None, Roles(None, th))
    out = draw_status(np.full((720, 1280, 3), 128, np.uint8), Frame(1.0, [th]), st, studio)
    for y, state in ((200, bar0), (400, bar1)):
        px = out[y, 200].astype(int)                       # on the bar, away from the hand
        assert np.abs(px - bgr(GRIP_COLOURS[state])).max() <= 10, (state, px)


# -- privacy ----------------------------------------------------------------------------------
def _person(face_vis: float, shoulders_vis: float = 0.9, hips_vis: float = 0.9) -> Person:
    """Standing upright, facing the camera: face around (640, 200), shoulders at y 300."""
    kp = np.zeros((33, 3))
    face = np.array([[640, 200], [630, 190], [625, 190], [620, 190], [650, 190], [655, 190],
                     [660, 190], [610, 195], [670, 195], [632, 215], [648, 215]], float)
    kp[:11, :2], kp[:11, 2] = face, face_vis
    kp[KP["left_shoulder"]] = (700, 300, shoulders_vis)
    kp[KP["right_shoulder"]] = (580, 300, shoulders_vis)
    kp[KP["left_hip"]] = (680, 520, hips_vis)
    kp[KP["right_hip"]] = (600, 520, hips_vis)
    kp[11:, :2] = np.where(kp[11:, :2] == 0, (640, 600), kp[11:, :2])
    return Person(id=1, kp=kp)


def _detail(img: np.ndarray, x: int, y: int, r: int) -> float:
    patch = cv2.cvtColor(img[y - r:y + r, x - r:x + r], cv2.COLOR_BGR2GRAY)
    return float(np.abs(cv2.Laplacian(patch, cv2.CV_64F)).mean())


def test_blur_hides_the_face_and_leaves_the_rest():
    img = noise()
    out = blur_faces(img, [_person(0.9)])
    assert not np.shares_memory(out, img)
    # the face loses nearly all detail and does not correlate with what it was
    assert _detail(out, 640, 200, 25) < 0.1 * _detail(img, 640, 200, 25)
    a = img[180:220, 620:660].astype(float).ravel()
    b = out[180:220, 620:660].astype(float).ravel()
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.3
    # away from the head nothing changes
    assert np.array_equal(out[400:], img[400:])
    assert np.array_equal(out[:, :450], img[:, :450]) and np.array_equal(out[:, 830:], img[:, 830:])


def test_unsure_face_is_estimated_from_the_shoulders_and_nothing_is_not_blurred():
    img = noise()
    # face points not confident: the head is placed past the shoulders, away from the hips
    c, r = face_region(_person(0.1).kp)
    assert c[1] < 300 and abs(c[0] - 640) < 5 and r >= 0.45 * 120
    out = blur_faces(img, [_person(0.1)])
    x, y = np.round(c).astype(int)
    assert _detail(out, x, y, 15) < 0.1 * _detail(img, x, y, 15)
    # shoulders seen but no hips: a circle on the shoulder midpoint, whichever way the head lies
    c2, r2 = face_region(_person(0.1, hips_vis=0.0).kp)
    assert np.allclose(c2, (640, 300)) and r2 >= 120
    # nothing usable: nothing blurred for that person (documented)
    assert face_region(_person(0.1, shoulders_vis=0.0).kp) is None
    assert np.array_equal(blur_faces(img, [_person(0.1, shoulders_vis=0.0)]), img)
    # a head outside the picture is skipped without error
    far = _person(0.9)
    far.kp[:, 0] += 5000
    assert np.array_equal(blur_faces(img, [far]), img)


# -- snapshots --------------------------------------------------------------------------------
_NOISE = noise(seed=3)


def _stamped(i: int, textured: bool = False) -> np.ndarray:
    """A frame whose bottom-right block encodes its index (survives JPEG); plain or noise."""
    img = _NOISE.copy() if textured else np.full((720, 1280, 3), 100, np.uint8)
    img[660:, 1220:] = (i % 50 * 5, i // 50 * 20, 0)
    return img


def _stamp_of(img: np.ndarray) -> int:
    b, g, _ = img[670:710, 1230:1270].reshape(-1, 3).mean(0)
    return int(round(b / 5)) + 50 * int(round(g / 20))


def _run_snapshots(folder: Path, textured: bool = False, **kw):
    header, frames = iter_pose_track(SESSION)
    aud = Auditor(header, load_studio(STUDIO), load_profile(CLIENT))
    snap = AlertSnapshots.for_auditor(folder, aud, **kw)
    seen = []
    for i, fr in enumerate(frames):
        st = aud.push(fr)
        snap.push(_stamped(i, textured), fr, st)
        seen.append(fr)
    report = aud.finish()
    return report, snap.finish(report), seen, header


@pytest.fixture(scope="module")
def raw_shots(tmp_path_factory):
    """Snapshots of the plain frames (no overlay, no blur): what was pictured, exactly."""
    return _run_snapshots(tmp_path_factory.mktemp("raw"), textured=True, blur=False,
                          overlay=False)


def test_one_snapshot_per_alert_at_its_start(raw_shots):
    report, links, frames, header = raw_shots
    folder = Path(next(iter(links.values()))).parent
    times = [fr.t for fr in frames]
    assert report.alerts, "the sample session has alerts"
    index = json.loads((folder / "index.json").read_text())
    assert index["missing"] == [] and set(links) == set(range(len(report.alerts)))
    assert load_index(folder) == links
    dt = 1.0 / header.fps
    for e in index["alerts"]:
        a = report.alerts[e["alert"]]
        assert (e["kind"], e["foot"], e["start_s"]) == (a.kind, a.foot, a.start_s)
        assert Path(links[e["alert"]]).name == e["file"]
        assert e["file"].startswith(f"alert-{e['alert'] + 1:02d}-{a.kind}")
        pic = cv2.imread(links[e["alert"]])
        # the picture is the frame it says it is
        assert times[_stamp_of(pic)] == pytest.approx(e["snapshot_t"], abs=1e-6)
        if e["matched"] == "start":
            # debounced alerts: the frame where the condition began (within two frames);
            # steps: once the zone is known, within half a second of the step's start
            lim = 0.5 + dt if a.kind.startswith("step_on_") else 2 * dt + 0.02
            assert a.start_s - dt <= e["snapshot_t"] <= a.start_s + lim, e
        else:
            assert a.start_s - 0.1 <= e["snapshot_t"] <= a.end_s + 0.1
    # candidates that no alert needed are gone
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [e["file"] for e in index["alerts"]] + ["index.json"])


def test_snapshots_carry_the_overlay_and_blurred_faces(tmp_path, raw_shots):
    _, sharp, frames, _ = raw_shots
    _, shots, _, _ = _run_snapshots(tmp_path, textured=True)     # the defaults
    assert shots.keys() == sharp.keys()
    checked = 0
    for i in shots:
        b, s = cv2.imread(shots[i]), cv2.imread(sharp[i])
        assert np.abs(b.astype(int) - s.astype(int)).max() > 100    # the overlay is drawn
        # every face of the pictured frame has lost its detail
        for p in frames[_stamp_of(s)].people:
            reg = face_region(p.kp)
            if reg is None:
                continue
            x, y = np.round(reg[0]).astype(int)
            if 12 <= x < 1280 - 12 and 60 <= y < 720 - 12:
                assert _detail(b, x, y, 6) < 0.3 * _detail(s, x, y, 6)
                checked += 1
    assert checked >= len(shots) // 2
