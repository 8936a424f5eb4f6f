"""Who is who from partial torsos: from the side or a corner the client's far shoulder and hip
are hidden behind the client's own body, and the therapist stands on the client, overlapping the
table outline. Synthetic keypoints in image pixels."""

import numpy as np

from vision.safety.audit import Auditor
from vision.io.posetrack import KP, Frame, Header, Person
from vision.safety.roles import RoleAssigner, TableAxis, partial_lying_score

FPS = 8.0
# A side view of the table: long axis horizontal in the image, its width foreshortened.
SIDE_TABLE = np.array([[900.0, 540.0], [950.0, 680.0], [330.0, 680.0], [380.0, 540.0]])
# A high side view: the table looks deep, so a therapist standing on the client has the torso
# inside its outline.
HIGH_TABLE = np.array([[950.0, 250.0], [1000.0, 680.0], [280.0, 680.0], [330.0, 250.0]])


def body(points: dict[str, tuple[float, float]], hidden: set[str] = frozenset(),
         vis: float = 1.0) -> np.ndarray:
    """(33, 3) keypoints: the named ones where given (visibility ``vis``, 0.1 when ``hidden``),
    the others (face, hands) next to the nose, seen."""
    kp = np.zeros((33, 3))
    kp[:, :2] = points["nose"]
    kp[:, 2] = vis
    for name, xy in points.items():
        kp[KP[name], :2] = xy
        kp[KP[name], 2] = 0.1 if name in hidden else vis
    return kp


def lying_side(x0: float = 0.0) -> np.ndarray:
    """A client face down along the table, head to the right, seen from its right side: the
    right (near) shoulder and hip seen, the left (far) ones hidden behind the body."""
    near, far = 610.0, 575.0
    pts = {"nose": (930 + x0, 600.0)}
    for side, y in (("right", near), ("left", far)):
        pts |= {f"{side}_shoulder": (850 + x0, y), f"{side}_hip": (600 + x0, y),
                f"{side}_elbow": (860 + x0, y + 15), f"{side}_wrist": (760 + x0, y + 20),
                f"{side}_knee": (460 + x0, y), f"{side}_ankle": (340 + x0, y),
                f"{side}_heel": (330 + x0, y - 10), f"{side}_foot_index": (320 + x0, y + 20)}
    hidden = {k for k in pts if k.startswith("left_")}
    return body(pts, hidden)


def standing_side(x: float, feet_y: float = 590.0, size: float = 1.0) -> np.ndarray:
    """A therapist standing upright (seen from the side) with the feet at ``feet_y``; the far
    (left) side hidden behind the body."""
    pts = {"nose": (x, feet_y - 420 * size)}
    for side, dx in (("right", 0.0), ("left", 6.0)):
        pts |= {f"{side}_shoulder": (x + dx, feet_y - 360 * size),
                f"{side}_elbow": (x + dx + 20, feet_y - 420 * size),
                f"{side}_wrist": (x + dx + 25, feet_y - 500 * size),
                f"{side}_hip": (x + dx, feet_y - 210 * size),
                f"{side}_knee": (x + dx + 5, feet_y - 100 * size),
                f"{side}_ankle": (x + dx, feet_y - 15 * size),
                f"{side}_heel": (x + dx - 12, feet_y), f"{side}_foot_index": (x + dx + 25, feet_y)}
    return body(pts, {k for k in pts if k.startswith("left_")})


def run(frames_people, table=None):
    ra = RoleAssigner(table=table)
    return [ra.assign(i / FPS, people) for i, people in enumerate(frames_people)]


def test_partial_score_reads_lying_along_the_table_and_not_standing():
    ax = TableAxis.from_outline(SIDE_TABLE)
    np.testing.assert_allclose(np.abs(ax.axis), [1.0, 0.0], atol=1e-9)
    assert partial_lying_score(lying_side(), ax) > 0.9
    assert partial_lying_score(lying_side(), None) > 0.9
    # Upright, inside the (high view's) table outline: not lying.
    high = TableAxis.from_outline(HIGH_TABLE)
    assert partial_lying_score(standing_side(650, feet_y=600, size=0.8), high) < 0.1
    assert partial_lying_score(standing_side(650, feet_y=600, size=0.8), None) < 0.1
    # No confident shoulder or hip: nothing measured.
    kp = lying_side()
    kp[[KP["right_shoulder"], KP["left_shoulder"]], 2] = 0.2
    assert partial_lying_score(kp, ax) is None


