"""The pose engine against MediaPipe's own pipeline (golden keypoints) on real footage, on
rotated people, on two-person clips, and on empty frames."""

from __future__ import annotations

import collections

import cv2
import numpy as np
import pytest

from samples.registry import pose2sim_video
from tests.goldens import load_golden, source_video, torso_length
from vision.io.frames import FrameSource
from vision.pose.detector import ANCHORS, weighted_nms
from vision.pose.engine import EngineConfig, PoseEngine
from vision.pose.plan import RegionPlan, RegionPlanner, RegionRequest, Source
from vision.pose.readings import PostProcessor
from vision.pose.regions import Region, region_from_points
from vision.pose.tracker import Tracker

SINGLE = ["single_cam01", "single_cam02", "single_cam03", "single_cam04"]
ROT = {"rot90cw": cv2.ROTATE_90_CLOCKWISE, "rot180": cv2.ROTATE_180,
       "rot90ccw": cv2.ROTATE_90_COUNTERCLOCKWISE}
# left/right pairs of BlazePose, to score a frame whose sides MediaPipe itself labels the
# other way round (it does on a few frames of single_cam02, see tests/golden/README.md)
MIRROR = np.array([0, 4, 5, 6, 1, 2, 3, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15, 18, 17, 20, 19,
                   22, 21, 24, 23, 26, 25, 28, 27, 30, 29, 32, 31])


@pytest.fixture(scope="module")
def engine_factory():
    return lambda **kw: PoseEngine(EngineConfig(**kw))


def tracker_factory(**kw) -> Tracker:
    """The engine's tracker alone, driven with synthetic readings (no models loaded)."""
    return Tracker(EngineConfig(**kw))


def post_factory(**kw) -> PostProcessor:
    return PostProcessor(EngineConfig(**kw))


def requests_for(*tracks):
    """The region requests that re-read ``tracks``, in batch order."""
    return RegionPlan(list(tracks)).requests


def read_frames(path) -> list[np.ndarray]:
    with FrameSource(path) as src:
        return [f for _, f in src]


def frame_error(kp: np.ndarray, gold: np.ndarray) -> tuple[float, float]:
    """Mean keypoint distance over the 33 points, in torso lengths: as labelled, and with the
    better of the two left/right labellings."""
    torso = torso_length(gold)
    d = np.hypot(*(kp[:, :2] - gold[:, :2]).T).mean() / torso
    dm = np.hypot(*(kp[MIRROR, :2] - gold[:, :2]).T).mean() / torso
    return float(d), float(min(d, dm))


def closest(people, gold):
    hips = gold[[23, 24], :2].mean(0)
    return min(people, key=lambda p: np.hypot(*(p.kp[[23, 24], :2].mean(0) - hips)), default=None)


# --- geometry of regions and detector decoding ------------------------------------------------

def test_region_crop_and_uncrop_are_inverse():
    reg = Region(cx=400.0, cy=300.0, size=512.0, angle=0.7)
    fwd = np.vstack([reg.crop_matrix(256), [0, 0, 1]])
    back = np.vstack([reg.uncrop_matrix(256), [0, 0, 1]])
    assert np.allclose(fwd @ back, np.eye(3), atol=1e-9)
    # the crop's centre is the region's centre
    assert np.allclose(reg.uncrop_matrix(256) @ [128, 128, 1], [400, 300])


def test_region_from_points_upright_and_lying():
    up = region_from_points(np.array([100.0, 500.0]), np.array([100.0, 300.0]))
    assert up.angle == pytest.approx(0.0) and up.size == pytest.approx(2 * 200 * 1.25)
    # a body lying with its head to the right: the region turns a quarter
    lying = region_from_points(np.array([300.0, 200.0]), np.array([500.0, 200.0]))
    assert abs(lying.angle) == pytest.approx(np.pi / 2)


def test_anchors_and_weighted_nms():
    assert ANCHORS.shape == (2254, 2) and ANCHORS.min() > 0 and ANCHORS.max() < 1
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], float)
    kps = np.zeros((3, 4, 2))
    kps[1] += 1.0
    out = weighted_nms(np.array([0.9, 0.6, 0.8]), boxes, kps)
    assert len(out) == 2
    score, box, kp = out[0]
    assert score == 0.9 and box[0] == pytest.approx(0.6 / 1.5)  # weighted by score
    assert kp[0, 0] == pytest.approx(0.6 / 1.5)


# --- frames with nobody ---------------------------------------------------------------------

def test_frame_with_nobody_is_a_normal_empty_result(engine_factory):
    eng = engine_factory()
    rng = np.random.default_rng(0)
    for t, img in enumerate([np.zeros((720, 1280, 3), np.uint8),
                             rng.integers(0, 255, (720, 1280, 3), dtype=np.uint8)]):
        res = eng.process(img, float(t))
        assert res.frame.people == [] and res.frame.t == float(t)


