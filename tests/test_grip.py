"""Bar grip per hand, with hysteresis, on hand-made keypoints."""

import numpy as np

from tests.helpers_safety import therapist_kp
from vision.grip import HandGrip, hand_bar_distance
from vision.posetrack import KP

BARS = np.array([[[100.0, 100.0], [900.0, 100.0]], [[100.0, 500.0], [900.0, 500.0]]])
FEET = ([480, 300], [480, 250], [520, 300], [520, 250])


def kp_with(hands, noise=0.0, rng=None):
    kp = therapist_kp(*FEET, bars=BARS, hands=hands, centre=[500, 300])
    if noise:
        kp[:, :2] += rng.normal(0, noise, (33, 2))
    return kp


def test_distance_to_the_nearest_bar():
    kp = kp_with("on")
    assert hand_bar_distance(kp, "left", BARS) < 8.0
    assert hand_bar_distance(kp_with("none"), "left", BARS) > 100.0
    hidden = kp.copy()
    hidden[[KP["left_wrist"], KP["left_index"]], 2] = 0.1
    assert hand_bar_distance(hidden, "left", BARS) is None


def test_grip_turns_on_and_off_after_persistence():
    g = HandGrip("left")
    states = [g.update(kp_with("on"), BARS) for _ in range(5)]
    assert states[0] == "unknown" and states[-1] == "on"
    states = [g.update(kp_with("none"), BARS) for _ in range(5)]
    assert states[0] == "on" and states[-1] == "off"


def test_noise_and_single_frame_glitches_do_not_flicker():
    rng = np.random.default_rng(0)
    g = HandGrip("right")
    seq = []
    for i in range(300):
        kp = kp_with("on", noise=3.5, rng=rng)
        if i % 37 == 0:   # one frame where the hand seems to be elsewhere
            kp[[KP["right_wrist"], KP["right_index"], KP["right_pinky"]], 1] += 150
        seq.append(g.update(kp, BARS))
    assert seq[5:].count("on") == len(seq) - 5


def _hand_at(dist_sw):
    kp = kp_with("on")
    sw = np.linalg.norm(kp[KP["left_shoulder"], :2] - kp[KP["right_shoulder"], :2])
    kp[[KP["left_wrist"], KP["left_index"], KP["left_pinky"], KP["left_thumb"]], 1] = \
        100 + dist_sw * sw
    return kp


def test_between_the_thresholds_the_state_holds():
    g = HandGrip("left")
    # Off, then into the band between on and off: still off.
    for _ in range(5):
        g.update(kp_with("none"), BARS)
    band = 0.5 * (g.p.on_dist + g.p.off_dist)
    for _ in range(10):
        assert g.update(_hand_at(band), BARS) == "off"
    # On (at 2 % of a shoulder width), then a little farther: still on.
    for _ in range(5):
        g.update(_hand_at(0.02), BARS)
    for _ in range(10):
        assert g.update(_hand_at(0.02 + 0.5 * g.p.let_go), BARS) == "on"


def test_letting_go_under_the_bar_is_off():
    # Seen from above a hand hanging below a bar can still look near it: moving well away from
    # its own grip distance is letting go, even inside the on/off band.
    g = HandGrip("left")
    for _ in range(10):
        g.update(_hand_at(0.02), BARS)
    states = [g.update(_hand_at(0.02 + 2 * g.p.let_go), BARS) for _ in range(5)]
    assert 0.02 + 2 * g.p.let_go < g.p.off_dist and states[-1] == "off"


def test_a_hidden_hand_becomes_unknown_not_on():
    g = HandGrip("left")
    for _ in range(5):
        g.update(kp_with("on"), BARS)
    kp = kp_with("on")
    kp[[KP["left_wrist"], KP["left_index"], KP["left_pinky"]], 2] = 0.05
    states = [g.update(kp, BARS) for _ in range(5)]
    assert states[-1] == "unknown"
