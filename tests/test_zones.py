"""The zone atlas on hand-picked points, each with the anatomy that decides it."""

import numpy as np
import pytest

from vision.safety.zones import WORST_FIRST, AtlasError, default_atlas, load_atlas, worst

A = default_atlas()
LEVELS = A.levels
LEGS = {"left": np.array([[16.7, 50.4], [19.0, 93.0], [21.0, 136.0]]),
        "right": np.array([[-16.7, 50.4], [-19.0, 93.0], [-21.0, 136.0]])}


def zone(x, y, legs=LEGS):
    return A.zone_of(np.array([[x, y]]), legs)[0]


def test_spinous_processes_on_the_midline_from_c7_to_the_sacrum():
    for y in (LEVELS["C7"] + 0.5, LEVELS["T7"], LEVELS["L4"], LEVELS["S2"]):
        assert zone(0.0, y) == "spine"
        assert zone(1.0, y) == "spine"


def test_erector_spinae_beside_the_thoracic_spine_is_a_working_area():
    assert zone(4.5, LEVELS["T7"]) == "safe"
    assert zone(-4.5, LEVELS["T3"]) == "safe"


def test_kidneys_follow_morris_parallelogram_and_the_right_one_sits_lower():
    y_l1 = (LEVELS["T12_bottom"] + LEVELS["L2"]) / 2
    assert zone(5.0, y_l1) == "kidney"
    assert zone(-5.0, y_l1) == "kidney"
    assert zone(9.0, y_l1) == "kidney"
    # Just below the lower border of L3: still the right kidney (1.25 cm lower), not the left.
    y = LEVELS["L3_bottom"] + 0.6
    assert zone(-5.0, y) == "kidney"
    assert zone(5.0, y) == "safe"
    # Medial to 2.5 cm (beside the spinous processes) is not kidney.
    assert zone(2.0, y_l1) == "safe"


def test_ribs_lateral_to_the_erector_spinae_and_the_floating_ribs():
    assert zone(12.0, LEVELS["T7"]) == "ribs"
    assert zone(-12.0, LEVELS["T3"]) == "ribs"
    assert zone(12.0, LEVELS["L2"] - 0.5) == "ribs"      # 11th-12th ribs below T12
    assert zone(12.0, LEVELS["L4"]) == "safe"            # the flank below the ribs


def test_neck_and_head_above_c7():
    assert zone(0.0, -10.0) == "neck"
    assert zone(5.0, -25.0) == "neck"


def test_sciatic_notch_between_psis_and_ischial_tuberosity():
    assert zone(7.0, 54.0) == "sciatic_notch"
    assert zone(-7.0, 54.0) == "sciatic_notch"
    assert zone(16.0, 54.0) == "safe"                    # lateral gluteal working area


def test_legs_popliteal_fossa_at_the_knee_and_working_areas_around():
    assert zone(19.0, 93.0) == "popliteal"
    assert zone(18.0, 72.0) == "safe"                    # hamstrings
    assert zone(20.0, 115.0) == "safe"                   # calf
    assert zone(0.0, 100.0) == "off_body"                # between the legs
    assert zone(19.0, 93.0, legs={"left": None, "right": None}) == "unknown"


def test_outside_the_outline_is_off_body_and_non_finite_is_unknown():
    assert zone(35.0, 30.0) == "off_body"
    assert zone(0.0, -60.0) == "off_body"
    assert A.zone_of(np.array([[np.nan, 10.0]]))[0] == "unknown"


def test_step_zone_is_the_worst_under_the_loaded_parts():
    # Foot along the body: heel pad on the erector spinae, ball on the spine → spine.
    heel = np.array([4.5, 20.0])
    toe = np.array([4.5 - 4.5 / 0.70, -5.0])      # the ball (70 % along) lands on x = 0
    assert A.foot_zone(heel, toe) == "spine"
    # Both parts on the erector spinae: safe.
    assert A.foot_zone(np.array([4.5, 22.0]), np.array([4.5, -3.0])) == "safe"
    # Ball on the floor/table beside the client, heel on the back: the loaded part on the body.
    assert A.foot_zone(np.array([18.0, 70.0]), np.array([50.0, 70.0]), LEGS) == "safe"
    # Entirely beside the body.
    assert A.foot_zone(np.array([45.0, 30.0]), np.array([45.0, 5.0])) == "off_body"
    # A foot we cannot place is unknown.
    assert A.foot_zone(np.array([np.nan, 1.0]), np.array([4.5, -3.0])) == "unknown"