# --- against MediaPipe's own pipeline -------------------------------------------------------

def reliable_frames(gold) -> set[int]:
    """Frames where MediaPipe agrees with itself: its image-mode and video-mode answers lie
    within 6 % of a torso of each other. Elsewhere (a few frames of single_cam02) its two
    modes differ by up to a quarter of a torso, and no reference is there to compare with."""
    out = set()
    for k, g in gold["image"].items():
        v = gold["video"].get(k)
        if g is not None and v is not None and frame_error(g, v)[1] <= 0.06:
            out.add(k)
    return out


@pytest.mark.parametrize("clip", SINGLE)
def test_single_person_frames_match_mediapipe(clip, engine_factory):
    """Image mode (detector on every frame) and tracking mode against MediaPipe's image and
    video modes: mean keypoint distance <= 3 % of the torso length."""
    gold = load_golden(clip)
    frames = read_frames(source_video(gold["header"]))
    ok = reliable_frames(gold)
    eng = engine_factory()
    strict, tolerant = [], []
    for k in sorted(ok):
        eng.reset()
        p = closest(eng.process(frames[k], 0.0).frame.people, gold["image"][k])
        assert p is not None, f"{clip} frame {k}: nobody found where MediaPipe finds a person"
        s, m = frame_error(p.kp, gold["image"][k])
        strict.append(s)
        tolerant.append(m)
    eng.reset()
    v_all, v_ok = [], []
    fps = gold["header"]["fps"]
    for k, f in enumerate(frames):
        people = eng.process(f, k / fps).frame.people
        g = gold["video"].get(k)
        if g is None:
            continue
        p = closest(people, g)
        assert p is not None, f"{clip} video frame {k}: track lost"
        s, m = frame_error(p.kp, g)
        v_all.append(s)
        if k in ok:
            v_ok.append(m)
    print(f"\n{clip}: {len(ok)}/{len(gold['image'])} reference frames where MediaPipe agrees "
          f"with itself; image mode error/torso median {np.median(strict):.4f} mean "
          f"{np.mean(tolerant):.4f}; video mode median {np.median(v_all):.4f} (all "
          f"{len(v_all)} frames), mean {np.mean(v_ok):.4f}")
    assert len(ok) >= 0.7 * len(gold["image"])
    assert np.median(strict) <= 0.03 and np.mean(tolerant) <= 0.03
    # tracking mode: MediaPipe smooths the auxiliary points its next region comes from, we
    # do not, so on the hard frames of single_cam02 the two trackers take other crops
    assert np.median(v_all) <= 0.03 and np.mean(v_ok) <= 0.05


@pytest.mark.parametrize("mode", list(ROT))
def test_rotated_people_are_found(mode, engine_factory):
    """A person turned 90 or 180 degrees in the image (as a person lying down looks from
    above) is found, with keypoints as close to MediaPipe's as upright ones."""
    eng = engine_factory()
    found = total = 0
    errs = []
    for clip in SINGLE:
        gold = load_golden(clip)
        frames = read_frames(source_video(gold["header"]))
        for k, g in gold[mode].items():
            if g is None:
                continue
            total += 1
            eng.reset()
            p = closest(eng.process(cv2.rotate(frames[k], ROT[mode]), 0.0).frame.people, g)
            if p is not None:
                found += 1
                errs.append(frame_error(p.kp, g)[1])
    print(f"\n{mode}: found {found}/{total}, median error/torso {np.median(errs):.4f}")
    assert found / total >= 0.95
    assert np.median(errs) <= 0.03


# --- two people -----------------------------------------------------------------------------

@pytest.mark.parametrize("cam", [1, 2, 3, 4])
def test_two_people_tracked_with_stable_ids(cam, engine_factory):
    frames = read_frames(pose2sim_video("MultiPerson", cam))
    eng = engine_factory()
    calls = []
    infer = eng.landmarks.infer
    eng.landmarks.infer = lambda x: calls.append(len(x)) or infer(x)
    ids_per_frame = []
    for k, f in enumerate(frames):
        n_before = len(calls)
        ids_per_frame.append({p.id for p in eng.process(f, k / 60).frame.people})
        assert len(calls) - n_before <= 1, "landmarks must run in one batched call per frame"
    counts = collections.Counter(i for ids in ids_per_frame for i in ids)
    main = [i for i, _ in counts.most_common(2)]
    both = np.mean([set(main) <= ids for ids in ids_per_frame[15:]])
    print(f"\ncam{cam}: ids {dict(counts)}; both main ids present in {both:.0%} of frames "
          f"15-99; batch sizes {collections.Counter(calls)}")
    assert len(main) == 2
    # every frame from 15 on shows the two main people under the same two ids, except
    # frames where one of them is lost (cam03: the man bends double in front of the woman,
    # where MediaPipe's own tracker loses him too); no id is handed to someone else
    assert both >= (0.5 if cam == 3 else 0.9)
    assert len(counts) <= 3
    assert max(calls) >= 2  # both people inferred together