def test_side_view_with_the_far_shoulder_and_hip_hidden_finds_the_client():
    rng = np.random.default_rng(0)
    for table in (SIDE_TABLE, None):
        frames = []
        for i in range(80):
            client = lying_side()
            client[:, :2] += rng.normal(0, 1.0, (33, 2))
            # The therapist is in view from the first frame (no "alone" help), walking along
            # the client's back.
            th = standing_side(520 + 3 * i + 20 * np.sin(i / 3))
            people = [Person(id=1, kp=th), Person(id=2, kp=client)]
            frames.append([people[k] for k in rng.permutation(2)])
        roles = run(frames, table)
        for r in roles:
            assert r.client is not None and r.client.id == 2
            assert r.therapist is not None and r.therapist.id == 1


def test_a_therapist_standing_on_the_client_inside_the_table_outline_is_not_the_client():
    rng = np.random.default_rng(1)
    frames, client_seen = [], []
    for i in range(120):
        # High camera: the therapist's torso lies inside the table outline.
        th = standing_side(600 + 40 * np.sin(i / 5), feet_y=600, size=0.8)
        th[:, :2] += rng.normal(0, 1.0, (33, 2))
        people = [Person(id=7, kp=th)]
        # The client is under the therapist: from frame 40 on it is seen (near side only).
        if i >= 40:
            people.append(Person(id=3, kp=lying_side()))
        client_seen.append(i >= 40)
        frames.append(people)
    roles = run(frames, HIGH_TABLE)
    for seen, r in zip(client_seen, roles):
        assert r.client is None or r.client.id == 3
        if seen:
            assert r.client is not None and r.client.id == 3
            assert r.therapist is not None and r.therapist.id == 7
        else:
            # The therapist alone in view, standing on the table, is never the client.
            assert r.client is None


def test_nobody_confident_means_no_client_and_nothing_safe():
    rng = np.random.default_rng(2)
    frames = []
    for i in range(60):
        # Detected people, but no keypoint confident (0.4: above the detection floor, below
        # what counts as seen).
        c = lying_side()
        c[:, 2] = 0.4
        th = standing_side(600 + 2 * i)
        th[:, 2] = 0.4
        th[:, :2] += rng.normal(0, 1.0, (33, 2))
        frames.append([Person(id=1, kp=c), Person(id=2, kp=th)])
    roles = run(frames, SIDE_TABLE)
    assert all(r.client is None for r in roles)
    from vision.io.studio import Studio
    aud = Auditor(Header(fps=FPS, width=1280, height=720),
                  Studio(bars=np.array([[[300.0, 40.0], [1000.0, 40.0]]]), table=SIDE_TABLE))
    for i, people in enumerate(frames):
        st = aud.push(Frame(t=i / FPS, people=people))
        assert st.back == "unknown"
        assert all(f.zone != "safe" for f in st.feet.values())
    assert all(s.zone != "safe" for s in aud.finish().steps)


def test_an_occluded_clients_partial_torso_does_not_unseat_it():
    """Seen whole while alone, then half-hidden under the therapist: the four-corner reading
    stays the client's, though its partial torso (without a table, along the image's vertical)
    reads 'not lying'."""
    rng = np.random.default_rng(4)
    pts = {"nose": (600.0, 150.0), "left_shoulder": (660.0, 200.0),
           "right_shoulder": (540.0, 200.0), "left_hip": (650.0, 400.0),
           "right_hip": (550.0, 400.0), "left_knee": (640.0, 520.0),
           "right_knee": (560.0, 520.0), "left_ankle": (640.0, 640.0),
           "right_ankle": (560.0, 640.0)}
    whole = body(pts)
    half = whole.copy()
    half[[KP["right_shoulder"], KP["right_hip"]], 2] = 0.2
    assert partial_lying_score(half, None) == 0.0
    frames = []
    for i in range(150):
        people = [Person(id=1, kp=(whole if i < 20 else half) +
                         np.c_[rng.normal(0, 1.0, (33, 2)), np.zeros(33)])]
        if i >= 20:
            th = standing_side(500 + 60 * np.sin(i / 4), feet_y=560, size=0.6)
            people.append(Person(id=2, kp=th))
        frames.append(people)
    for r in run(frames):
        assert r.client is not None and r.client.id == 1