def test_worst_ranks_unknown_above_safe():
    assert WORST_FIRST.index("unknown") < WORST_FIRST.index("safe")
    assert worst(np.array([WORST_FIRST.index("safe"), WORST_FIRST.index("unknown")])) == "unknown"
    assert worst(np.array([WORST_FIRST.index("ribs"), WORST_FIRST.index("spine")])) == "spine"


def test_widened_zones_for_a_client_condition():
    y_l1 = (LEVELS["T12_bottom"] + LEVELS["L2"]) / 2
    assert zone(11.0, y_l1) == "ribs"
    wide = A.widened({"kidney": 2.5})
    assert wide.zone_of(np.array([[11.0, y_l1]]))[0] == "kidney"
    assert A.zone_of(np.array([[11.0, y_l1]]))[0] == "ribs"      # the original is untouched


def test_malformed_atlas_is_an_atlas_error(tmp_path):
    bad = tmp_path / "atlas.yaml"
    bad.write_text("atlas: 1\nzones: [ {name: spine, polygon: [[0, 0]] ", encoding="utf-8")
    with pytest.raises(AtlasError):
        load_atlas(bad)
    bad.write_text("atlas: 1\nframe: {}\n", encoding="utf-8")
    with pytest.raises(AtlasError):
        load_atlas(bad)


def test_uncertain_feet_near_a_worse_zone_read_unknown_and_far_from_it_keep_their_zone():
    # Heel on the erector spinae beside T7, toes to the head: safe when placed exactly.
    heel, toe = np.array([4.5, 22.0]), np.array([4.5, -3.0])
    assert A.foot_zone(heel, toe) == "safe"
    # 3 cm of doubt reaches the spine (1.5 cm from the midline): it may be on it.
    assert A.foot_zone(heel, toe, uncertainty_cm=3.0) == "unknown"
    # Only the ball uncertain, by less than its distance to any zone: still safe.
    assert A.foot_zone(heel, toe, uncertainty_cm=[0.0, 0.5]) == "safe"
    # On the spine, doubt cannot make it better than the spine.
    assert A.foot_zone(np.array([0.0, 30.0]), np.array([0.0, 5.0]), uncertainty_cm=8.0) == "spine"
    # Off the body, doubt that reaches the body: it may carry weight on it.
    far = np.array([40.0, 20.0])
    assert A.foot_zone(far, far + [0, 25]) == "off_body"
    assert A.foot_zone(far, far + [0, 25], uncertainty_cm=25.0) == "unknown"


def test_a_foot_unsure_by_more_than_the_back_is_wide_is_unknown_at_once():
    atlas = default_atlas()
    heel, toe = np.array([14.0, 60.0]), np.array([14.0, 35.0])   # on the gluteals
    assert atlas.foot_zone(heel, toe) == "safe"
    # a foot seen along a steep view can be uncertain by metres: no zone can be said (and
    # saying so does not sample a disc of that size: that once took minutes per session)
    assert atlas.foot_zone(heel, toe, uncertainty_cm=np.array([1300.0, 40.0])) == "unknown"
    assert atlas.foot_zone(heel, toe, uncertainty_cm=np.array([0.0, 31.0])) == "unknown"


def _p(**zones):
    from vision.vocab import Zone
    return np.array([zones.get(z.value, 0.0) for z in WORST_FIRST])


def test_a_step_is_its_likeliest_danger_zone_but_a_glide_the_worst_it_surely_crossed():
    from vision.safety.zones import decide
    from vision.vocab import Zone
    # a still foot: the zone under it is one of them, the likeliest is named, "possible" below
    # P_SURE
    assert decide(_p(spine=0.3, kidney=0.6, safe=0.1)) == (Zone.KIDNEY, True)
    assert decide(_p(kidney=0.05, ribs=0.85, safe=0.1)) == (Zone.RIBS, False)
    # a glide from the spine onto the ribs: each zone's peak comes from another part of its
    # path; both are sure, and the worse one is its zone
    assert decide(_p(spine=0.75, ribs=0.94, safe=0.6)) == (Zone.SPINE, False)
    # a danger zone within the uncertainty is never read safe
    assert decide(_p(spine=0.12, safe=0.88)) == (Zone.SPINE, True)
    assert decide(_p(spine=0.05, safe=0.95)) == (Zone.SAFE, False)