# --- the still client: held, not re-read from a covered view ----------------------------------

def test_still_body_is_held_while_covered_and_follows_a_real_move():
    from vision.pose.engine import Track
    from vision.pose.landmarks import LandmarkResult

    tracker = tracker_factory(still_seconds=0.5)

    def body(cx, cy, torso=200.0):
        xy = np.zeros((39, 2))
        xy[:, 0], xy[:, 1] = cx, cy
        xy[[11, 12], 1] = cy - torso / 2
        xy[[23, 24], 1] = cy + torso / 2
        xy[[11, 23], 0] -= 40
        xy[[12, 24], 0] += 40
        xy[33] = [cx, cy + torso / 2]
        xy[34] = [cx, cy - torso]
        return xy

    def result(xy, score=0.99):
        n = len(xy)
        return LandmarkResult(xy=np.stack(xy), z=np.zeros((n, 39)),
                              visibility=np.full((n, 39), 0.9),
                              presence=np.full((n, 39), 0.9), score=np.full(n, score))

    client = Track(id=1, xy=body(400, 400), visibility=np.full(39, 0.9), score=0.99,
                   region=region_from_points(body(400, 400)[33], body(400, 400)[34]), seen_t=0.0)
    tracker.tracks = [client]
    # lying still for a second: becomes still
    for k in range(1, 31):
        tracker.update(result([body(400 + 0.1 * (k % 2), 400)]), requests_for(client), k / 30, k)
    assert client.still
    held = client.xy.copy()
    # a therapist now stands over the client's torso; the client's view is a wrong guess
    therapist = Track(id=2, xy=body(400, 380, 180), visibility=np.full(39, 0.9), score=0.99,
                      region=region_from_points(body(400, 380)[33], body(400, 380)[34]),
                      seen_t=1.0)
    tracker.tracks = [client, therapist]
    tracker.update(result([body(470, 430), body(400, 380, 180)]), requests_for(client, therapist),
                   1.1, 33)
    assert np.allclose(client.xy, held) and client.held
    frame = tracker.current_frame(61.1)  # a minute later the held view's confidence is lower
    c = next(p for p in frame.people if p.id == 1)
    assert np.all(c.kp[:, 2] < 0.9) and np.all(c.kp[:, 2] > 0.5)
    # the therapist steps off; a clear view of the client elsewhere: it moved, follow it
    tracker.tracks = [client]
    tracker.update(result([body(600, 400)]), requests_for(client), 3.0, 90)
    assert not client.held and not client.still
    assert np.allclose(client.xy[[23, 24]].mean(0), [600, 500])


# --- a client whose face the detector cannot see -------------------------------------------

@pytest.mark.parametrize("head_known", [False, True])
def test_table_outline_gives_a_region_for_a_body_the_detector_cannot_see(head_known,
                                                                          engine_factory):
    """A face-down client under an overhead camera shows no face, and the detector keys on
    faces. With the studio's table outline the engine still finds the body lying on it, and
    the keypoints settle within a few frames of a still body; naming the head end of the
    table (the face cradle) removes the head-or-feet guess."""
    gold = load_golden("single_cam01")
    frames = read_frames(source_video(gold["header"]))
    body = np.arange(11, 33)
    first, settled = [], []
    for k in (0, 20, 40, 60, 80):
        g = gold["rot90cw"][k]  # a standing person turned 90 degrees looks like one lying
        img = cv2.rotate(frames[k], cv2.ROTATE_90_CLOCKWISE)
        torso = torso_length(g)
        lo, hi = g[:, :2].min(0) - 0.15 * torso, g[:, :2].max(0) + 0.15 * torso
        table = np.array([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]])
        blind = engine_factory()
        blind.detector.detect = lambda image, tiles=False: []  # shows no face
        assert blind.process(img, 0.0).frame.people == []
        head = g[0, :2] if head_known else None
        # this "client" is a standing person turned on its side, seen from the front: not
        # the face-down body the engine expects on a massage table by default
        eng = engine_factory(table=table, table_head=head, client_face_down=False)
        eng.detector.detect = lambda image, tiles=False: []
        for j in range(3):  # a client lying still: the same view, frame after frame
            people = eng.process(img, j / 30).frame.people
            assert len(people) == 1, f"frame {k}: {len(people)} people on the table"
            err = np.hypot(*(people[0].kp[body, :2] - g[body, :2]).T).mean() / torso
            if j == 0:
                first.append(err)
        settled.append(err)
    print(f"\nbody keypoint error with the table region (head end known: {head_known}), in "
          f"torso lengths: first frame {np.round(first, 3).tolist()}, third frame "
          f"{np.round(settled, 3).tolist()}")
    assert max(settled) <= 0.05
    assert np.median(first) <= 0.06


