"""Hand-made keypoint sets for the safety-core tests (not a test module)."""

import numpy as np

from vision.io.posetrack import KP


def client_kp(scale=4.0, offset=(300.0, 100.0), angle=0.0, vis=0.95):
    """A prone client in the image: body cm of the atlas frame x scale, rotated, shifted."""
    b = np.zeros((33, 2))
    b[KP["left_shoulder"]] = [22.7, 0]
    b[KP["right_shoulder"]] = [-22.7, 0]
    b[KP["left_hip"]] = [16.7, 50.4]
    b[KP["right_hip"]] = [-16.7, 50.4]
    b[KP["left_knee"]] = [19.0, 93.0]
    b[KP["right_knee"]] = [-19.0, 93.0]
    b[KP["left_ankle"]] = [21.0, 136.0]
    b[KP["right_ankle"]] = [-21.0, 136.0]
    b[KP["left_heel"]] = [21.0, 133.0]
    b[KP["right_heel"]] = [-21.0, 133.0]
    b[KP["left_foot_index"]] = [22.0, 150.0]
    b[KP["right_foot_index"]] = [-22.0, 150.0]
    b[KP["nose"]] = [0, -22.0]
    for i in range(1, 11):
        b[i] = [(-1) ** i * 3.0, -20.0]
    for s, sg in (("left", 1), ("right", -1)):
        b[KP[f"{s}_elbow"]] = [sg * 27.0, 30.0]
        for k in ("wrist", "pinky", "index", "thumb"):
            b[KP[f"{s}_{k}"]] = [sg * 26.0, 58.0]
    c, s = np.cos(angle), np.sin(angle)
    px = b @ np.array([[c, s], [-s, c]]) * scale + offset
    return np.c_[px, np.full(33, vis)]


def therapist_kp(left_heel, left_toe, right_heel, right_toe, vis=0.95, centre=None,
                 hands="on", bars=None):
    """A standing therapist seen from above: feet where given, body over the feet."""
    kp = np.zeros((33, 3))
    kp[:, 2] = vis
    lh, lt, rh, rt = (np.asarray(v, float) for v in (left_heel, left_toe, right_heel, right_toe))
    c = (lh + lt + rh + rt) / 4 if centre is None else np.asarray(centre, float)
    kp[KP["left_heel"], :2], kp[KP["left_foot_index"], :2] = lh, lt
    kp[KP["right_heel"], :2], kp[KP["right_foot_index"], :2] = rh, rt
    kp[KP["left_ankle"], :2] = lh + 0.2 * (lt - lh)
    kp[KP["right_ankle"], :2] = rh + 0.2 * (rt - rh)
    kp[KP["left_knee"], :2] = 0.5 * (kp[KP["left_ankle"], :2] + c + [40, 0])
    kp[KP["right_knee"], :2] = 0.5 * (kp[KP["right_ankle"], :2] + c - [40, 0])
    kp[KP["left_hip"], :2] = c + [40, 0]
    kp[KP["right_hip"], :2] = c - [40, 0]
    kp[KP["left_shoulder"], :2] = c + [90, 10]
    kp[KP["right_shoulder"], :2] = c - [90, -10]
    for i in range(11):
        kp[i, :2] = c + [0, 30]
    for s, sg in (("left", 1), ("right", -1)):
        kp[KP[f"{s}_elbow"], :2] = c + [sg * 150, 20]
        if bars is not None and (hands == "on" or hands == s):
            g = np.asarray(bars[0 if s == "left" else 1], float).mean(0)
            pts = {"wrist": g + [0, 6], "index": g + [8, 0], "pinky": g - [8, 0],
                   "thumb": g + [0, 3]}
        else:
            w = c + [sg * 60, -20]
            pts = {"wrist": w, "index": w + [0, -15], "pinky": w + [5, -12], "thumb": w}
        for k, v in pts.items():
            kp[KP[f"{s}_{k}"], :2] = v
    return kp