def test_a_still_body_is_read_less_often_but_reported_every_frame(engine_factory):
    gold = load_golden("single_cam01")
    frame = cv2.rotate(read_frames(source_video(gold["header"]))[0], cv2.ROTATE_90_CLOCKWISE)
    eng = engine_factory()
    inferred, reported = [], []
    for k in range(90):  # three seconds of a body lying still, at 30 fps
        res = eng.process(frame, k / 30)
        inferred.append(res.times.people_inferred)
        reported.append(len(res.frame.people))
    assert all(n == 1 for n in reported)
    assert all(n >= 1 for n in inferred[:30])  # moving or not yet known to be still: every frame
    late = inferred[45:]
    # still: re-read every still_refresh-th frame (plus a detector pass for newcomers)
    assert sum(1 for n in late if n) <= len(late) / eng.cfg.still_refresh + len(late) / 10 + 1


# --- the engine's rules for two bodies, on synthetic readings ----------------------------------

def _body(cx, cy, torso=200.0, front=True):
    """A synthetic upright body's 39 keypoints: hips at cy + torso/2, shoulders above; seen
    from the front (its left on the image's right) or from behind."""
    xy = np.zeros((39, 2))
    xy[:, 0], xy[:, 1] = cx, cy
    xy[[11, 12], 1] = cy - torso / 2
    xy[[23, 24], 1] = cy + torso / 2
    xy[[25, 26], 1] = cy + torso
    xy[[27, 28, 29, 30, 31, 32], 1] = cy + 1.5 * torso
    side = 1 if front else -1
    left = [11, 13, 15, 23, 25, 27, 29, 31]
    right = [12, 14, 16, 24, 26, 28, 30, 32]
    xy[left, 0] += side * 40
    xy[right, 0] -= side * 40
    xy[33] = [cx, cy + torso / 2]
    xy[34] = [cx, cy - torso]
    return xy


def _result(xys, score=0.99):
    from vision.pose.landmarks import LandmarkResult
    n = len(xys)
    return LandmarkResult(xy=np.stack(xys).astype(float), z=np.zeros((n, 39)),
                          visibility=np.full((n, 39), 0.9), presence=np.full((n, 39), 0.9),
                          score=np.full(n, score))


def test_front_and_back_are_told_by_the_labels_and_mirrored():
    from vision.pose.engine import mirror, shows_front
    front, back = _body(400, 400), _body(400, 400, front=False)
    assert shows_front(front) and not shows_front(back)
    # turned upside down (a body lying head-down in the image) the rule still holds
    turn = lambda xy: 800 - xy  # noqa: E731  (a half turn about (400, 400))
    assert shows_front(turn(front)) and not shows_front(turn(back))
    # a torso seen edge-on (shoulders and hips on the body's axis) is never called
    edge = front.copy()
    edge[:, 0] = 400
    assert not shows_front(edge)
    narrow = front.copy()  # shoulders and hips 8 px apart on a 200 px torso: noise decides
    narrow[[11, 23], 0], narrow[[12, 24], 0] = 404, 396
    assert not shows_front(narrow) and shows_front(_body(400, 400, torso=100))
    res = _result([front])
    res.visibility[0, 15] = 0.1
    mirror(res, 0)
    assert np.allclose(res.xy[0], back) and res.visibility[0, 16] == 0.1
    assert not shows_front(res.xy[0])


def _detection_and(second: Source) -> list[RegionRequest]:
    """A detection's request (batch row 0) and a second region of it (row 1)."""
    region = Region(400.0, 400.0, 500.0, 0.0)
    return [RegionRequest(region, Source.DETECTION), RegionRequest(region, second, first=0)]


def _standing(front: bool, toes_down: bool) -> np.ndarray:
    """_body with feet 40 px long, toes pointing down the image (toward the camera, for a
    camera above) or up."""
    xy = _body(400, 400, front=front)
    xy[[31, 32], 1] += 40 if toes_down else -40
    return xy


def test_a_standing_bodys_left_and_right_follow_its_feet():
    from vision.pose.engine import facing, labels_contradict_feet, mirror
    # a camera above sees the floor unmirrored: facing the camera (toes down the image), the
    # body's left is on the image's right; facing away, on the image's left
    for front, toes_down, wrong in ((True, True, False), (False, True, True),
                                    (False, False, False), (True, False, True)):
        xy = _standing(front, toes_down)
        assert labels_contradict_feet(xy, facing(xy)) is wrong
    # the rule reads the feet's direction, not their labels: mirrored, the verdict turns
    res = _result([_standing(False, True)])
    mirror(res, 0)
    assert not labels_contradict_feet(res.xy[0], facing(res.xy[0]))
    # feet seen end-on give no direction; a torso seen edge-on is never called
    short = _body(400, 400)
    short[[31, 32], 1] += 5
    assert facing(short) is None
    edge = _standing(False, True)
    edge[[11, 12, 23, 24], 0] = 400
    assert not labels_contradict_feet(edge, facing(edge))


def test_the_rendered_therapists_labels_agree_with_its_feet():
    """On the bundled rendered demo's truth (therapist facing the head-end camera, then
    turned across the body), the rule never calls the true labels wrong, and calls the
    mirrored ones wrong wherever it speaks."""
    from vision.pose.engine import facing, labels_contradict_feet
    from vision.pose.readings import MIRROR
    from vision.io.posetrack import iter_pose_track
    _, frames = iter_pose_track("samples/demo/truth.jsonl")
    spoke = 0
    for fr in frames:
        kp = {p.id: p.kp for p in fr.people}[2]
        xy = np.vstack([kp[:, :2], np.zeros((6, 2))])
        toward = facing(xy)
        if toward is None:
            continue
        assert not labels_contradict_feet(xy, toward)
        spoke += labels_contradict_feet(xy[MIRROR], toward)
    assert spoke >= 150  # of 198 frames


def test_a_reading_whose_labels_contradict_the_feet_is_mirrored_before_the_merge():
    table = np.array([[200, 100], [600, 100], [600, 900], [200, 900]], float)
    post = post_factory(table=table)
    good = _standing(True, True) + [500, 0]         # off the table
    full = _standing(False, True) + [500, 0]        # the upper body read the other way round
    res = _result([full, good])
    out, _ = post.merge_second(res, _detection_and(Source.LEGS))
    assert np.allclose(out.xy[0], good)
    # a body lying along the table is left to the face-down rule (its toes point to the foot
    # end whichever way it lies)
    lying = _standing(False, True)
    out, _ = post.merge_second(_result([lying, lying.copy()]), _detection_and(Source.LEGS))
    assert np.allclose(out.xy[0], lying)



def test_a_legs_reading_is_turned_by_its_own_legs_not_by_the_shoulders_outside_its_crop():
    """The legs crop leaves the shoulders outside: its torso line is a guess. Its labels
    follow the line from its right leg to its left one where that line is clear, else its
    hips against the full reading's; the torso's rule speaks only when neither does."""
    post = post_factory()
    good = _standing(True, True)
    # shoulders guessed the other way round and wider than the hips: the torso line says
    # "mirror", the legs say the labels are right
    guessed = good.copy()
    guessed[[11, 12]] = good[[12, 11]]
    guessed[[11, 12], 0] = 400 + np.array([-120, 120])
    from vision.pose.readings import (LEGS, facing, labels_contradict_feet,
                                      legs_contradict_feet, mirror)
    assert labels_contradict_feet(guessed, facing(guessed))
    assert legs_contradict_feet(guessed, facing(guessed)) is False
    out, _ = post.merge_second(_result([good, guessed]), _detection_and(Source.LEGS))
    assert np.allclose(out.xy[0, LEGS], good[LEGS])
    # the same crop with its legs labelled the wrong way round is turned, whatever its torso
    res = _result([good, guessed])
    mirror(res, 1)
    out, _ = post.merge_second(res, _detection_and(Source.LEGS))
    assert np.allclose(out.xy[0, LEGS], good[LEGS])


def test_a_legs_reading_with_feet_seen_end_on_takes_its_labels_from_the_full_readings_hips():
    """From a head-end wall the feet are seen end-on (no direction): the legs reading is
    turned where its hips are the full reading's the other way round, and left where its
    hips are edge-on (no pairing clearly nearer)."""
    from vision.pose.readings import LEGS, facing, hips_crossed, mirror
    post = post_factory()
    full = _body(400, 400, front=True)
    full[[31, 32], 1] += 2  # toes 2 px beyond the heels: no direction
    assert facing(full) is None
    crossed = full.copy()
    mirror_res = _result([full, crossed])
    mirror(mirror_res, 1)
    out, _ = post.merge_second(mirror_res, _detection_and(Source.LEGS))
    assert np.allclose(out.xy[0, LEGS], full[LEGS])
    edge = full.copy()
    edge[[23, 24], 0] = 400
    assert hips_crossed(edge, full) is None
    assert hips_crossed(full[MIRROR], full) is True and hips_crossed(full, full) is False

def test_a_frames_regions_are_planned_in_batch_order():
    """Tracks first (a still one only every ``still_refresh`` frames), then each detection
    with its region turned, up to ``max_people``, the table's two head directions while no
    still or lying body is on it, and each moving track's legs; a second region names the row its
    reading merges into. Without ``refine``, no second regions."""
    from vision.pose.detector import Detection
    from vision.pose.engine import Track
    table = np.array([[200, 100], [600, 100], [600, 900], [200, 900]], float)

    def track(cx, **kw):
        b = _body(cx, 400)
        return Track(id=cx, xy=b, visibility=np.full(39, 0.9), score=0.99,
                     region=region_from_points(b[33], b[34]), seen_t=0.0, **kw)

    def detection(cx):
        return Detection(0.9, np.zeros(4), np.array([[cx, 500], [cx, 300]] * 2, float))

    moving, still = track(300), track(700, still=True, refreshed_at=5)
    planner = RegionPlanner(EngineConfig(table=table, max_people=3))
    plan = planner.start([moving, still], 8)  # the still body was read 3 frames ago
    planner.add_newcomers(plan, [detection(100), detection(900)], [moving, still])
    planner.add_legs(plan)
    assert [(req.source, req.first) for req in plan.requests] == [
        (Source.TRACK, None), (Source.DETECTION, None), (Source.FLIP, 1), (Source.LEGS, 0)]
    assert plan.requests[0].track is moving
    turned = plan.regions[2]
    assert turned.angle == pytest.approx(plan.regions[1].angle + np.pi)
    assert (turned.cx, turned.cy, turned.size) == (plan.regions[1].cx, plan.regions[1].cy,
                                                   plan.regions[1].size)
    # the still body is due again after still_refresh frames; nobody still: the table's regions
    assert [req.track for req in planner.start([moving, still], 11).requests] == [moving, still]
    plan = planner.start([moving], 20)
    planner.add_newcomers(plan, [], [moving])
    assert [req.source for req in plan.requests] == [Source.TRACK, Source.TABLE, Source.TABLE]
    assert [req.newcomer for req in plan.requests] == [False, True, True]
    # a body lying on the table but not yet still (the client, covered as the therapist
    # climbs on) is the client the table's regions look for: no second one is seeded
    lying = track(400, lying=True)
    plan = planner.start([moving, lying], 20)
    planner.add_newcomers(plan, [], [moving, lying])
    assert [req.source for req in plan.requests] == [Source.TRACK, Source.TRACK]
    plain = RegionPlanner(EngineConfig(table=table, refine=False))
    plan = plain.start([moving], 20)
    plain.add_newcomers(plan, [detection(100)], [moving])
    plain.add_legs(plan)
    assert not any(req.second for req in plan.requests)


def test_a_still_standing_body_that_leaves_is_dropped_at_once():
    from vision.pose.engine import Track
    tracker = tracker_factory(still_seconds=0.5)
    b = _body(400, 400)
    person = Track(id=1, xy=b, visibility=np.full(39, 0.9), score=0.99,
                   region=region_from_points(b[33], b[34]), seen_t=0.0)
    tracker.tracks = [person]
    for k in range(1, 31):
        tracker.update(_result([b]), requests_for(person), k / 30, k)
    assert person.still and not person.lying
    tracker.update(_result([b], score=0.1), requests_for(person), 36 / 30, 36)  # region: nobody
    # the detector looks again next frame
    assert tracker.tracks == [] and tracker.lost_last_frame
    assert RegionPlanner(tracker.cfg).wants_detector(tracker.tracks, tracker.lost_last_frame, 37)
    # the client lying on the table is held through a missed reading
    tracker = tracker_factory(still_seconds=0.5)
    client, _ = _client_and_therapist(tracker)
    tracker.tracks = [client]
    tracker.update(_result([client.xy], score=0.1), requests_for(client), 1.2, 36)
    assert tracker.tracks == [client] and client.held


def test_legs_region_is_centred_on_the_hips_and_sized_by_the_torso():
    from vision.pose.regions import LEGS_SCALE, legs_region
    xy = _body(400, 400, torso=100)
    reg = legs_region(xy[[23, 24]], xy[[11, 12]].mean(0))
    assert (reg.cx, reg.cy) == pytest.approx((400, 450))
    assert reg.size == pytest.approx(LEGS_SCALE * 100) and reg.angle == pytest.approx(0)
    # the feet (1 torso below the hips) lie inside the crop, the raised hands do not count
    crop = reg.crop_matrix(256)
    feet = xy[[29, 30, 31, 32]] @ crop[:, :2].T + crop[:, 2]
    assert np.all((feet > 0) & (feet < 256))
    # a body lying head-right: the region turns with it
    lying = legs_region(np.array([[300.0, 200.0]]), np.array([400.0, 200.0]))
    assert abs(lying.angle) == pytest.approx(np.pi / 2)


def _client_and_therapist(tracker):
    """A client lying still (torso 200 px) under a therapist standing on it."""
    from vision.pose.engine import Track
    c = _body(400, 400, front=False)
    client = Track(id=1, xy=c, visibility=np.full(39, 0.9), score=0.99,
                   region=region_from_points(c[33], c[34]), seen_t=0.0, lying=True)
    tracker.tracks = [client]
    for k in range(1, 31):
        tracker.update(_result([c]), requests_for(client), k / 30, k)
    assert client.still
    th = _body(400, 300, torso=180)
    therapist = Track(id=2, xy=th, visibility=np.full(39, 0.9), score=0.99,
                      region=region_from_points(th[33], th[34]), seen_t=1.0, born=31)
    tracker.tracks = [client, therapist]
    return client, therapist


def test_a_therapist_standing_still_on_the_client_is_still_read_every_frame():
    tracker = tracker_factory(still_seconds=0.5)
    client, therapist = _client_and_therapist(tracker)
    th = therapist.xy.copy()
    for k in range(32, 80):  # 1.6 s standing still on the client's back
        tracker.update(_result([th]), requests_for(therapist), k / 30, k)
    assert not therapist.still and client.still
    # the therapist lifts a foot: taken at once, never held as if the client covered it
    moved = th.copy()
    moved[[25, 27, 29, 31]] += [0, -60]
    tracker.update(_result([moved]), requests_for(therapist), 81 / 30, 81)
    assert np.allclose(therapist.xy, moved) and not therapist.held


def test_a_covered_client_is_held_not_pulled_towards_the_cover():
    tracker = tracker_factory(still_seconds=0.5)
    client, therapist = _client_and_therapist(tracker)
    held = client.xy.copy()
    # covered views read the hips 8 % of a torso off, frame after frame (the therapist's legs)
    biased = held.copy()
    biased[[23, 24]] += [0, -32]
    for k in range(32, 60, 6):
        tracker.update(_result([biased]), requests_for(client), k / 30, k)
    assert np.allclose(client.xy, held) and not client.held  # confirmed where it was


def test_a_lying_client_moves_only_when_two_views_agree():
    tracker = tracker_factory(still_seconds=0.5)
    client, _ = _client_and_therapist(tracker)
    tracker.tracks = [client]  # nobody tracked on it (from straight above, say)
    held = client.xy.copy()
    elsewhere = _body(480, 400, front=False)
    tracker.update(_result([elsewhere]), requests_for(client), 2.0, 60)
    assert np.allclose(client.xy, held) and client.held  # one view: a guess or an untracked cover
    tracker.update(_result([elsewhere]), requests_for(client), 2.2, 66)
    assert np.allclose(client.xy, elsewhere) and not client.held and not client.still


def test_a_face_down_client_read_from_the_front_is_mirrored():
    from vision.pose.engine import Track
    table = np.array([[200, 100], [600, 100], [600, 900], [200, 900]], float)

    def read(kw, res, t, k):
        """A frame's reading of the client through the post-processor, then the tracker."""
        res, requests = post_factory(**kw).apply(res, requests_for(client))
        tracker.update(res, requests, t, k)

    back = _body(400, 400, front=False)
    client = Track(id=1, xy=back, visibility=np.full(39, 0.9), score=0.99,
                   region=region_from_points(back[33], back[34]), seen_t=0.0, lying=True)
    tracker = tracker_factory(table=table)
    tracker.tracks = [client]
    read({"table": table}, _result([_body(400, 400)]), 0.1, 1)
    assert np.allclose(client.xy, back)
    # off by default without a table, and with client_face_down=False
    for kw in ({}, {"table": table, "client_face_down": False}):
        tracker = tracker_factory(**kw)
        client.xy, client.lying = back.copy(), True
        client.pending, client.held = None, False
        tracker.tracks = [client]
        for k in (1, 2):  # a move is taken once two views agree
            read(kw, _result([_body(400, 400)]), k / 10, k)
        assert np.allclose(client.xy, _body(400, 400))


# --- on rendered Ashiatsu scenes (samples/render; the render extra) -----------------------------

RENDERED = {"tilted40": 1, "corner": 0}  # camera: seed (two bodies, lights and clothes)
RENDER_FRAMES = 4


@pytest.fixture(scope="module")
def rendered():
    """A few rendered frames per camera, with their truth (the render extra and OSMesa, which
    scripts/setup installs)."""
    from samples.render import scene as S
    from samples.render.sequence import render_sequence
    S._import_pyrender()
    out = {}
    for cam, seed in RENDERED.items():
        gen = render_sequence(cam, RENDER_FRAMES, seed=seed)
        studio = next(gen)
        out[cam] = (studio, list(gen))
    return out


def _errors(engine, frames):
    from samples.render.measure import Tally
    tally = Tally()
    for frame in frames:
        tally.add(frame.people, list(engine.process(frame.bgr, frame.t).frame.people))
    return tally.summary()


@pytest.mark.slow
@pytest.mark.parametrize("cam", list(RENDERED))
def test_rendered_legs_region_brings_the_therapists_feet_closer(cam, rendered, engine_factory):
    studio, frames = rendered[cam]
    kw = dict(table=studio.table, table_head=studio.table_head)
    plain = _errors(engine_factory(refine=False, **kw), frames)
    legs = _errors(engine_factory(**kw), frames)
    mirrored = _errors(engine_factory(client_face_down=False, **kw), frames)
    print(f"\n{cam}: found {plain['therapist_found']:.2f} -> {legs['therapist_found']:.2f}, "
          f"heels {plain['therapist_heels_px']:.0f} -> {legs['therapist_heels_px']:.0f} px, "
          f"toes {plain['therapist_toes_px']:.0f} -> {legs['therapist_toes_px']:.0f} px; client "
          f"shoulders {mirrored['client_shoulders_px']:.0f} (not face-down) -> "
          f"{legs['client_shoulders_px']:.0f}, hips {legs['client_hips_px']:.0f} px")
    # measured (4 frames): tilted40 seed 1 heels 107 -> 37, toes 100 -> 27 px; corner seed 0
    # heels 69 -> 47, toes 126 -> 94 px (over whole sessions: docs/pose-engine.md)
    assert legs["therapist_found"] >= plain["therapist_found"] >= 0.75
    feet = lambda s: s["therapist_heels_px"] + s["therapist_toes_px"]  # noqa: E731
    assert feet(legs) <= 0.8 * feet(plain)
    # the face-down rule never makes the client worse
    assert legs["client_shoulders_px"] <= mirrored["client_shoulders_px"] + 2


def test_second_regions_are_merged_into_their_reading():
    from vision.pose.readings import LEGS
    post = post_factory()
    body = _body(400, 400, torso=100)
    # a detection whose region sees no person, and the same region turned: the turned one
    turned = 800 - body
    res = _result([body, turned])
    res.score[:] = [0.1, 0.95]
    out, kept = post.merge_second(res, _detection_and(Source.FLIP))
    assert [req.source for req in kept] == [Source.DETECTION]
    assert np.allclose(out.xy[0], turned) and out.score[0] == 0.95
    # both confident: the detector's own direction stays (an upside-down reading can be sure)
    res = _result([body, turned])
    out, _ = post.merge_second(res, _detection_and(Source.FLIP))
    assert np.allclose(out.xy[0], body)
    # a legs region on the same body: knees, ankles, heels, toe tips from it, the rest kept
    legs = body.copy()
    legs[LEGS] += [6, 0]
    legs[15] += [50, 0]
    res = _result([body, legs])
    res.visibility[1, 29] = 0.2  # the tight crop unsure of a heel the full one saw
    res.visibility[0, 30] = 0.3  # and sure of one the full crop was not
    out, _ = post.merge_second(res, _detection_and(Source.LEGS))
    assert np.allclose(out.xy[0, LEGS], legs[LEGS]) and np.allclose(out.xy[0, :25], body[:25])
    assert out.visibility[0, 29] == 0.9 and out.visibility[0, 30] == 0.9
    # ... but not from a legs region that read somebody else (hips half a torso away)
    other = body + [0, 50]
    out, _ = post.merge_second(_result([body, other]), _detection_and(Source.LEGS))
    assert np.allclose(out.xy[0], body)


def test_a_reading_that_stretches_the_lying_client_is_held_and_if_it_persists_the_client_left():
    """A body lying on the table keeps its length in a fixed camera's image: a reading 25 %
    longer (the hips read toward the therapist standing over it) is not the client, however
    many views agree, unlike a real move (test_a_lying_client_moves_only_when_two_views_agree);
    after ``leave_after_s`` of such readings, uncovered, the client has left and the detector
    looks again."""
    tracker = tracker_factory(still_seconds=0.5)
    client, _ = _client_and_therapist(tracker)
    tracker.tracks = [client]  # the therapist untracked
    assert client.lying_len == pytest.approx(200)
    held = client.xy.copy()
    stretched = held.copy()
    stretched[[23, 24, 25, 26, 27, 28, 29, 30, 31, 32]] += [0, 50]
    for k, t in enumerate((2.0, 2.2, 2.4, 3.0), start=60):
        tracker.update(_result([stretched]), requests_for(client), t, k)
        assert np.allclose(client.xy, held) and client.held
    tracker.update(_result([stretched]), requests_for(client), 3.2, 70)
    assert tracker.tracks == [] and tracker.lost_last_frame


def test_a_newcomer_that_rereads_the_lying_client_is_not_a_second_person():
    """Given the therapist's detection, the landmark model may read the long, clear body
    under it: a torso parallel to the client's and within a torso of it is a second look at
    the client. A standing body at the same place (its torso the other way) is somebody."""
    tracker = tracker_factory(still_seconds=0.5)
    client, _ = _client_and_therapist(tracker)
    tracker.tracks = [client]
    region = Region(400.0, 400.0, 500.0, 0.0)
    # shifted half a torso along the client and stretched (rendered dev06: shoulders and
    # hips 0.5-0.8 torso off): not the same body by its keypoints or its box
    reread = client.xy + [0, 100]
    reread[[23, 24]] += [0, 60]
    reread[25:33] += [0, 60]
    standing = _body(400, 380, torso=180)
    standing[:, 1] = 760 - standing[:, 1]  # shoulders below the hips in the image
    for xy, found in ((reread, False), (standing, True)):
        tracker.tracks = [client]
        reqs = requests_for(client) + [RegionRequest(region, Source.DETECTION)]
        tracker.update(_result([client.xy, xy]), reqs, 2.0, 60)
        assert (len(tracker.tracks) == 2) is found
